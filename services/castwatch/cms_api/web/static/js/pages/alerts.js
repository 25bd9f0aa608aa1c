// Alerts: filters, a 24 h timeline, the table with acknowledge / resolve (with a note), and the
// selected alert's event history.

import { api, rows } from "../api.js";
import { COLORS, makeChart } from "../charts.js";
import { isDelete, loadChannels, OPEN_STATES, PATHS, rowOf, SEVERITIES } from "../data.js";
import {
  clear, throttle, fmtTime, formDialog, h, relTime, sevBadge, stateBadge, toast,
} from "../ui.js";

const STATE_FILTERS = [["open", "Open (firing + acknowledged)"], ["firing", "Firing"], ["acknowledged", "Acknowledged"],
  ["resolved", "Resolved"], ["", "Any state"]];

/** The API query for filter values `f`. */
export function toQuery(f) {
  return {
    state: f.state === "open" ? OPEN_STATES : f.state || undefined,
    severity: f.severity || undefined,
    type: f.type || undefined,
    channel: f.channel || undefined,
    limit: 200,
  };
}

/** Whether alert `a` passes the filters (for rows arriving live). */
export function alertMatches(a, f) {
  if (f.state === "open" && !OPEN_STATES.includes(a.state)) return false;
  if (f.state && f.state !== "open" && a.state !== f.state) return false;
  if (f.severity && a.severity !== f.severity) return false;
  if (f.type && a.alert_type !== f.type) return false;
  if (f.channel && String(a.channel_id) !== String(f.channel)) return false;
  return true;
}

/** Alerts opened per hour over the last `hours`, stacked by severity (Chart.js data). */
export function hourlyBuckets(alerts, now = Date.now(), hours = 24) {
  const start = now - hours * 3600e3;
  const labels = [];
  for (let i = 0; i < hours; i++) {
    labels.push(new Date(start + (i + 1) * 3600e3).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }));
  }
  const datasets = SEVERITIES.map((s) => ({ label: s, data: new Array(hours).fill(0), backgroundColor: COLORS[s] }));
  for (const a of alerts) {
    const t = new Date(a.opened_at).getTime();
    const i = Math.floor((t - start) / 3600e3);
    const ds = datasets[SEVERITIES.indexOf(a.severity)];
    if (ds && i >= 0 && i < hours) ds.data[i] += 1;
  }
  return { labels, datasets };
}

/** The remediation hint the incident correlator put into an alert's details (known-issue library). */
export function remediationOf(a) {
  const r = a && a.details && a.details.remediation;
  return typeof r === "string" && r.trim() ? r.trim() : null;
}

export async function mount(view, ctx) {
  const canWrite = ctx.session.scope !== "read";
  const f = { state: ctx.query.get("state") ?? "open", severity: ctx.query.get("severity") || "",
    type: ctx.query.get("type") || "", channel: ctx.query.get("channel") || "" };
  let selected = Number(ctx.query.get("focus")) || null;
  const state = { alerts: [], channels: new Map(), recent: [], total: 0 };

  const channels = await loadChannels().catch(() => []);
  state.channels = new Map(channels.map((c) => [c.id, c]));

  const sel = (name, opts) => h("select", { name, on: { change: (e) => { f[name] = e.target.value; load(); } } },
    opts.map(([v, l]) => h("option", { value: v, text: l, selected: String(f[name]) === String(v) })));
  const typeList = h("datalist#alert-types");
  const filterBar = h("form.filters.card", { on: { submit: (e) => e.preventDefault() } },
    h("label.field", h("span", { text: "State" }), sel("state", STATE_FILTERS)),
    h("label.field", h("span", { text: "Severity" }), sel("severity", [["", "Any severity"], ...SEVERITIES.map((s) => [s, s])])),
    h("label.field.grow", h("span", { text: "Type" }), h("input", { name: "type", list: "alert-types", value: f.type, placeholder: "e.g. PLAYLIST_STALE",
      on: { change: (e) => { f.type = e.target.value.trim().toUpperCase(); load(); } } }), typeList),
    h("label.field", h("span", { text: "Channel" }), sel("channel", [["", "Any channel"],
      ...channels.map((c) => [String(c.id), c.channel_name])])));

  const timeline = makeChart({ type: "bar", data: { labels: [], datasets: [] }, options: {
    scales: { x: { stacked: true, grid: { display: false }, ticks: { maxTicksLimit: 12, maxRotation: 0, autoSkipPadding: 16 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
  } }, { small: true, label: "alerts opened per hour" });
  const tableBox = h("div.table-wrap");
  const countEl = h("span.muted#alert-count");
  const detailBox = h("section.card.sticky#alert-detail", h("p.empty", { text: "Select an alert to see its history." }));

  clear(view, h("div.page-head", h("h1", { text: "Alerts" }), countEl), filterBar,
    h("section.card", h("h2", { text: "Timeline — alerts opened per hour, last 24 h" }), timeline.box),
    h("div.grid.split", h("section.card", h("h2", { text: "Alerts" }), tableBox), detailBox));

  function channelName(a) { return (state.channels.get(a.channel_id) || {}).channel_name || a.subject; }

  async function act(a, action) {
    const verb = action === "acknowledge" ? "Acknowledge" : "Resolve";
    await formDialog({
      title: `${verb} alert`, body: `${a.alert_type} — ${a.summary}`, confirm: verb, danger: false,
      fields: [{ name: "note", label: "Note (optional)", type: "textarea", placeholder: action === "resolve" ? "what fixed it" : "who is looking at it" }],
      onSubmit: async ({ note }) => {
        const updated = await api.post(`${PATHS.alerts}/${a.id}/${action}`, note ? { note } : {});
        mergeAlert(updated && updated.id ? updated : { ...a, state: action === "acknowledge" ? "acknowledged" : "resolved" });
        toast(`Alert ${action === "acknowledge" ? "acknowledged" : "resolved"}.`, "ok");
        if (selected === a.id) loadDetail();
      },
    });
  }

  function renderTable() {
    countEl.textContent = `${state.alerts.length} shown${state.total > state.alerts.length ? ` of ${state.total}` : ""}`;
    const types = new Set([...state.alerts, ...state.recent].map((a) => a.alert_type));
    clear(typeList, [...types].sort().map((t) => h("option", { value: t })));
    clear(tableBox, state.alerts.length === 0 ? h("p.empty", { text: "No alerts match." }) :
      h("table.responsive#alerts-table",
        h("thead", h("tr", ["Severity", "State", "Type", "Channel / subject", "Summary", "Opened", ""].map((t) => h("th", { text: t })))),
        h("tbody", state.alerts.map((a) => h("tr.clickable", {
          class: a.id === selected ? "clickable selected" : "clickable", dataset: { alertId: a.id, state: a.state },
          tabindex: "0", on: { click: (e) => { if (!e.target.closest("button")) select(a.id); },
            keydown: (e) => { if (e.key === "Enter" && !e.target.closest("button")) select(a.id); } } },
        h("td", { dataset: { label: "Severity" } }, sevBadge(a.severity)),
        h("td", { dataset: { label: "State" } }, stateBadge(a.state)),
        h("td.mono", { dataset: { label: "Type" }, text: a.alert_type }),
        h("td", { dataset: { label: "Subject" }, text: channelName(a) }),
        h("td", { dataset: { label: "Summary" }, text: a.summary }),
        h("td", { dataset: { label: "Opened" }, title: fmtTime(a.opened_at), text: relTime(a.opened_at) }),
        h("td.actions", { dataset: { label: "" } }, canWrite && a.state !== "resolved" ? h("div.btn-row",
          a.state === "firing" ? h("button.btn.small", { type: "button", dataset: { action: "acknowledge" }, text: "Ack", on: { click: () => act(a, "acknowledge") } }) : null,
          h("button.btn.small", { type: "button", dataset: { action: "resolve" }, text: "Resolve", on: { click: () => act(a, "resolve") } })) : null))))));
  }

  /** Shows one alert's detail (scrolled into view when it sits below the table, on narrow screens). */
  async function select(id) {
    selected = id;
    renderTable();
    await loadDetail();
    if (window.innerWidth < 1200) detailBox.scrollIntoView({ block: "start" });
  }

  async function loadDetail() {
    if (!selected) return;
    let a;
    try { a = await api.get(`${PATHS.alerts}/${selected}`); } catch (err) {
      clear(detailBox, h("p.form-error", { text: err.message }));
      return;
    }
    const events = (a.events || []).slice().reverse();
    clear(detailBox, h("h2", { text: `Alert #${a.id}` }),
      h("div.btn-row", sevBadge(a.severity), stateBadge(a.state), h("span.mono", { text: a.alert_type })),
      h("p", { text: a.summary }),
      remediationOf(a) ? h("div.remediation#alert-remediation", h("strong", { text: "What to do: " }), h("span", { text: remediationOf(a) }),
        a.details.known_issue ? h("div.muted", { text: `known issue: ${a.details.known_issue}` }) : null) : null,
      h("dl.kv", ...[["Source", a.source], ["Subject", a.subject], ["Channel", a.channel_id ? channelName(a) : null],
        ["Opened", fmtTime(a.opened_at)], ["Last seen", fmtTime(a.last_seen_at)],
        ["Acknowledged", a.acknowledged_at ? `${fmtTime(a.acknowledged_at)} by ${a.acknowledged_by}` : null],
        ["Resolved", a.resolved_at ? `${fmtTime(a.resolved_at)} by ${a.resolved_by}` : null],
        ["Root cause", a.root_cause_alert_id ? `alert #${a.root_cause_alert_id}` : null]]
        .filter(([, v]) => v).flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
      Object.keys(a.details || {}).length ? h("details", h("summary", { text: "Details" }), h("pre.mono", { text: JSON.stringify(a.details, null, 2) })) : null,
      h("h3", { text: "History" }),
      h("ol.timeline#alert-events", events.map((e) => h("li", { dataset: { kind: e.kind } },
        h("div", h("strong", { text: e.kind }), ` ${e.from_state ? `${e.from_state} → ` : ""}${e.to_state} · ${e.actor}`),
        e.note ? h("div", { text: `“${e.note}”` }) : null,
        h("div.when", { text: `${fmtTime(e.created_at)} (${relTime(e.created_at)})` })))));
  }

  function mergeAlert(row) {
    const i = state.alerts.findIndex((x) => x.id === row.id);
    const merged = i >= 0 ? { ...state.alerts[i], ...row } : row;
    if (alertMatches(merged, f)) {
      if (i >= 0) state.alerts[i] = merged;
      else { state.alerts.unshift(merged); state.total += 1; }
    } else if (i >= 0) {
      // Keep a row the operator just acted on visible until the next load, showing its new state.
      if (merged.id === selected) state.alerts[i] = merged;
      else { state.alerts.splice(i, 1); state.total = Math.max(0, state.total - 1); }
    }
    const j = state.recent.findIndex((x) => x.id === row.id);
    if (j >= 0) state.recent[j] = merged; else if (row.opened_at) state.recent.push(merged);
    renderTable();
    timeline.update(hourlyBuckets(state.recent));
  }

  async function load() {
    const q = new URLSearchParams(Object.entries(f).filter(([, v]) => v));
    history.replaceState(null, "", `#/alerts${q.toString() ? `?${q}` : ""}${selected ? `${q.toString() ? "&" : "?"}focus=${selected}` : ""}`);
    const since = new Date(Date.now() - 24 * 3600e3).toISOString();
    const [page, recent] = await Promise.all([api.get(PATHS.alerts, toQuery(f)), api.get(PATHS.alerts, { since, limit: 1000 })]);
    state.alerts = rows(page);
    state.total = page.total ?? state.alerts.length;
    state.recent = rows(recent);
    renderTable();
    timeline.update(hourlyBuckets(state.recent));
    if (selected) loadDetail();
  }
  const reloadDetail = throttle(loadDetail, 200);

  await load();
  return {
    refresh: () => load().catch(() => {}),
    onLive(name, payload) {
      const row = rowOf(payload);
      if (!row) return;
      if (name === "alert") {
        if (isDelete(payload)) { state.alerts = state.alerts.filter((a) => a.id !== row.id); renderTable(); return; }
        mergeAlert(row);
        if (row.id === selected) reloadDetail();
      } else if (name === "alert_event" && row.alert_id === selected) reloadDetail();
    },
    unmount() { timeline.destroy(); },
  };
}
