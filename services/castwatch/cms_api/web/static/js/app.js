// Console boot: sign-in, the hash router over the pages, and live-event fan-out to the page on screen.

import { api, ApiError, forgetKey, getKey, onUnauthorized, request, setKey } from "./api.js";
import { loadMeta } from "./data.js";
import { connect, disconnect, onLive, onReconnect } from "./live.js";
import { startRecording } from "./samples.js";
import { $, clear, clearFieldErrors, h, showFieldError, throttle } from "./ui.js";
import * as overview from "./pages/overview.js";
import * as channels from "./pages/channels.js";
import * as alerts from "./pages/alerts.js";
import * as incidents from "./pages/incidents.js";
import * as encoders from "./pages/encoders.js";
import * as metrics from "./pages/metrics.js";
import * as settings from "./pages/settings.js";
import * as schedules from "./pages/schedules.js";
import * as inbox from "./pages/inbox.js";

const PAGES = { overview, channels, alerts, incidents, encoders, metrics, settings, schedules, inbox };
const TITLES = { overview: "Overview", channels: "Channels", alerts: "Alerts", incidents: "Incidents", encoders: "Encoders", metrics: "Metrics", settings: "Settings", schedules: "Schedules", inbox: "Demo inbox" };

/** Shared by every page: who is signed in and what they may do. */
export const session = { name: null, scope: null, keyId: null, anonymous: false };

let current = null; // {name, handle, failed}: the page on screen
let mountSeq = 0;

function parseHash() {
  const raw = (location.hash || "#/overview").replace(/^#\/?/, "");
  const [pathPart, queryPart] = raw.split("?");
  const parts = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  const name = PAGES[parts[0]] ? parts[0] : "overview";
  return { name, args: parts.slice(1), query: new URLSearchParams(queryPart || "") };
}

async function route() {
  if (!session.scope) return;
  const { name, args, query } = parseHash();
  const seq = ++mountSeq;
  if (current && current.handle && current.handle.unmount) {
    try { current.handle.unmount(); } catch (err) { console.error(err); }
  }
  for (const a of document.querySelectorAll(".tabs a")) {
    if (a.dataset.tab === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${TITLES[name]} · castwatch`;
  const view = $("#view");
  delete document.body.dataset.ready; // set again once the page has loaded (tests and kiosks wait on it)
  clear(view, h("p.spinner", { text: "Loading…" }));
  current = { name, handle: null };
  try {
    await loadMeta(); // the vocabulary the pages read (cached after the first success)
    const handle = await PAGES[name].mount(view, { args, query, session });
    if (seq !== mountSeq) { handle && handle.unmount && handle.unmount(); return; }
    current.handle = handle || {};
    document.body.dataset.ready = name;
  } catch (err) {
    if (seq !== mountSeq) return;
    current.failed = true; // retried when the live connection comes back
    console.error(err);
    clear(view, h("div.card", h("h2", { text: `Could not load ${TITLES[name]}` }),
      h("p.form-error", { text: err.message || String(err) }),
      h("button.btn", { type: "button", text: "Retry", on: { click: route } })));
  }
}

function dispatchLive(eventName, payload) {
  updateAlertCount(eventName);
  const handle = current && current.handle;
  if (handle && handle.onLive) handle.onLive(eventName, payload);
}

// ---- the open-alert counter in the nav ----
async function fetchAlertCount() {
  if (!session.scope) return;
  try {
    const page = await api.get("/alerts", { state: ["firing"], limit: 1 });
    const el = $("#nav-alert-count");
    el.textContent = String(page.total);
    el.hidden = !page.total;
    el.title = `${page.total} firing alerts`;
  } catch { /* the page shows its own errors */ }
}
/** Open incidents in the nav (the correlator acts on alerts, so alert events refresh it). */
async function fetchIncidentCount() {
  if (!session.scope) return;
  try {
    const page = await api.get("/incidents", { state: "open", limit: 1 });
    const el = $("#nav-incident-count");
    el.textContent = String(page.total);
    el.hidden = !page.total;
    el.title = `${page.total} open incidents`;
  } catch { /* older API without incidents: no counter */ }
}
const alertCountSoon = throttle(fetchAlertCount, 1000);
const incidentCountSoon = throttle(fetchIncidentCount, 2000);
function updateAlertCount(eventName) {
  if (!eventName) { fetchAlertCount(); fetchIncidentCount(); }
  else if (eventName === "alert") { alertCountSoon(); incidentCountSoon(); }
}

// ---- sign-in / sign-out ----
/** Checks a key against the API (throws ApiError when it is refused): its name, scope and id. */
async function whoAmI(key) {
  const me = await request("GET", "/me", { key });
  return { name: me.name, scope: me.scope, keyId: me.key_id ?? null };
}

function showSignIn(message) {
  disconnect();
  $("#topbar").hidden = true;
  clear($("#view"));
  delete document.body.dataset.ready;
  $("#signin").hidden = false;
  const form = $("#signin-form");
  clearFieldErrors(form);
  if (message) showFieldError(form, "key", message);
  $("#signin-key").focus();
}

/**
 * Opens the console for `key` (an API key), or for the anonymous reader when `key` is null (the
 * API allows it with API_ANONYMOUS_READ — handy for a wall screen that has nobody to type a key).
 */
async function startSession(key) {
  const me = key ? await whoAmI(key) : { name: "anonymous", scope: "read" };
  if (key) setKey(key);
  connect(key, { onAuthFailed: () => signOut("The live connection refused this key; sign in again.") });
  session.name = me.name;
  session.scope = me.scope;
  session.keyId = me.keyId ?? null;
  session.anonymous = !key;
  $("#signin").hidden = true;
  $("#topbar").hidden = false;
  $("#who").textContent = `${me.name} · ${me.scope}`;
  $("#sign-out").textContent = key ? "Sign out" : "Sign in";
  updateAlertCount(null);
  $("#nav-inbox").hidden = !(await inbox.available()); // castwatch up --demo only
  await route();
}

/** Whether the API answers reads without a key (API_ANONYMOUS_READ). */
async function anonymousAllowed() {
  try {
    await request("GET", "/channels", { key: "", params: { limit: 1 } });
    return true;
  } catch (err) {
    if (err.status === 401 || err.status === 403) return false;
    throw err;
  }
}

function signOut(message) {
  forgetKey();
  session.name = session.scope = session.keyId = null;
  session.anonymous = false;
  if (current && current.handle && current.handle.unmount) current.handle.unmount();
  current = null;
  showSignIn(message);
}

let retryTimer = null;

/** Starts (or resumes after a reload) the session; while the API is unreachable, retries every 3 s. */
async function resume() {
  clearTimeout(retryTimer);
  const key = getKey();
  try {
    if (key) await startSession(key);
    else if (await anonymousAllowed()) await startSession(null);
    else showSignIn();
  } catch (err) {
    if (err.status === 401) signOut("Your key is no longer accepted; sign in again.");
    else if (err.status === 0 || err.status >= 500) {
      $("#signin").hidden = true;
      clear($("#view"), h("div.card.offline", h("h2", { text: "castwatch is not reachable" }),
        h("p", { text: `${err.message} Retrying every 3 seconds…` })));
      retryTimer = setTimeout(resume, 3000);
    } else showSignIn(err.message);
  }
}

function boot() {
  const form = $("#signin-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const key = $("#signin-key").value.trim();
    if (!key) { showFieldError(form, "key", "Enter an API key."); return; }
    const btn = form.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      await startSession(key);
      $("#signin-key").value = "";
    } catch (err) {
      const msg = err instanceof ApiError && err.status === 401 ? "This key is not valid (unknown, revoked or expired)."
        : err.message || String(err);
      showSignIn(msg);
    } finally {
      btn.disabled = false;
    }
  });
  $("#sign-out").addEventListener("click", () => signOut());
  onUnauthorized(() => signOut(session.anonymous ? "This needs an API key; sign in."
    : "Your key is no longer accepted; sign in again."));
  onLive(dispatchLive);
  startRecording();
  onReconnect(() => {
    updateAlertCount(null);
    if (current && current.failed) { route(); return; }
    const handle = current && current.handle;
    if (handle && handle.refresh) handle.refresh();
  });
  window.addEventListener("hashchange", route);
  resume();
}

boot();
