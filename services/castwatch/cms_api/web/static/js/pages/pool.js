// The pool view of an encoder group (GET /encoder-groups/{id}/pool): for a group that is a pool
// (`is_pool`: more than one output, or an encoder with max_outputs > 1 — the encoder manager then
// assigns outputs across its encoders instead of primary/backup failover) each encoder with its
// load (outputs carried / max, bitrate / budget, CPU, temperature), its headroom as the
// assignment scores it, and the outputs it carries; outputs assigned to no encoder are listed
// apart and highlighted (they are off air). The encoders page reloads a group's pool when one
// of its outputs, encoders or failover events changes (Socket.IO events).

import { fmtNum, h } from "../ui.js";

/** [text, tone] of an encoder's load line: "2/3 outputs · 6.0/20.0 Mb/s". */
export function loadText(enc) {
  const outputs = `${enc.carried.length}/${enc.max_outputs} outputs`;
  const mbps = fmtNum(enc.carried_kbps / 1000, 1);
  const rate = enc.bitrate_budget_kbps ? `${mbps}/${fmtNum(enc.bitrate_budget_kbps / 1000, 1)} Mb/s` : `${mbps} Mb/s`;
  const full = enc.carried.length >= enc.max_outputs
    || (enc.bitrate_budget_kbps && enc.carried_kbps >= enc.bitrate_budget_kbps);
  return [`${outputs} · ${rate}`, full ? "warn" : undefined];
}

/** Headroom 0..1 as a percentage and its tone (crit when nothing is left, warn under 20 %). */
export function headroomText(enc) {
  if (!enc.usable) return ["unusable", "crit"];
  const pct = Math.round(enc.headroom * 100);
  return [`${pct} % headroom`, pct <= 0 ? "crit" : pct < 20 ? "warn" : undefined];
}

function chip(output, extra = {}) {
  return h("span.badge.pool-output", {
    dataset: { outputId: output.id, ...extra },
    title: `${output.destination || "no destination"} · ${fmtNum(output.bitrate_kbps / 1000, 1)} Mb/s · priority ${output.priority}`,
    text: output.enabled ? output.name : `${output.name} (disabled)`,
  });
}

/** The pool panel of one group, or null when the group is not a pool. */
export function poolPanel(pool) {
  if (!pool || !pool.is_pool) return null;
  const outputs = new Map(pool.outputs.map((o) => [o.id, o]));
  const offAir = pool.off_air.map((id) => outputs.get(id)).filter(Boolean);
  const rows = pool.encoders.map((enc) => {
    const [load, loadTone] = loadText(enc);
    const [room, roomTone] = headroomText(enc);
    const temp = enc.temperature_c === null ? "—" : `${fmtNum(enc.temperature_c)} °C`;
    const cpu = enc.cpu_percent === null ? "—" : `${fmtNum(enc.cpu_percent)} % CPU`;
    return h("div.pool-encoder", { dataset: { encoderId: enc.id, usable: enc.usable, hot: enc.hot } },
      h("div.pool-head", h("strong", { text: enc.name }),
        enc.hot ? h("span.badge", { dataset: { tone: "crit" }, text: "HOT: SHEDDING" }) : null,
        !enc.enabled ? h("span.badge", { text: "DISABLED" }) : null),
      h("div.metrics-row",
        h("div", { dataset: { metric: "load" } }, h("div.m-label", { text: "Load" }),
          h("div.m-value", { dataset: { tone: loadTone }, text: load })),
        h("div", { dataset: { metric: "headroom" } }, h("div.m-label", { text: "Headroom" }),
          h("div.m-value", { dataset: { tone: roomTone }, text: room }),
          h("meter", { min: 0, max: 1, low: 0.2, optimum: 1, value: enc.usable ? enc.headroom : 0 })),
        h("div", { dataset: { metric: "cpu-temp" } }, h("div.m-label", { text: "CPU · temperature" }),
          h("div.m-value", { dataset: { tone: enc.hot ? "crit" : undefined }, text: `${cpu} · ${temp}` }))),
      h("div.pool-carried", enc.carried.length
        ? enc.carried.map((id) => outputs.get(id)).filter(Boolean).map((o) => chip(o))
        : h("span.muted", { text: "carries nothing" })));
  });
  return h("div.pool", { dataset: { pool: pool.group_id } },
    h("h3", { text: `Pool: ${pool.outputs.length} outputs on ${pool.encoders.length} encoders` }),
    offAir.length
      ? h("div.pool-offair", { dataset: { tone: "crit" } },
        h("strong", { text: `Off air — assigned to no encoder (${offAir.length}): ` }),
        offAir.map((o) => chip(o, { unassigned: true })))
      : null,
    h("div.pool-encoders", rows));
}
