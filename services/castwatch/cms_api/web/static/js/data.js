// The API's resources as the pages need them: one place for paths and small derived facts.

import { api, listAll, rows } from "./api.js";

export const PATHS = {
  channels: "/channels",
  templates: "/templates",
  probes: "/probes",
  alerts: "/alerts",
  encoders: "/encoders",
  groups: "/encoder-groups",
  failovers: "/failover-events",
  recipients: "/recipients",
  rules: "/notification-rules",
  windows: "/maintenance-windows",
  keys: "/keys",
  deliveries: "/deliveries",
  incidents: "/incidents",
  offAir: "/schedules/off-air",
  series: "/series",
};

/**
 * The vocabulary from GET /api/v1/meta (castwatch.common.vocab), never copied here: severity
 * names worst first, recipient roles, and the whole answer in META. Filled in place by
 * loadMeta() when this module loads and before any page mounts, so pages read them synchronously.
 */
export const SEVERITIES = [];
export const ROLES = [];
export const META = {};
let metaLoaded = null;

export function loadMeta() {
  if (!metaLoaded) {
    metaLoaded = api.get("/meta").then((meta) => {
      Object.assign(META, meta);
      SEVERITIES.splice(0, SEVERITIES.length, ...meta.severities.map((s) => s.name));
      ROLES.splice(0, ROLES.length, ...meta.recipient_roles);
      return META;
    }, (err) => { metaLoaded = null; throw err; });
  }
  return metaLoaded;
}
// Loaded with the module (public endpoint), so pure functions work before sign-in; a failure
// here leaves the lists empty and the router loads it again before mounting a page.
await loadMeta().catch(() => null);
export const OPEN_STATES = ["firing", "acknowledged"];
export const CHANNEL_STATES = ["ok", "warning", "critical", "unknown", "disabled"];

/** The row carried by a live event (the serialized row itself, or wrapped as {row}/{data}). */
export function rowOf(payload) {
  if (!payload || typeof payload !== "object") return null;
  if (payload.row && typeof payload.row === "object") return payload.row;
  if (payload.data && typeof payload.data === "object" && !Array.isArray(payload.data)) return payload.data;
  return payload;
}

/** Whether a live payload says its row was deleted. */
export function isDelete(payload) {
  return Boolean(payload && (payload.op === "DELETE" || payload.op === "delete" || payload.deleted));
}

export const loadChannels = () => listAll(PATHS.channels, {}, 5000);
export const loadTemplates = () => listAll(PATHS.templates, {}, 1000).catch(() => []);
export const loadProbes = () => listAll(PATHS.probes, {}, 1000).catch(() => []);
export const loadOpenAlerts = () => listAll(PATHS.alerts, { state: OPEN_STATES }, 2000);
export const loadEncoders = () => listAll(PATHS.encoders, {}, 2000);
export const loadGroups = () => listAll(PATHS.groups, {}, 1000);

/**
 * Channels in a planned off-air time now (from their imported schedules): Map channel id →
 * {title, starts_at, ends_at}. Empty when the API has no schedules.
 */
export async function loadOffAir() {
  try {
    return new Map(rows(await api.get(PATHS.offAir)).map((o) => [o.channel_id, o]));
  } catch {
    return new Map();
  }
}

/** "Planned off-air until 18:00 — Nightly maintenance". */
export function offAirText(o) {
  const until = new Date(o.ends_at);
  const t = Number.isNaN(until.getTime()) ? o.ends_at : until.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: false });
  return `Planned off-air until ${t}${o.title ? ` — ${o.title}` : ""}. Its alerts are not sent.`;
}

/** Recent alerts, newest first, any state. */
export async function recentAlerts(limit = 10) {
  return rows(await api.get(PATHS.alerts, { limit }));
}

/** The top rung (highest bandwidth) of a template's ladder, or null. */
export function topRung(template) {
  const ladder = (template && template.renditions) || [];
  return ladder.reduce((best, r) => (!best || Number(r.bandwidth) > Number(best.bandwidth) ? r : best), null);
}

/** "avc1 1920x1080" style summary of a rung. */
export function rungSummary(rung) {
  if (!rung) return "no ladder";
  const codec = (rung.codecs || "").split(",")[0].split(".")[0] || "?";
  return [codec, rung.resolution, rung.frame_rate ? `${rung.frame_rate}fps` : null].filter(Boolean).join(" · ");
}

/** Count of items per key. */
export function countBy(items, keyFn) {
  const out = new Map();
  for (const item of items) {
    const k = keyFn(item);
    out.set(k, (out.get(k) || 0) + 1);
  }
  return out;
}

/** Upserts `row` into an array of rows by id (returns a new array; removes it when `remove`). */
export function upsert(list, row, remove = false) {
  if (!row || row.id === undefined) return list;
  const i = list.findIndex((r) => r.id === row.id);
  if (remove) return i < 0 ? list : list.filter((r) => r.id !== row.id);
  if (i < 0) return [...list, row];
  const copy = list.slice();
  copy[i] = { ...list[i], ...row };
  return copy;
}

/** The encoder a group has on air, and whether that is a backup. */
export function onAir(group, encoders) {
  const active = encoders.find((e) => e.id === group.active_encoder_id) || null;
  return { active, onBackup: Boolean(active && active.role === "backup") };
}
