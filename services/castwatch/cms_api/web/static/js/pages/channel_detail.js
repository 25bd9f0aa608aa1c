// One channel: status, ABR ladder, the probe's latest checks, charts, its alerts; edit / disable.

import { thumbImg } from "../thumbs.js";
import { api, rows } from "../api.js";
import { bars, timeLine } from "../charts.js";
import { CONTENT_CHARTS, drawContentChart, loadChartHistory } from "../content_charts.js";
import { isDelete, loadOffAir, offAirText, PATHS, rowOf } from "../data.js";
import { loadHistory } from "../history.js";
import { downloadMs, playlistAge, recentChecks, recordChannel, seriesFor, seriesOf } from "../samples.js";
import {
  clear, confirmDialog, throttle, fmtBitrate, fmtTime, h, light, relTime, sevBadge, stateBadge, toast,
} from "../ui.js";
import { updateChannel } from "./channel_form.js";

/** Known check fields: their column order and short headers (others follow, as named). */
const COLUMNS = {
  name: "rendition", download_time_ms: "download ms", segment_status: "HTTP", segment_error: "error",
  last_change_age_s: "age s", media_sequence: "media seq", segments: "segments", target_duration: "target s",
  segment_number: "segment #", segment_duration_s: "segment s", segment_bytes: "size", discontinuity_sequence: "disc. seq",
};

/**
 * A table of objects: columns are the union of their scalar keys (known ones first, at most `max`),
 * leaving out columns that are empty in every row.
 */
export function objectTable(items, { max = 9, id } = {}) {
  const keys = new Set();
  for (const it of items) {
    for (const [k, v] of Object.entries(it || {})) if (v !== null && v !== undefined && typeof v !== "object") keys.add(k);
  }
  const known = Object.keys(COLUMNS).filter((k) => keys.has(k));
  const cols = [...known, ...[...keys].filter((k) => !(k in COLUMNS))].slice(0, max);
  return h("div.table-wrap", h("table.responsive", { id },
    h("thead", h("tr", cols.map((c) => h("th", { text: COLUMNS[c] || c.replaceAll("_", " ") })))),
    h("tbody", items.map((it) => h("tr", cols.map((c) => h("td", { dataset: { label: COLUMNS[c] || c }, text: fmtCell(c, it[c]) })))))));
}

function fmtCell(key, v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (/(_at|time)$/.test(key) && typeof v === "string" && /\d{4}-\d\d-\d\d/.test(v)) return fmtTime(v);
  if (/bandwidth|bitrate/.test(key) && Number.isFinite(Number(v))) return fmtBitrate(v);
  if (/bytes$/.test(key) && Number.isFinite(Number(v))) return fmtBytes(Number(v));
  return String(v);
}

function fmtBytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${Math.round(n / 1e3)} kB` : `${n} B`;
}

/** The per-rendition part of a check result, as a list of objects with a `name`. */
export function checkRenditions(check) {
  const r = check && (check.renditions || check.variants || check.media);
  if (Array.isArray(r)) return r.filter((x) => x && typeof x === "object");
  if (r && typeof r === "object") return Object.entries(r).map(([name, v]) => ({ name, ...(typeof v === "object" ? v : { value: v }) }));
  return [];
}

/** Check renditions in ladder order (highest bandwidth first); unknown names last, by name. */
export function byLadder(items, ladder) {
  const rank = new Map(ladder.slice().sort((a, b) => b.bandwidth - a.bandwidth).map((r, i) => [r.name, i]));
  const key = (x) => rank.get(x.name) ?? ladder.length;
  return items.slice().sort((a, b) => key(a) - key(b) || String(a.name).localeCompare(String(b.name), undefined, { numeric: true }));
}

/** Per-rendition numbers of a check worth a chart, in order of preference, with their titles. */
const CHART_KEYS = {
  download_time_ms: "Segment download time per rendition (ms)",
  last_change_age_s: "Seconds since each rendition's playlist last changed",
  segments: "Segments in each rendition's playlist window",
};

const fix = (v, d = 1) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(d) : "—");

/** The probe's content layer for this channel: thumbnail, loudness, picture, MOS and bitrate. */
export function renderContent(box, channel) {
  const c = (channel.last_check || {}).content;
  if (!c) {
    clear(box, h("h2", { text: "Content" }), h("p.empty", { text: "No content figures yet (the probe decodes a rendition of each channel)." }));
    return;
  }
  const decoded = (c.decoded || {})[c.chosen] || {};
  const audio = Array.isArray(decoded.audio) ? decoded.audio : [];
  clear(box, h("h2", { text: `Content (${c.mode || "—"}, decoding ${c.chosen || "—"})` }),
    h("div.grid.cols-2",
      h("div", thumbImg(channel), h("p.muted", { text: c.thumbnail_at ? `picture ${relTime(c.thumbnail_at)}` : "no picture yet" })),
      h("dl.kv#content-figures",
        ...kv("Picture", decoded.width ? `${decoded.width}×${decoded.height} ${decoded.codec || ""} · black ${fix(decoded.black_s)} s · frozen ${fix(decoded.frozen_s)} s` : "—"),
        ...audio.flatMap((a) => kv(`Audio #${a.track}`,
          `M ${fix(a.momentary_lufs)} · S ${fix(a.short_term_lufs)} · I ${fix(a.integrated_lufs)} LUFS · TP ${fix(a.true_peak_dbtp)} dBTP · silent ${fix(a.silent_s)} s`)))),
    h("div.table-wrap", h("table.responsive#content-renditions",
      h("thead", h("tr", ["Rendition", "Measured", "Advertised", "Video MOS"].map((t) => h("th", { text: t })))),
      h("tbody", Object.entries(c.renditions || {}).map(([name, r]) => h("tr",
        h("td", { dataset: { label: "Rendition" }, text: name }),
        h("td", { dataset: { label: "Measured" }, text: r.measured_bps ? fmtBitrate(r.measured_bps) : "—" }),
        h("td", { dataset: { label: "Advertised" }, text: r.advertised_bps ? fmtBitrate(r.advertised_bps) : "—" }),
        h("td", { dataset: { label: "Video MOS" }, text: r.mos != null ? fix(r.mos, 2) : (r.mos_model || "—") })))))));
}

export async function mount(view, ctx) {
  const id = ctx.channelId;
  const canWrite = ctx.session.scope !== "read";
  let channel = await api.get(`${PATHS.channels}/${id}`);
  let template = null;
  let alerts = [];

  const head = h("div.page-head");
  const info = h("section.card");
  const ladder = h("section.card");
  const checks = h("section.card#recent-checks");
  const chartsBox = h("section.card");
  const alertBox = h("section.card#channel-alerts");
  const historyBox = h("section.card#check-history");
  const ageBox = h("section.card#age-chart");
  const offAirBox = h("p.note#channel-offair", { hidden: true });
  const downloadBox = h("section.card#download-history");
  const contentBox = h("section.card#channel-content");
  const contentCharts = new Map(); // metric -> {box, source, chart}
  const contentChartsBox = h("div.grid.cols-3#content-charts", CONTENT_CHARTS.map((c) => {
    const box = h("div", { id: c.id });
    const source = h("p.muted.chart-source", { dataset: { source: "live" } });
    contentCharts.set(c.metric, { box, source, chart: null });
    return h("section.card", { dataset: { metric: c.metric } }, h("h2", { text: c.title }), source, box);
  }));
  let offAir = null;
  clear(view, h("p", h("a", { href: "#/channels", text: "← All channels" })), head, offAirBox,
    h("div.grid.cols-2", info, ladder), contentBox, contentChartsBox, h("div.grid.split", checks, chartsBox),
    downloadBox, h("div.grid.cols-2", historyBox, ageBox), alertBox);

  let chart = null;
  let ageChart = null;

  async function toggleEnabled() {
    const disabling = channel.enabled;
    if (disabling && !(await confirmDialog(`Disable ${channel.channel_name}?`,
      "Its probing stops and no new alerts are raised for it until it is enabled again.", "Disable"))) return;
    try {
      channel = await updateChannel(id, { enabled: !disabling });
      toast(disabling ? "Channel disabled." : "Channel enabled.", "ok");
      render();
    } catch (err) { toast(err.message, "error"); }
  }

  function render() {
    const status = channel.enabled ? channel.status : "disabled";
    offAirBox.hidden = !offAir;
    offAirBox.textContent = offAir ? offAirText(offAir) : "";
    clear(head, light(status), h("h1", { text: channel.channel_name }),
      h("span.badge", { text: status.toUpperCase(), dataset: { status } }),
      offAir ? h("span.badge.offair", { text: "PLANNED OFF-AIR" }) : null,
      canWrite ? h("div.btn-row",
        h("a.btn", { href: `#/channels/${id}/edit`, id: "edit-channel", text: "Edit" }),
        h("button.btn", { type: "button", id: "toggle-channel", class: channel.enabled ? "btn danger" : "btn",
          text: channel.enabled ? "Disable" : "Enable", on: { click: toggleEnabled } })) : null);
    clear(info, h("h2", { text: "Channel" }), h("dl.kv",
      ...kv("Code", channel.channel_code), ...kv("Type", channel.channel_type), ...kv("Tier", channel.tier),
      ...kv("Protocol", channel.protocol), ...kv("URL", channel.input_url),
      ...kv("Formats", [channel.is_4k ? "4K" : "HD", channel.is_hdr ? "HDR" : null, channel.is_atmos ? "Atmos" : null].filter(Boolean).join(" · ")),
      ...kv("Template", template ? template.name : "none"),
      ...kv("Last checked", channel.last_checked_at ? `${relTime(channel.last_checked_at)} (${fmtTime(channel.last_checked_at)})` : "never")));

    const rungs = (template && template.renditions) || [];
    clear(ladder, h("h2", { text: "ABR ladder" }), rungs.length === 0 ? h("p.empty", { text: "No template ladder." }) :
      h("div.table-wrap", h("table.responsive#ladder",
        h("thead", h("tr", ["Rung", "Bitrate", "Resolution", "Codecs", "FPS", "Range", "Audio"].map((t) => h("th", { text: t })))),
        h("tbody", rungs.map((r) => h("tr",
          h("td", { dataset: { label: "Rung" }, text: r.name }), h("td", { dataset: { label: "Bitrate" }, text: fmtBitrate(r.bandwidth) }),
          h("td", { dataset: { label: "Resolution" }, text: r.resolution || "—" }), h("td.mono", { dataset: { label: "Codecs" }, text: r.codecs || "—" }),
          h("td", { dataset: { label: "FPS" }, text: r.frame_rate ?? "—" }), h("td", { dataset: { label: "Range" }, text: r.video_range || "—" }),
          h("td", { dataset: { label: "Audio" }, text: r.audio_channels || "—" })))))));

    renderContent(contentBox, channel);

    const check = channel.last_check || {};
    const perRendition = byLadder(checkRenditions(check), (template && template.renditions) || []);
    const scalars = Object.entries(check).filter(([, v]) => v === null || typeof v !== "object");
    clear(checks, h("h2", { text: "Latest check" }),
      Object.keys(check).length === 0 ? h("p.empty", { text: "No check recorded yet (the probe fills this in)." }) : [
        scalars.length ? h("dl.kv", scalars.flatMap(([k, v]) => kv(k.replaceAll("_", " "), fmtCell(k, v)))) : null,
        perRendition.length ? objectTable(perRendition, { id: "check-renditions" }) : null,
        ...Object.entries(check).filter(([k, v]) => v && typeof v === "object" && !["renditions", "variants", "media"].includes(k))
          .map(([k, v]) => [h("h3", { text: k.replaceAll("_", " ") }),
            Array.isArray(v) && v.length && typeof v[0] === "object" ? objectTable(v)
              : Array.isArray(v) ? (v.length ? h("ul.mono", v.map((x) => h("li", { text: String(x) }))) : h("p.muted", { text: "none" }))
                : h("pre.mono", { text: JSON.stringify(v, null, 1) })]),
      ]);

    renderChart(perRendition);
    renderHistory();
    renderAlerts();
  }

  function renderHistory() {
    recordChannel(channel);
    const list = recentChecks(channel.channel_code);
    clear(historyBox, h("h2", { text: "Recent checks" }),
      h("p.muted", { text: "Checks received since this console was opened (newest first)." }),
      list.length === 0 ? h("p.empty", { text: "No check recorded yet." }) : h("div.table-wrap", h("table.responsive",
        h("thead", h("tr", ["Checked", "Status", "Renditions", "Oldest playlist age", "Open alerts"].map((t) => h("th", { text: t })))),
        h("tbody", list.map((c) => h("tr",
          h("td", { dataset: { label: "Checked" }, title: c.at, text: fmtTime(c.at) }),
          h("td", { dataset: { label: "Status" } }, light(c.status), ` ${c.status}`),
          h("td", { dataset: { label: "Renditions" }, text: checkRenditions(c.check).length }),
          h("td", { dataset: { label: "Oldest age" }, text: playlistAge(c.check) === null ? "—" : `${playlistAge(c.check)} s` }),
          h("td", { dataset: { label: "Open alerts" }, text: (c.check.open_alerts || []).length })))))));
    const age = seriesFor("age", channel.channel_code);
    clear(ageBox, h("h2", { text: "Playlist age over time (oldest rendition)" }));
    if (ageChart) { ageChart.destroy(); ageChart = null; }
    if (age) {
      ageChart = timeLine([age], { unit: " s", label: "playlist age", small: true, yMin: 0 });
      ageBox.append(ageChart.box);
    } else ageBox.append(h("p.empty", { text: "No playlist ages reported yet." }));
  }

  function renderChart(perRendition) {
    const key = Object.keys(CHART_KEYS).find((k) => perRendition.some((r) => r[k] !== null && r[k] !== undefined && Number.isFinite(Number(r[k]))));
    const rungs = (template && template.renditions) || [];
    clear(chartsBox, h("h2", { text: key ? CHART_KEYS[key] : "Ladder bitrates (Mb/s)" }));
    if (chart) { chart.destroy(); chart = null; }
    if (key) {
      chart = bars(perRendition.map((r) => r.name), [{ label: key, data: perRendition.map((r) => Number(r[key]) || 0), backgroundColor: "#38bdf8" }], { label: key });
    } else if (rungs.length) {
      chart = bars(rungs.map((r) => r.name), [{ label: "Mb/s", data: rungs.map((r) => r.bandwidth / 1e6), backgroundColor: "#a78bfa" }], { label: "ladder bitrates" });
    }
    chartsBox.append(chart ? chart.box : h("p.empty", { text: "Nothing to chart yet. Time series live on the Metrics page." }));
  }

  function renderAlerts() {
    clear(alertBox, h("h2", { text: "Alerts" }), alerts.length === 0 ? h("p.empty", { text: "No alerts for this channel." }) :
      h("div.table-wrap", h("table.responsive",
        h("thead", h("tr", ["Severity", "State", "Type", "Summary", "Opened"].map((t) => h("th", { text: t })))),
        h("tbody", alerts.map((a) => h("tr.clickable", { on: { click: () => { location.hash = `#/alerts?focus=${a.id}`; } } },
          h("td", { dataset: { label: "Severity" } }, sevBadge(a.severity)), h("td", { dataset: { label: "State" } }, stateBadge(a.state)),
          h("td.mono", { dataset: { label: "Type" }, text: a.alert_type }), h("td", { dataset: { label: "Summary" }, text: a.summary }),
          h("td", { dataset: { label: "Opened" }, text: relTime(a.opened_at) })))))));
  }

  let downloadChart = null;
  /** Segment download time per rendition over the last hour (InfluxDB), else the live values. */
  async function loadDownloads() {
    let result;
    try {
      result = await loadHistory({ measurement: "segment_metric", field: "download_time_ms", channel: channel.channel_code },
        { only: "rendition" });
    } catch (err) { result = { series: [], unavailable: err.message }; }
    if (downloadChart) { downloadChart.destroy(); downloadChart = null; }
    const live = seriesFor("download", channel.channel_code);
    const data = result.unavailable ? (live ? [{ ...live, label: "mean of renditions" }] : []) : result.series;
    clear(downloadBox, h("h2", { text: "Segment download time, last hour" }),
      h("p.muted.chart-source", { dataset: { source: result.unavailable ? "live" : "influx" }, text: result.unavailable
        ? `No history: ${String(result.unavailable).replace(/\.$/, "")}. Showing values received live since this console opened.`
        : "From InfluxDB, mean per bucket, per rendition." }));
    if (data.length) {
      downloadChart = timeLine(data, { unit: " ms", label: "segment download time", small: true, yMin: 0 });
      downloadBox.append(downloadChart.box);
    } else downloadBox.append(h("p.empty", { text: downloadMs(channel.last_check) === null ? "No segment download times yet." : "No points yet." }));
  }

  /** This channel's live points of a metric (labels "CODE" or "CODE rendition"), label without the code. */
  function liveContent(metric, suffix = "") {
    const code = channel.channel_code;
    return seriesOf(metric, 64).filter((x) => x.label === code || x.label.startsWith(`${code} `))
      .map((x) => ({ ...x, label: `${x.label.slice(code.length).trim() || "track 1"}${suffix}` }));
  }

  /** MOS, loudness (with its target band) and bitrate measured vs advertised: last hour, else live. */
  async function loadContentCharts() {
    await Promise.all(CONTENT_CHARTS.map(async (c) => {
      let result;
      try {
        result = await loadChartHistory(c, { channel: channel.channel_code }, { only: c.metric === "loudness" ? "track" : "rendition" });
      } catch (err) { result = { series: [], unavailable: err.message }; }
      const slot = contentCharts.get(c.metric);
      const live = () => [...liveContent(c.metric), ...(c.compare ? liveContent(c.compare.metric, ` ${c.compare.label}`) : [])];
      const data = result.unavailable ? live() : result.series;
      slot.source.dataset.source = result.unavailable ? "live" : "influx";
      slot.source.textContent = result.unavailable ? "Live values since this console opened." : "Last hour from InfluxDB, mean per bucket.";
      slot.chart = drawContentChart(slot.box, slot.chart, data, c,
        { small: true, emptyText: result.unavailable ? c.empty : "No points in the last hour." });
    }));
  }

  async function load() {
    offAir = (await loadOffAir()).get(id) || null;
    channel = await api.get(`${PATHS.channels}/${id}`);
    template = channel.template_id ? await api.get(`${PATHS.templates}/${channel.template_id}`).catch(() => null) : null;
    alerts = rows(await api.get(PATHS.alerts, { channel: id, limit: 25 }));
    render();
  }
  const reloadAlerts = throttle(async () => {
    alerts = rows(await api.get(PATHS.alerts, { channel: id, limit: 25 }).catch(() => ({ items: alerts })));
    renderAlerts();
  }, 300);

  const renderSoon = throttle(render, 500);
  await load();
  await Promise.all([loadDownloads(), loadContentCharts()]);
  const timer = setInterval(() => {
    loadDownloads().catch(() => {});
    loadContentCharts().catch(() => {});
    loadOffAir().then((m) => { offAir = m.get(id) || null; renderSoon(); }).catch(() => {});
  }, 60_000);
  return {
    refresh: () => load().then(() => Promise.all([loadDownloads(), loadContentCharts()])).catch(() => {}),
    onLive(name, payload) {
      const row = rowOf(payload);
      if (!row) return;
      if (name === "channel" && row.id === id) {
        if (isDelete(payload)) { location.hash = "#/channels"; return; }
        channel = { ...channel, ...row };
        recordChannel(channel); // every check goes to the history, even those a throttled render skips
        renderSoon();
      } else if (name === "alert" && row.channel_id === id) reloadAlerts();
    },
    unmount() {
      clearInterval(timer);
      if (chart) chart.destroy();
      if (ageChart) ageChart.destroy();
      if (downloadChart) downloadChart.destroy();
      contentCharts.forEach((slot) => { if (slot.chart) slot.chart.destroy(); });
    },
  };
}

function kv(k, v) { return [h("dt", { text: k }), h("dd", { text: v === null || v === undefined || v === "" ? "—" : String(v) })]; }
