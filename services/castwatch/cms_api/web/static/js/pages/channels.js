// Channels: filters, a responsive grid of cards; #/channels/<id> detail, #/channels/new and
// #/channels/<id>/edit forms (in their own modules).

import {
  CHANNEL_STATES, isDelete, loadChannels, loadOffAir, loadOpenAlerts, loadTemplates, offAirText, rowOf,
  rungSummary, topRung, upsert,
} from "../data.js";
import { thumbImg } from "../thumbs.js";
import { clear, debounce, h, light, relTime, throttle } from "../ui.js";
import * as detail from "./channel_detail.js";
import * as form from "./channel_form.js";

export async function mount(view, ctx) {
  const [first, second] = ctx.args;
  if (first === "new") return form.mount(view, { ...ctx, channelId: null });
  if (first && second === "edit") return form.mount(view, { ...ctx, channelId: Number(first) });
  if (first) return detail.mount(view, { ...ctx, channelId: Number(first) });
  return mountList(view, ctx);
}

const FILTERS = [
  { name: "tier", label: "Tier", options: [["", "All tiers"], ["1", "Tier 1"], ["2", "Tier 2"], ["3", "Tier 3"]] },
  { name: "format", label: "Format", options: [["", "4K and HD"], ["4k", "4K"], ["hd", "HD"]] },
  { name: "protocol", label: "Protocol", options: [["", "HLS and DASH"], ["HLS", "HLS"], ["DASH", "DASH"]] },
  { name: "status", label: "State", options: [["", "Any state"], ...CHANNEL_STATES.map((s) => [s, s])] },
];

const STATUS_RANK = { critical: 0, warning: 1, unknown: 2, ok: 3, disabled: 4 };
const SEV_RANK = { critical: 0, major: 1, minor: 2, info: 3 };

/** Problems first (status), then tier, then name: what needs eyes is at the top of the wall. */
export function byUrgency(a, b) {
  const sa = STATUS_RANK[a.enabled ? a.status : "disabled"] ?? 2;
  const sb = STATUS_RANK[b.enabled ? b.status : "disabled"] ?? 2;
  return sa - sb || a.tier - b.tier || String(a.channel_name).localeCompare(b.channel_name);
}

/** Per channel id: {n, worst} of its open alerts. */
export function openAlertsByChannel(alerts) {
  const out = new Map();
  for (const a of alerts) {
    if (!a.channel_id) continue;
    const cur = out.get(a.channel_id) || { n: 0, worst: null };
    cur.n += 1;
    if (cur.worst === null || SEV_RANK[a.severity] < SEV_RANK[cur.worst]) cur.worst = a.severity;
    out.set(a.channel_id, cur);
  }
  return out;
}

/** Whether channel `c` passes the filter values `f` (pure; used for the grid and for live rows). */
export function matches(c, f) {
  if (f.tier && String(c.tier) !== f.tier) return false;
  if (f.format === "4k" && !c.is_4k) return false;
  if (f.format === "hd" && c.is_4k) return false;
  if (f.protocol && c.protocol !== f.protocol) return false;
  const status = c.enabled ? c.status : "disabled";
  if (f.status && status !== f.status) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (!`${c.channel_code} ${c.channel_name}`.toLowerCase().includes(q)) return false;
  }
  return true;
}

async function mountList(view, ctx) {
  const state = { channels: [], templates: new Map(), alerts: [], offAir: new Map() };
  const filters = Object.fromEntries(FILTERS.map((f) => [f.name, ctx.query.get(f.name) || ""]));
  filters.q = ctx.query.get("q") || "";

  const grid = h("div.grid.channel-grid", { id: "channel-grid" });
  const countEl = h("span.muted#channel-count");
  const canWrite = ctx.session.scope !== "read";
  const filterBar = h("form.filters.card", { role: "search", on: { submit: (e) => e.preventDefault() } },
    FILTERS.map((f) => h("label.field", h("span", { text: f.label }),
      h("select", { name: f.name, on: { change: (e) => { filters[f.name] = e.target.value; syncUrl(); render(); } } },
        f.options.map(([v, l]) => h("option", { value: v, text: l, selected: filters[f.name] === v }))))),
    h("label.field.grow", h("span", { text: "Search" }),
      h("input", { type: "search", name: "q", value: filters.q, placeholder: "code or name",
        on: { input: debounce((e) => { filters.q = e.target.value.trim(); syncUrl(); render(); }, 150) } })));

  clear(view,
    h("div.page-head", h("h1", { text: "Channels" }), countEl,
      canWrite ? h("a.btn.primary", { href: "#/channels/new", id: "add-channel", text: "Add channel" }) : null),
    filterBar, grid);

  function syncUrl() {
    const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    const next = `#/channels${q.toString() ? `?${q}` : ""}`;
    if (location.hash !== next) history.replaceState(null, "", next);
  }

  function card(c, openAlerts) {
    const rung = topRung(state.templates.get(c.template_id));
    const status = c.enabled ? c.status : "disabled";
    const { n, worst } = openAlerts.get(c.id) || { n: 0, worst: null };
    return h("a.card.ch-card", { href: `#/channels/${c.id}`, dataset: { channelId: c.id, channelCode: c.channel_code, status, enabled: c.enabled } },
      thumbImg(c),
      h("div.ch-head", light(status), h("span.ch-name", { text: c.channel_name, title: c.channel_name })),
      h("div.ch-code", { text: c.channel_code }),
      h("div.ch-meta",
        h("span", { text: `Tier ${c.tier}` }), h("span", { text: "·" }), h("span", { text: c.protocol }),
        h("span", { text: "·" }), h("span", { text: c.channel_type })),
      h("div.ch-meta.ch-rung", { title: rung ? `${rung.name}: ${rung.codecs || ""}` : "", text: rungSummary(rung) }),
      h("div.ch-meta",
        c.is_4k ? h("span.badge.k4", { text: "4K" }) : h("span.badge", { text: "HD" }),
        c.is_hdr ? h("span.badge.hdr", { text: "HDR" }) : null,
        c.is_atmos ? h("span.badge.atmos", { text: "ATMOS" }) : null,
        !c.enabled ? h("span.badge", { text: "DISABLED" }) : null),
      state.offAir.has(c.id) ? h("div.ch-meta.offair-note", { dataset: { offair: "true" } }, h("span.badge.offair", { text: "PLANNED OFF-AIR" }),
        h("span", { text: offAirText(state.offAir.get(c.id)) })) : null,
      h("div.ch-alerts", { dataset: { n, sev: worst }, text: n ? `${n} open alert${n > 1 ? "s" : ""}${worst ? ` · worst ${worst}` : ""}` : "no open alerts" }),
      h("div.ch-meta", { title: c.last_checked_at || "" , text: `checked ${relTime(c.last_checked_at)}` }));
  }

  let shown = []; // the channels on screen, in order

  function render() {
    const openAlerts = openAlertsByChannel(state.alerts);
    shown = state.channels.filter((c) => matches(c, filters)).sort(byUrgency);
    countEl.textContent = `${shown.length} of ${state.channels.length}`;
    clear(grid, shown.length ? shown.map((c) => card(c, openAlerts))
      : h("p.empty", { text: state.channels.length ? "No channel matches these filters." : "No channels yet." }));
  }

  /**
   * Redraws one changed channel's card in place when it keeps its place in the grid (the common
   * case: a new check, a rename within order); returns false when the grid must be re-rendered.
   */
  function patchCard(c) {
    const i = shown.findIndex((x) => x.id === c.id);
    if (i < 0 || !matches(c, filters)) return false;
    if ((i > 0 && byUrgency(shown[i - 1], c) > 0) || (i < shown.length - 1 && byUrgency(c, shown[i + 1]) > 0)) return false;
    const el = grid.querySelector(`[data-channel-id="${c.id}"]`);
    if (!el) return false;
    shown[i] = c;
    const counts = openAlertsByChannel(state.alerts.filter((a) => a.channel_id === c.id));
    el.replaceWith(card(c, counts));
    return true;
  }

  async function load() {
    const [channels, templates, alerts, offAir] = await Promise.all([loadChannels(), loadTemplates(), loadOpenAlerts(), loadOffAir()]);
    state.channels = channels;
    state.offAir = offAir;
    state.templates = new Map(templates.map((t) => [t.id, t]));
    state.alerts = alerts;
    render();
  }
  const renderSoon = throttle(render, 300);

  await load();
  // Off-air times start and end by the clock, not by an event: look again every minute.
  const offAirTimer = setInterval(async () => { state.offAir = await loadOffAir(); renderSoon(); }, 60_000);
  return {
    refresh: () => load().catch(() => {}),
    unmount() { clearInterval(offAirTimer); },
    onLive(name, payload) {
      const row = rowOf(payload);
      if (!row) return;
      if (name === "channel") {
        state.channels = upsert(state.channels, row, isDelete(payload));
        const merged = state.channels.find((c) => c.id === row.id);
        if (merged && !isDelete(payload) && patchCard(merged)) return;
      } else if (name === "alert") state.alerts = upsert(state.alerts, row, isDelete(payload) || row.state === "resolved");
      else if (name === "template") {
        if (isDelete(payload)) state.templates.delete(row.id);
        else if (row.renditions) state.templates.set(row.id, row);
      } else return;
      renderSoon();
    },
  };
}
