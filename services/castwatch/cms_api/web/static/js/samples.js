// A bounded in-browser history of the numbers that arrive live (encoder samples, channel checks),
// so the Metrics page can draw time series while the API has no time-series endpoint.

import { onLive } from "./live.js";
import { rowOf } from "./data.js";

const MAX_POINTS = 720;
const MAX_CHECKS = 20;
const series = new Map(); // "metric|name" -> [{x, y}]
const checks = new Map(); // channel code -> [{at, status, check}], newest last
const changeListeners = new Set();

function num(v) {
  if (v === null || v === undefined || v === "" || typeof v === "boolean") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** Mean segment download time (ms) of a channel's latest check, wherever the probe put it. */
export function downloadMs(check) {
  if (!check || typeof check !== "object") return null;
  for (const k of ["download_time_ms", "segment_download_ms", "download_ms"]) {
    const v = num(check[k]);
    if (v !== null) return v;
  }
  const r = check.renditions || check.variants;
  const list = Array.isArray(r) ? r : r && typeof r === "object" ? Object.values(r) : [];
  const vals = list.map((x) => x && num(x.download_time_ms ?? x.segment_download_ms ?? x.download_ms)).filter((v) => v !== null);
  return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
}

/** Adds one point (dropping the oldest past MAX_POINTS; ignoring repeats of the same time). */
export function record(metric, name, t, value) {
  const y = num(value);
  if (y === null || !name) return;
  const x = typeof t === "number" ? t : new Date(t || Date.now()).getTime();
  if (!Number.isFinite(x)) return;
  const key = `${metric}|${name}`;
  const pts = series.get(key) || [];
  if (pts.length && pts[pts.length - 1].x >= x) {
    if (pts[pts.length - 1].x === x) pts[pts.length - 1].y = y;
    else return;
  } else pts.push({ x, y });
  if (pts.length > MAX_POINTS) pts.splice(0, pts.length - MAX_POINTS);
  series.set(key, pts);
}

/** Records what an encoder row carries (its newest sample). */
export function recordEncoder(enc) {
  if (!enc || !enc.name) return;
  const s = enc.last_sample || {};
  const t = s.at || s.time || enc.last_seen_at || Date.now();
  record("temperature", enc.name, t, s.temperature_c);
  record("bitrate", enc.name, t, s.bitrate_kbps !== undefined && s.bitrate_kbps !== null ? Number(s.bitrate_kbps) / 1000 : null);
  record("cpu", enc.name, t, s.cpu_percent);
}

/** The oldest "seconds since the playlist last changed" over a check's renditions. */
export function playlistAge(check) {
  const r = check && check.renditions;
  const list = Array.isArray(r) ? r : r && typeof r === "object" ? Object.values(r) : [];
  const vals = list.map((x) => x && num(x.last_change_age_s)).filter((v) => v !== null);
  return vals.length ? Math.max(...vals) : null;
}

/**
 * The content figures of a check (probe content layer): {mos: {rendition: value},
 * measured/advertised: {rendition: Mb/s}, loudness: short-term LUFS of the channel's sound}.
 */
export function contentFigures(check) {
  const c = (check && check.content) || {};
  const out = { mos: {}, measured: {}, advertised: {}, loudness: null };
  for (const [name, r] of Object.entries(c.renditions || {})) {
    if (num(r.mos) !== null) out.mos[name] = num(r.mos);
    if (num(r.measured_bps) !== null) out.measured[name] = num(r.measured_bps) / 1e6;
    if (num(r.advertised_bps) !== null) out.advertised[name] = num(r.advertised_bps) / 1e6;
  }
  // the channel's sound as the probe names it (the chosen rendition's muxed audio, else a separate
  // audio rendition: HLS EXT-X-MEDIA, DASH audio representation), else any decoded sound
  const withAudio = [(c.decoded || {})[c.sound], (c.decoded || {})[c.chosen], ...Object.values(c.decoded || {})]
    .find((d) => d && Array.isArray(d.audio) && d.audio.length);
  const audio = withAudio ? withAudio.audio[0] : null;
  out.loudness = audio ? num(audio.short_term_lufs) : null;
  return out;
}

/** Records what a channel row carries (its latest check). */
export function recordChannel(ch) {
  if (!ch || !ch.channel_code) return;
  const t = ch.last_checked_at || Date.now();
  record("download", ch.channel_code, t, downloadMs(ch.last_check));
  record("age", ch.channel_code, t, playlistAge(ch.last_check));
  const content = contentFigures(ch.last_check);
  for (const [r, v] of Object.entries(content.mos)) record("mos", `${ch.channel_code} ${r}`, t, v);
  for (const [r, v] of Object.entries(content.measured)) record("measured", `${ch.channel_code} ${r}`, t, v);
  for (const [r, v] of Object.entries(content.advertised)) record("advertised", `${ch.channel_code} ${r}`, t, v);
  record("loudness", ch.channel_code, t, content.loudness);
  if (ch.last_checked_at && ch.last_check && Object.keys(ch.last_check).length) {
    const list = checks.get(ch.channel_code) || [];
    const last = list[list.length - 1];
    if (!last || last.at !== ch.last_checked_at) {
      list.push({ at: ch.last_checked_at, status: ch.enabled === false ? "disabled" : ch.status, check: ch.last_check });
      if (list.length > MAX_CHECKS) list.splice(0, list.length - MAX_CHECKS);
      checks.set(ch.channel_code, list);
    }
  }
}

/** The checks of a channel seen since the console opened, newest first. */
export function recentChecks(code) {
  return (checks.get(code) || []).slice().reverse();
}

/** One series ({label, points}) or null. */
export function seriesFor(metric, name) {
  const pts = series.get(`${metric}|${name}`);
  return pts && pts.length ? { label: name, points: pts.slice() } : null;
}

/** [{label, points}] of one metric, busiest series first (at most `limit`). */
export function seriesOf(metric, limit = 8) {
  const out = [];
  for (const [key, points] of series) {
    const [m, name] = key.split("|");
    if (m === metric && points.length) out.push({ label: name, points: points.slice() });
  }
  return out.sort((a, b) => b.points.length - a.points.length).slice(0, limit);
}

export function onSamples(fn) { changeListeners.add(fn); return () => changeListeners.delete(fn); }

/** Starts recording live events (once, at boot). */
export function startRecording() {
  onLive((name, payload) => {
    const row = rowOf(payload);
    if (!row || row.deleted) return;
    if (name === "encoder") recordEncoder(row);
    else if (name === "channel") recordChannel(row);
    else return;
    changeListeners.forEach((fn) => fn(name));
  });
}
