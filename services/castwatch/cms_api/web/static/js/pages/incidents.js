// impact.off_air means the channels are dark (off the air); incident.planned_off_air means a
// schedule planned it.
// Incidents: what the correlator made of alerts that share a cause (GET /api/v1/incidents). A list
// (open first, most severe first) and the selected incident's root cause, symptoms, impact
// (channels, tiers, redundancy), timeline and remediation hint. Incidents are not a live feed of
// their own: the page reloads when an alert or alert event arrives (the correlator reacts to
// those within a second).

import { api, rows } from "../api.js";
import { clear, fmtTime, h, relTime, sevBadge, stateBadge, throttle } from "../ui.js";

const PATH = "/incidents";

/** "2 channels · tier 1: 1, tier 2: 1 · redundancy lost" from an incident's impact. */
export function impactSummary(impact) {
  const i = impact || {};
  const parts = [];
  const n = Number(i.channels ?? (i.channel_ids || []).length) || 0;
  parts.push(`${n} channel${n === 1 ? "" : "s"}`);
  const tiers = Object.entries(i.tiers || {}).filter(([, c]) => c).sort(([a], [b]) => Number(a) - Number(b));
  if (tiers.length) parts.push(tiers.map(([t, c]) => `tier ${t}: ${c}`).join(", "));
  if (i.redundancy && i.redundancy !== "n/a") parts.push(`redundancy ${i.redundancy}`);
  if (i.off_air) parts.push("off the air");
  return parts.join(" · ");
}

const REDUNDANCY_TEXT = {
  lost: "lost — running on the backup after a failover; the picture is up, the standby is gone",
  intact: "intact — the standby is still available",
  none: "none — no standby encoder",
};

export async function mount(view, ctx) {
  const filter = { state: ctx.query.get("state") || "open" };
  let selected = Number(ctx.query.get("focus")) || null;
  let items = [];
  let total = 0;

  const stateSel = h("select", { name: "state", on: { change: (e) => { filter.state = e.target.value; load().catch(() => {}); } } },
    [["open", "Open"], ["resolved", "Resolved"], ["", "All"]].map(([v, l]) => h("option", { value: v, text: l, selected: filter.state === v })));
  const listBox = h("div#incident-list");
  const detailBox = h("section.card.sticky#incident-detail", h("p.empty", { text: "Select an incident to see its root cause and timeline." }));
  const countEl = h("span.muted#incident-count");
  clear(view,
    h("div.page-head", h("h1", { text: "Incidents" }), countEl),
    h("p.muted", { text: "Alerts that share a cause, grouped by the correlator: one root cause, its symptoms, who is affected and what to do." }),
    h("form.filters.card", { on: { submit: (e) => e.preventDefault() } }, h("label.field", h("span", { text: "State" }), stateSel)),
    h("div.grid.split", h("section.card", h("h2", { text: "Incidents" }), listBox), detailBox));

  function syncUrl() {
    const q = new URLSearchParams();
    if (filter.state !== "open") q.set("state", filter.state);
    if (selected) q.set("focus", String(selected));
    history.replaceState(null, "", `#/incidents${q.toString() ? `?${q}` : ""}`);
  }

  function renderList() {
    countEl.textContent = `${total} ${filter.state || "in all"}`;
    clear(listBox, items.length === 0 ? h("p.empty", { text: filter.state === "open" ? "No open incident. All quiet." : "No incidents." })
      : h("div.table-wrap", h("table.responsive#incidents-table",
        h("thead", h("tr", ["Severity", "State", "Incident", "Impact", "Opened"].map((t) => h("th", { text: t })))),
        h("tbody", items.map((i) => h("tr.clickable", { dataset: { id: i.id, selected: i.id === selected }, on: { click: () => select(i.id) } },
          h("td", { dataset: { label: "Severity" } }, sevBadge(i.severity)),
          h("td", { dataset: { label: "State" } }, stateBadge(i.state)),
          h("td", { dataset: { label: "Incident" } }, h("div", h("strong", { text: i.title }),
            i.planned_off_air ? h("span.badge.offair", { text: "PLANNED OFF-AIR" }) : null,
            h("div.muted.mono", { text: `${i.root_kind} ${i.root_subject} · ${i.rule}` }))),
          h("td", { dataset: { label: "Impact" }, text: impactSummary(i.impact) }),
          h("td", { dataset: { label: "Opened" }, title: fmtTime(i.opened_at), text: relTime(i.opened_at) })))))));
  }

  function member(m, root = false) {
    return h("li", { dataset: { alertId: m.alert_id, role: m.role } },
      h("div.btn-row", sevBadge(m.severity), stateBadge(m.state), h("a.mono", { href: `#/alerts?focus=${m.alert_id}`, text: m.alert_type }),
        m.expected ? h("span.badge", { title: m.note || "", text: "EXPECTED" }) : null),
      h("div", { text: m.summary }), h("div.muted", { text: `${m.subject} · ${m.source} · opened ${relTime(m.opened_at)}` }),
      !root && m.note ? h("div.muted", { text: m.note }) : null);
  }

  async function loadDetail() {
    if (!selected) return;
    let d;
    try { d = await api.get(`${PATH}/${selected}`); } catch (err) {
      clear(detailBox, h("p.form-error", { text: err.status === 404 ? `Incident #${selected} does not exist.` : err.message }));
      return;
    }
    const imp = d.impact || {};
    const tiers = Object.entries(imp.tiers || {}).filter(([, c]) => c).map(([t, c]) => `tier ${t}: ${c}`).join(", ");
    const remediation = d.remediation || (d.root_cause && d.root_cause.remediation);
    clear(detailBox,
      h("h2", { text: `Incident #${d.id}` }),
      h("div.btn-row", sevBadge(d.severity), stateBadge(d.state), d.planned_off_air ? h("span.badge.offair", { text: "PLANNED OFF-AIR" }) : null),
      h("p", h("strong", { text: d.title })),
      remediation ? h("div.remediation#incident-remediation", h("strong", { text: "What to do: " }), h("span", { text: remediation }),
        d.known_issue ? h("div.muted", { text: `known issue: ${d.known_issue}` }) : null) : null,
      h("h3", { text: "Impact" }),
      h("dl.kv.wrap#incident-impact",
        h("dt", { text: "Channels" }), h("dd", { text: `${imp.channels ?? (imp.channel_ids || []).length}${(imp.channel_codes || []).length ? ` — ${imp.channel_codes.join(", ")}` : ""}` }),
        h("dt", { text: "Tiers" }), h("dd", { text: tiers || "—" }),
        h("dt", { text: "Picture" }), h("dd", { dataset: { offAir: Boolean(imp.off_air) }, text: d.planned_off_air ? "planned off-air (schedule): alerts are not sent"
          : imp.off_air ? "OFF THE AIR — viewers see no picture" : "on air" }),
        h("dt", { text: "Redundancy" }), h("dd", { text: REDUNDANCY_TEXT[imp.redundancy] || imp.redundancy || "—" }),
        h("dt", { text: "Cause" }), h("dd", { text: `${d.root_kind} ${d.root_subject} (rule: ${d.rule})` }),
        h("dt", { text: "Opened" }), h("dd", { text: `${fmtTime(d.opened_at)} (${relTime(d.opened_at)})` }),
        d.resolved_at ? [h("dt", { text: "Resolved" }), h("dd", { text: fmtTime(d.resolved_at) })] : null),
      h("h3", { text: "Root cause" }),
      d.root_cause ? h("ul.members#incident-root", member(d.root_cause, true)) : h("p.empty", { text: "No root-cause alert." }),
      h("h3", { text: `Symptoms (${d.symptoms.length})` }),
      d.symptoms.length ? h("ul.members#incident-symptoms", d.symptoms.map((m) => member(m))) : h("p.empty", { text: "No symptoms." }),
      h("h3", { text: "Timeline" }),
      h("ol.timeline#incident-timeline", (d.timeline || []).slice().reverse().map((e) => h("li", { dataset: { kind: e.kind } },
        h("div", h("strong", { text: e.kind }), e.alert_type ? ` ${e.alert_type}` : "", e.subject ? ` · ${e.subject}` : "",
          e.role ? ` (${e.role})` : "", e.actor ? ` · ${e.actor}` : ""),
        e.note ? h("div", { text: `“${e.note}”` }) : null,
        h("div.when", { text: `${fmtTime(e.at)} (${relTime(e.at)})` })))));
  }

  async function select(id) {
    selected = id;
    syncUrl();
    renderList();
    await loadDetail();
    if (window.innerWidth < 1200) detailBox.scrollIntoView({ block: "start" });
  }

  async function load() {
    syncUrl();
    const page = await api.get(PATH, { state: filter.state || undefined, limit: 200 });
    items = rows(page);
    total = page.total ?? items.length;
    renderList();
    if (selected) await loadDetail();
  }

  const reload = throttle(() => load().catch(() => {}), 1000);
  await load();
  return {
    refresh: () => load().catch(() => {}),
    onLive(name) { if (name === "alert" || name === "alert_event") reload(); },
  };
}
