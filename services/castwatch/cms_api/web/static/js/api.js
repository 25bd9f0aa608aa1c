// The REST client: one place that knows the base URL, the API key and the error shape.

const KEY_STORAGE = "castwatch.apiKey";
const base = document.body.dataset.apiBase || "/api/v1";

/** An API failure: `status` (0 when the server could not be reached), `code`, `message`, `field`. */
export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

const unauthorizedHandlers = [];
export function onUnauthorized(fn) { unauthorizedHandlers.push(fn); }

export function getKey() { return sessionStorage.getItem(KEY_STORAGE); }
export function setKey(key) { sessionStorage.setItem(KEY_STORAGE, key); }
export function forgetKey() { sessionStorage.removeItem(KEY_STORAGE); }

function query(params) {
  if (!params) return "";
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/**
 * request("GET", "/channels", {params, body, key, absolute}) -> parsed JSON (or null for 204).
 * Paths are under the API base (/api/v1) unless `absolute` (the encoder seed's /encoders/... paths).
 * Throws ApiError; a 401 also tells the onUnauthorized handlers (unless `key` was given explicitly,
 * as the sign-in form does).
 */
export async function request(method, path, { params, body, key, absolute = false } = {}) {
  const headers = { Accept: "application/json" };
  const useKey = key ?? getKey();
  if (useKey) headers.Authorization = `Bearer ${useKey}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch((absolute ? "" : base) + path + query(params), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, "unreachable", "The API cannot be reached.");
  }
  if (resp.status === 204) return null;
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) {
    const e = (data && data.error) || {};
    const err = new ApiError(resp.status, e.code || `http_${resp.status}`, e.message || resp.statusText || "request failed", e.field || null);
    if (resp.status === 401 && key === undefined) unauthorizedHandlers.forEach((fn) => fn(err));
    throw err;
  }
  return data;
}

/** GET a binary resource under the API base with the key; revalidates with the browser cache. */
export async function fetchBlob(path) {
  const headers = {};
  const useKey = getKey();
  if (useKey) headers.Authorization = `Bearer ${useKey}`;
  const resp = await fetch(base + path, { headers, cache: "no-cache" });
  if (!resp.ok) throw new ApiError(resp.status, `http_${resp.status}`, resp.statusText || "request failed");
  return resp.blob();
}

export const api = {
  get: (path, params) => request("GET", path, { params }),
  post: (path, body) => request("POST", path, { body: body ?? {} }),
  patch: (path, body) => request("PATCH", path, { body }),
  put: (path, body) => request("PUT", path, { body }),
  del: (path) => request("DELETE", path),
};

/** The rows of a list response, whatever its envelope ({items}, {data}, or a bare array). */
export function rows(data) {
  if (Array.isArray(data)) return data;
  if (!data || typeof data !== "object") return [];
  for (const k of ["items", "data", "results"]) if (Array.isArray(data[k])) return data[k];
  return [];
}

/** Fetches every page of a list endpoint ({items,total} pages, or a bare array), up to `max` rows. */
export async function listAll(path, params = {}, max = 2000, pageSize = 500) {
  const out = [];
  let offset = 0;
  for (let guard = 0; guard < 50 && out.length < max; guard++) {
    const limit = Math.min(pageSize, max - out.length);
    const data = await api.get(path, { ...params, limit, offset });
    if (Array.isArray(data)) return data.slice(0, max); // not paginated: the whole list at once
    const page = rows(data);
    out.push(...page);
    const total = data && typeof data === "object" ? data.total : undefined;
    if (page.length < limit || (total !== undefined && offset + page.length >= total)) break;
    offset += page.length;
  }
  return out.slice(0, max);
}
