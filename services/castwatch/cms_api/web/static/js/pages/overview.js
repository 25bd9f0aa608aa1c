// Overview: KPI cards, channel distribution by tier, alert severity breakdown, recent alerts.

import { bars, COLORS, doughnut } from "../charts.js";
import {
  CHANNEL_STATES, countBy, isDelete, loadChannels, loadEncoders, loadGroups, loadOpenAlerts, loadProbes, onAir,
  recentAlerts, rowOf, SEVERITIES, upsert,
} from "../data.js";
import { clear, h, light, relTime, sevBadge, stateBadge, throttle } from "../ui.js";

function kpi(id, label, value, sub, tone) {
  return h("div.card.kpi", { dataset: { kpi: id, tone } },
    h("span.label", { text: label }), h("span.value", { text: String(value) }),
    sub ? h("span.sub", { text: sub }) : null);
}

export async function mount(view) {
  const state = { channels: [], alerts: [], encoders: [], groups: [], recent: [], probes: [], encodersError: null };
  const kpis = h("div.grid.kpis", { id: "kpis" });
  const tierBox = h("div");
  const sevBox = h("div");
  const recentBox = h("div.table-wrap");
  const probesBox = h("div#probes");
  clear(view,
    h("div.page-head", h("h1", { text: "Overview" }), h("span.muted#overview-updated")),
    kpis,
    h("div.grid.cols-2",
      h("section.card", h("h2", { text: "Channels by tier" }), tierBox),
      h("section.card", h("h2", { text: "Open alerts by severity" }), sevBox)),
    h("div.grid.split", h("section.card", h("h2", { text: "Recent alerts" }), recentBox),
      h("section.card", h("h2", { text: "Probes" }), probesBox)));

  const tierChart = bars(["Tier 1", "Tier 2", "Tier 3"],
    CHANNEL_STATES.map((s) => ({ label: s, data: [0, 0, 0], backgroundColor: COLORS[s] || COLORS.unknown })),
    { stacked: true, label: "channels by tier and status" });
  tierBox.append(tierChart.box);
  const sevChart = doughnut(SEVERITIES, SEVERITIES.map(() => 0), SEVERITIES.map((s) => COLORS[s]), "open alerts by severity");
  const noAlerts = h("p.empty", { text: "No open alerts. All quiet." });
  sevBox.append(sevChart.box, noAlerts);

  function render() {
    const active = state.channels.filter((c) => c.enabled);
    const open = state.alerts;
    const bySev = countBy(open, (a) => a.severity);
    const firing = open.filter((a) => a.state === "firing").length;
    const live = state.encoders.filter((e) => e.state === "live").length;
    const onBackup = state.groups.filter((g) => onAir(g, state.encoders).onBackup).length;
    const crit = bySev.get("critical") || 0;
    clear(kpis,
      kpi("active-channels", "Active channels", active.length, `${state.channels.length} configured`),
      kpi("channels-4k", "4K channels", active.filter((c) => c.is_4k).length,
        `${active.filter((c) => c.is_hdr).length} HDR · ${active.filter((c) => c.is_atmos).length} Atmos`),
      kpi("open-alerts", "Open alerts", open.length, `${firing} firing · ${open.length - firing} acknowledged`,
        crit ? "crit" : open.length ? "warn" : "ok"),
      kpi("alerts-by-severity", "Critical / major", `${crit} / ${bySev.get("major") || 0}`,
        `${bySev.get("minor") || 0} minor · ${bySev.get("info") || 0} info`, crit ? "crit" : undefined),
      kpi("encoders-live", "Encoders live", state.encodersError ? "—" : `${live} / ${state.encoders.length}`,
        state.encodersError || `${state.groups.length} groups`),
      kpi("groups-on-backup", "On backup", state.encodersError ? "—" : onBackup,
        state.encodersError ? "" : onBackup ? "groups running on their backup" : "every group on its primary",
        state.encodersError ? undefined : onBackup ? "warn" : "ok"));

    const statuses = CHANNEL_STATES;
    tierChart.update({
      labels: ["Tier 1", "Tier 2", "Tier 3"],
      datasets: statuses.map((s) => ({
        label: s,
        data: [1, 2, 3].map((t) => state.channels.filter((c) => c.tier === t && (c.enabled ? c.status : "disabled") === s).length),
        backgroundColor: COLORS[s] || COLORS.unknown,
      })),
    });
    sevChart.box.hidden = open.length === 0;
    noAlerts.hidden = open.length > 0;
    sevChart.update({ labels: SEVERITIES, datasets: [{ data: SEVERITIES.map((s) => bySev.get(s) || 0),
      backgroundColor: SEVERITIES.map((s) => COLORS[s]), borderWidth: 0 }] });

    const byId = new Map(state.channels.map((c) => [c.id, c]));
    clear(recentBox, state.recent.length === 0 ? h("p.empty", { text: "No alerts yet." }) :
      h("table.responsive", { id: "recent-alerts" },
        h("thead", h("tr", ["Severity", "State", "Type", "Subject", "Summary", "Opened"].map((t) => h("th", { text: t })))),
        h("tbody", state.recent.map((a) => h("tr.clickable", { dataset: { alertId: a.id }, on: { click: () => { location.hash = `#/alerts?focus=${a.id}`; } } },
          h("td", { dataset: { label: "Severity" } }, sevBadge(a.severity)),
          h("td", { dataset: { label: "State" } }, stateBadge(a.state)),
          h("td.mono", { dataset: { label: "Type" }, text: a.alert_type }),
          h("td", { dataset: { label: "Subject" }, text: (byId.get(a.channel_id) || {}).channel_name || a.subject }),
          h("td", { dataset: { label: "Summary" }, text: a.summary }),
          h("td", { dataset: { label: "Opened" }, title: a.opened_at, text: relTime(a.opened_at) }))))));
    renderProbes();
    const upd = document.getElementById("overview-updated");
    if (upd) upd.textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  function renderProbes() {
    const status = { online: "ok", offline: "critical", stopped: "disabled" };
    clear(probesBox, state.probes.length === 0 ? h("p.empty", { text: "No probe has registered yet." })
      : h("ul.probe-list", state.probes.map((p) => h("li", { dataset: { probe: p.name, status: p.status } },
        light(status[p.status] || "unknown", p.status),
        h("div", h("strong", { text: p.name }),
          h("div.muted", { text: [p.location, p.version ? `v${p.version}` : null].filter(Boolean).join(" · ") })),
        h("div.muted.right", { title: p.last_heartbeat_at || "" },
          h("div", { text: p.status }), h("div", { text: `heartbeat ${relTime(p.last_heartbeat_at)}` }))))));
  }

  async function load() {
    const [channels, alerts, recent, probes] = await Promise.all([loadChannels(), loadOpenAlerts(), recentAlerts(10), loadProbes()]);
    Object.assign(state, { channels, alerts, recent, probes });
    try {
      const [encoders, groups] = await Promise.all([loadEncoders(), loadGroups()]);
      Object.assign(state, { encoders, groups, encodersError: null });
    } catch (err) {
      state.encodersError = err.status === 404 ? "encoder API not available" : err.message;
    }
    render();
  }

  const reloadRecent = throttle(async () => {
    try { state.recent = await recentAlerts(10); render(); } catch { /* keep what we have */ }
  }, 500);

  const renderSoon = throttle(render, 300);
  await load();
  return {
    refresh: () => load().catch(() => {}),
    onLive(name, payload) {
      const row = rowOf(payload);
      if (!row) return;
      const del = isDelete(payload);
      if (name === "channel") state.channels = upsert(state.channels, row, del);
      else if (name === "alert") {
        state.alerts = upsert(state.alerts, row, del || row.state === "resolved");
        reloadRecent();
      } else if (name === "encoder") state.encoders = upsert(state.encoders, row, del);
      else if (name === "encoder_group") state.groups = upsert(state.groups, row, del);
      else if (name === "probe") state.probes = upsert(state.probes, row, del);
      else return;
      renderSoon();
    },
    unmount() { tierChart.destroy(); sevChart.destroy(); },
  };
}
