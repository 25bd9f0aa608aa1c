// Encoders: each failover group with its primary and backups, their health, which one is on air,
// manual failover (confirmed) through POST /encoders/{id}/control — its outcome arrives as a live
// `encoder_command` event, no polling — and the failover history (GET /failover-events).
//
// Control semantics (encoder manager): "failover" sent to a standby puts that standby on air; sent
// to the active encoder it lets the manager pick the next healthy standby; "failback" returns the
// group to its preferred (primary) encoder.
//
// A group that is a pool (pages/pool.js) shows its pool panel — encoders with load, headroom and
// the outputs each carries, unassigned outputs highlighted — reloaded from GET
// /encoder-groups/{id}/pool when an `encoder_output`, `encoder` or `failover_event` of the group
// arrives live.

import { api, rows } from "../api.js";
import { isDelete, loadEncoders, loadGroups, onAir, PATHS, rowOf, upsert } from "../data.js";
import { clear, throttle, fmtNum, fmtTime, formDialog, h, light, relTime, toast } from "../ui.js";
import { poolPanel } from "./pool.js";

/** The encoder manager's default limits (encoder_manager/health.py Thresholds). */
export const DEFAULT_THRESHOLDS = {
  temperature_max_c: 75, cpu_max_percent: 90, drop_rate_max_per_s: 1, link_rtt_max_ms: 500,
  link_lost_rate_max_per_s: 5,
};

/**
 * Health figures of an encoder's newest sample (`last_sample` as the encoder manager writes it:
 * HealthSample fields + `rates` + `overheat_eta_s`) as [label, text, tone, key] rows. Limits are
 * the defaults ← the group's thresholds ← the encoder's, as the manager merges them; a value is
 * "warn" from 90 % of its limit and "crit" at the limit.
 */
export function health(enc, group = null) {
  const s = enc.last_sample || {};
  const th = { ...DEFAULT_THRESHOLDS, ...numeric(group && group.thresholds), ...numeric(enc.thresholds) };
  const rates = s.rates || {};
  const link = s.link || {};
  const temp = num(s.temperature_c);
  const cpu = num(s.cpu_percent);
  const dropRate = num(rates.drop_rate ?? s.drop_rate);
  const dropped = num(s.frames_dropped);
  const rtt = num(link.rtt_ms);
  const lostRate = num(rates.lost_rate);
  const lost = num(link.lost);
  const eta = num(s.overheat_eta_s);
  const tone = (v, limit) => (v === null || limit === null ? undefined : v >= limit ? "crit" : v >= 0.9 * limit ? "warn" : undefined);
  const linkText = rtt === null && lost === null && lostRate === null ? "—"
    : [rtt === null ? null : `${fmtNum(rtt, 0)} ms`, lostRate ? `${fmtNum(lostRate, 1)} lost/s` : lost ? `${lost} lost` : null]
      .filter(Boolean).join(" · ") || "0 lost";
  return [
    ["Temperature", temp === null ? "—" : `${fmtNum(temp)} °C${eta !== null ? ` · overheat in ${Math.max(1, Math.round(eta / 60))} min` : ""}`,
      tone(temp, th.temperature_max_c) || (eta !== null ? "warn" : undefined), "temperature"],
    ["CPU", cpu === null ? "—" : `${fmtNum(cpu)} %`, tone(cpu, th.cpu_max_percent), "cpu"],
    ["Drops", dropRate !== null ? `${fmtNum(dropRate, 2)} /s` : dropped !== null ? `${dropped} total` : "—",
      tone(dropRate, th.drop_rate_max_per_s), "drops"],
    ["Link", linkText, tone(rtt, th.link_rtt_max_ms) || tone(lostRate, th.link_lost_rate_max_per_s), "link"],
    ["Bitrate", num(s.bitrate_kbps) === null ? "—" : `${fmtNum(num(s.bitrate_kbps) / 1000, 1)} Mb/s`, undefined, "bitrate"],
    ["Seen", enc.last_seen_at ? relTime(enc.last_seen_at) : "never", enc.reachable === false ? "crit" : undefined, "seen"],
  ];
}

/**
 * Local recording state of the newest sample as [text, tone], or null for a device that does not
 * record (the sample's `recording` is null): "REC" while recording; when not recording and the
 * device gave a reason (a full disk, say), "REC STOPPED: <reason>" as a warning.
 */
export function recordBadge(enc) {
  const s = enc.last_sample || {};
  if (s.recording === true) return ["REC", "crit"];
  if (s.recording === false && s.record_reason) return [`REC STOPPED: ${s.record_reason}`, "warn"];
  return null;
}

function num(v) {
  return v === null || v === undefined || v === "" || typeof v === "boolean" || !Number.isFinite(Number(v)) ? null : Number(v);
}

function numeric(obj) {
  return Object.fromEntries(Object.entries(obj || {}).filter(([, v]) => num(v) !== null).map(([k, v]) => [k, Number(v)]));
}

/** The device's last error (why it is unreachable), if the sample carries one. */
function errorLine(enc) {
  const err = enc.last_sample && enc.last_sample.error;
  return err ? h("div.enc-error", { text: err }) : null;
}

export async function mount(view, ctx) {
  const canWrite = ctx.session.scope !== "read";
  const state = { groups: [], encoders: [], failovers: [], commands: new Map(), pools: new Map() };
  const poolsDirty = new Set(); // group ids whose pool view must be read again
  let gone = false; // set on unmount
  const watching = new Map(); // command id -> encoder id: commands this page queued, until they end
  const groupsBox = h("div.grid#encoder-groups");
  const eventsBox = h("section.card#failover-events");
  clear(view, h("div.page-head", h("h1", { text: "Encoders" }), h("span.muted#encoder-count")), groupsBox, eventsBox);

  function encCard(enc, group) {
    const air = group && group.active_encoder_id === enc.id;
    const cmd = state.commands.get(enc.id);
    return h("article.enc", { dataset: { encoderId: enc.id, onair: Boolean(air) } },
      h("div.enc-head", light(enc.enabled ? enc.state : "disabled", enc.state), h("strong", { text: enc.name }),
        h("span.badge", { text: enc.role.toUpperCase() }), air ? h("span.badge.onair", { text: "ON AIR" }) : null,
        !enc.enabled ? h("span.badge", { text: "DISABLED" }) : null,
        recordBadge(enc) ? h("span.badge.rec", { dataset: { tone: recordBadge(enc)[1] }, text: recordBadge(enc)[0] }) : null),
      h("div.muted", { text: `${enc.driver_kind} · ${enc.address} · ${enc.state}` }),
      errorLine(enc),
      h("div.metrics-row", health(enc, group).map(([label, value, tone, key]) => h("div", { dataset: { metric: key } },
        h("div.m-label", { text: label }), h("div.m-value", { dataset: { tone }, text: value })))),
      cmd ? h("div.muted", { dataset: { command: cmd.id }, text: `last command: ${cmd.action} — ${cmd.status}${cmd.result ? ` (${cmd.result})` : ""}` }) : null);
  }

  async function failover(group, members) {
    const { active } = onAir(group, members);
    const targets = members.filter((e) => e.id !== (active && active.id) && e.enabled);
    if (!targets.length) { toast("This group has no other enabled encoder to fail over to.", "error"); return; }
    const options = targets.map((e) => [String(e.id), `${e.name} (${e.role}, ${e.state})`]);
    if (active && targets.length > 1) options.push([String(active.id), "the next healthy standby (the manager chooses)"]);
    await formDialog({
      title: `Fail over ${group.name}?`,
      body: `The output moves ${active ? `off ${active.name}, on air now, ` : ""}to the encoder chosen below. Viewers may see a short glitch.`,
      fields: [{ name: "target", label: "Put on air", type: "select", options }],
      confirm: "Fail over now", danger: true,
      onSubmit: async ({ target }) => {
        const id = Number(target);
        const cmd = await api.post(`${PATHS.encoders}/${id}/control`, { action: "failover" });
        if (cmd && cmd.id) state.commands.set(id, cmd);
        toast(`Failover requested (command ${cmd && cmd.id ? `#${cmd.id}, ${cmd.status}` : "sent"}).`, "ok");
        render();
        if (cmd && cmd.id) followCommand(id, cmd.id);
      },
    });
  }

  async function failback(group, members) {
    const { active } = onAir(group, members);
    const primary = members.filter((e) => e.role === "primary").sort((a, b) => a.priority - b.priority)[0];
    await formDialog({
      title: `Fail back ${group.name}?`,
      body: `The output returns to ${primary ? primary.name : "the primary"}${primary ? ` (${primary.state})` : ""} from ${active ? active.name : "the backup"}. Viewers may see a short glitch.`,
      confirm: "Fail back now", danger: true,
      onSubmit: async () => {
        const target = active || members[0];
        const cmd = await api.post(`${PATHS.encoders}/${target.id}/control`, { action: "failback" });
        if (cmd && cmd.id) { state.commands.set(target.id, cmd); followCommand(target.id, cmd.id); }
        toast(`Failback requested (command ${cmd && cmd.id ? `#${cmd.id}, ${cmd.status}` : "sent"}).`, "ok");
        render();
      },
    });
  }

  /**
   * Follows a queued command through the live feed (event `encoder_command`, pushed when the
   * encoder manager updates the row): its outcome is toasted once it is done or failed.
   */
  function followCommand(encoderId, commandId) {
    watching.set(commandId, encoderId);
  }

  function onCommand(cmd) {
    const shown = state.commands.get(cmd.encoder_id);
    if (!shown || shown.id <= cmd.id) state.commands.set(cmd.encoder_id, cmd);
    if (watching.has(cmd.id) && (cmd.status === "done" || cmd.status === "failed")) {
      watching.delete(cmd.id);
      toast(`${cmd.action} ${cmd.status === "done" ? "done" : "failed"}: ${cmd.result || ""}`, cmd.status === "done" ? "ok" : "error", 8000);
    }
    renderSoon();
  }

  /** After a reconnect: what happened to the commands being followed while the feed was down. */
  async function catchUpCommands() {
    for (const [commandId, encoderId] of [...watching]) {
      try {
        const cmd = (await api.get(`${PATHS.encoders}/${encoderId}/commands`)).find((c) => c.id === commandId);
        if (cmd && !gone) onCommand(cmd);
      } catch { /* the next reconnect tries again */ }
    }
  }

  function render() {
    const byGroup = new Map(state.groups.map((g) => [g.id, []]));
    const loose = [];
    for (const e of state.encoders) (byGroup.get(e.group_id) || loose).push(e);
    const count = document.getElementById("encoder-count");
    if (count) count.textContent = `${state.encoders.length} encoders · ${state.groups.length} groups`;
    const cards = state.groups.map((g) => {
      const members = (byGroup.get(g.id) || []).sort((a, b) => (a.role === b.role ? a.priority - b.priority : a.role === "primary" ? -1 : 1));
      const { active, onBackup } = onAir(g, members);
      const pooled = Boolean(state.pools.get(g.id) && state.pools.get(g.id).is_pool);
      if (pooled) { // the encoder manager assigns the outputs: no single on-air encoder, no manual failover
        return h("section.card.group-card", { dataset: { groupId: g.id } },
          h("div.page-head", h("h2", { text: g.name }), h("span.badge", { text: "POOL" }),
            h("span.muted", { text: "outputs assigned across the encoders by headroom" })),
          g.description ? h("p.muted", { text: g.description }) : null,
          poolPanel(state.pools.get(g.id)),
          members.length ? h("div.encoders", members.map((e) => encCard(e, g))) : h("p.empty", { text: "No encoder in this group." }));
      }
      return h("section.card.group-card", { dataset: { groupId: g.id } },
        h("div.page-head", h("h2", { text: g.name }),
          h("span.badge", { class: onBackup ? "badge hdr" : "badge", text: active ? (onBackup ? `ON BACKUP: ${active.name}` : `ON AIR: ${active.name}`) : "NOTHING ON AIR" }),
          h("span.muted", { text: `failover ${g.failover_enabled ? "automatic" : "manual only"} · ${g.preference}` }),
          canWrite && members.length > 1 ? h("button.btn.danger.small", { type: "button", dataset: { action: "failover" }, text: "Manual failover", on: { click: () => failover(g, members) } }) : null,
          canWrite && onBackup ? h("button.btn.small", { type: "button", dataset: { action: "failback" }, text: "Fail back to primary", on: { click: () => failback(g, members) } }) : null),
        g.description ? h("p.muted", { text: g.description }) : null,
        members.length ? h("div.encoders", members.map((e) => encCard(e, g))) : h("p.empty", { text: "No encoder in this group." }));
    });
    if (loose.length) {
      cards.push(h("section.card.group-card", h("h2", { text: "Not in a group" }), h("div.encoders", loose.map((e) => encCard(e, null)))));
    }
    clear(groupsBox, cards.length ? cards : h("p.card.empty", { text: "No encoders configured yet." }));
    renderEvents();
  }

  function renderEvents() {
    const names = new Map(state.encoders.map((e) => [e.id, e.name]));
    const groups = new Map(state.groups.map((g) => [g.id, g.name]));
    clear(eventsBox, h("h2", { text: "Failover events" }),
      h("p.muted", { text: "The newest 20 switches of any group (automatic, manual and failbacks)." }),
      state.failovers.length === 0 ? h("p.empty", { text: "No failover so far." })
        : h("div.table-wrap", h("table.responsive",
          h("thead", h("tr", ["When", "Group", "From → to", "Kind", "Status", "By", "Reason"].map((t) => h("th", { text: t })))),
          h("tbody", state.failovers.map((f) => h("tr",
            h("td", { dataset: { label: "When" }, title: fmtTime(f.created_at), text: relTime(f.created_at) }),
            h("td", { dataset: { label: "Group" }, text: groups.get(f.group_id) || f.group_id }),
            h("td", { dataset: { label: "From → to" }, text: `${names.get(f.from_encoder_id) || "—"} → ${names.get(f.to_encoder_id) || "—"}` }),
            h("td", { dataset: { label: "Kind" }, text: f.kind }), h("td", { dataset: { label: "Status" }, text: f.status }),
            h("td", { dataset: { label: "By" }, text: f.actor }), h("td", { dataset: { label: "Reason" }, text: f.reason })))))));
  }

  async function loadFailovers() {
    state.failovers = rows(await api.get(PATHS.failovers, { limit: 20 }));
  }

  async function loadPool(groupId) {
    try {
      state.pools.set(groupId, await api.get(`${PATHS.groups}/${groupId}/pool`));
    } catch { state.pools.delete(groupId); }
  }

  async function load() {
    const [encoders, groups] = await Promise.all([loadEncoders(), loadGroups()]);
    Object.assign(state, { encoders, groups });
    await Promise.all([loadFailovers(), ...groups.map((g) => loadPool(g.id))]);
    render();
  }
  const renderSoon = throttle(render, 150);
  const reloadEvents = throttle(() => loadFailovers().then(renderEvents).catch(() => {}), 300);
  const reloadPools = throttle(async () => {
    const ids = [...poolsDirty];
    poolsDirty.clear();
    await Promise.all(ids.map(loadPool));
    if (!gone) renderSoon();
  }, 300);
  function poolChanged(groupId) {
    if (groupId === null || groupId === undefined) return;
    poolsDirty.add(groupId);
    reloadPools();
  }

  await load();
  return {
    refresh: () => load().then(catchUpCommands).catch(() => {}),
    onLive(name, payload) {
      const row = rowOf(payload);
      if (!row) return;
      if (name === "encoder_command") { if (!isDelete(payload)) onCommand(row); return; }
      if (name === "encoder_output") {
        // a deleted output is announced without its group: read every pool again
        if (isDelete(payload)) state.groups.forEach((g) => poolChanged(g.id)); else poolChanged(row.group_id);
        return;
      }
      if (name === "encoder") {
        const before = state.encoders.find((e) => e.id === row.id);
        state.encoders = upsert(state.encoders, row, isDelete(payload));
        poolChanged(row.group_id ?? (before && before.group_id));
      } else if (name === "encoder_group") state.groups = upsert(state.groups, row, isDelete(payload));
      else if (name === "failover_event") { reloadEvents(); poolChanged(row.group_id); return; }
      else return;
      renderSoon();
    },
    unmount() { gone = true; },
  };
}
