// Metrics: time-series charts of segment download time, encoder bitrate, temperature and CPU, from
// the API's GET /series (the last hour from InfluxDB, refreshed every minute). When the API
// answers 503 — no InfluxDB configured, or it is down — each chart falls back to the values the
// API reports and every live update received since the console opened, with a note saying so.
// Playlist age and alerts per hour are not in InfluxDB: they always come from the API and live feed.

import { api, rows } from "../api.js";
import { bars } from "../charts.js";
import { CONTENT_CHARTS, drawContentChart, loadChartHistory, withBand } from "../content_charts.js";
import { loadChannels, loadEncoders, PATHS } from "../data.js";
import { onSamples, recordChannel, recordEncoder, seriesOf } from "../samples.js";
import { clear, throttle, h } from "../ui.js";
import { hourlyBuckets } from "./alerts.js";

const CHARTS = [
  { metric: "age", title: "Playlist age (oldest rendition, s since it changed)", unit: " s", id: "chart-age", yMin: 0 },
  { metric: "download", title: "Segment download time", unit: " ms", id: "chart-download",
    query: { measurement: "segment_metric", field: "download_time_ms" },
    empty: "No segment download times in the channels' latest checks yet (the probe times a sample of segments)." },
  { metric: "bitrate", title: "Encoder output bitrate", unit: " Mb/s", id: "chart-bitrate",
    query: { measurement: "encoder_metric", field: "bitrate_kbps" }, scale: 1 / 1000, only: "encoder" },
  { metric: "temperature", title: "Encoder temperature", unit: " °C", id: "chart-temperature",
    query: { measurement: "encoder_metric", field: "temperature_c" }, only: "encoder" },
  { metric: "cpu", title: "Encoder CPU", unit: " %", id: "chart-cpu", yMin: 0,
    query: { measurement: "encoder_metric", field: "cpu_percent" }, only: "encoder" },
  // the probe's content layer (issue #14): the seed's Video MOS, Audio Loudness and Bitrate charts
  ...CONTENT_CHARTS,
];

/** Kept for callers of this module: the band helper lives with the content charts. */
export { withBand };
const HISTORY_REFRESH_MS = 60_000;

export async function mount(view) {
  const [channels, encoders] = await Promise.all([loadChannels(), loadEncoders().catch(() => [])]);
  channels.forEach(recordChannel);
  encoders.forEach(recordEncoder);

  const boxes = new Map();
  const charts = new Map();
  const history = new Map(); // metric -> series from the API (absent: live-only)
  const alertsBox = h("div");
  const note = h("p.note#metrics-source", { text: "Loading history…" });
  clear(view,
    h("div.page-head", h("h1", { text: "Metrics" })),
    note,
    h("div.grid.cols-2",
      CHARTS.map((c) => {
        const box = h("div", { id: c.id });
        boxes.set(c.metric, box);
        return h("section.card", { dataset: { metric: c.metric } }, h("h2", { text: c.title }),
          h("div.muted.chart-source", { dataset: { source: "live" }, text: "" }), box);
      }),
      h("section.card", h("h2", { text: "Alerts opened per hour (24 h)" }), alertsBox)));

  function sourceLine(c) {
    const el = boxes.get(c.metric).parentElement.querySelector(".chart-source");
    const fromApi = history.has(c.metric);
    el.dataset.source = fromApi ? "influx" : "live";
    el.textContent = fromApi ? "Last hour from InfluxDB (mean per bucket)" : "Live values since this console opened";
  }

  function draw(metric) {
    const c = CHARTS.find((x) => x.metric === metric);
    sourceLine(c);
    const compared = c.compare ? seriesOf(c.compare.metric).map((s) => ({ ...s, label: `${s.label} ${c.compare.label}` })) : [];
    const chart = drawContentChart(boxes.get(metric), charts.get(metric), history.get(metric) || [...seriesOf(metric), ...compared], c,
      { emptyText: history.has(metric) ? "No points in the last hour." : c.empty });
    if (chart) charts.set(metric, chart); else charts.delete(metric);
  }

  /** History of every chart that InfluxDB has; a 503 switches the page to live-only points. */
  async function loadHistories() {
    const withQuery = CHARTS.filter((c) => c.query);
    const results = await Promise.all(withQuery.map((c) => loadChartHistory(c, {}, { only: c.only })
      .catch((err) => ({ series: [], unavailable: null, error: err }))));
    let unavailable = null;
    withQuery.forEach((c, i) => {
      const r = results[i];
      if (r.unavailable || r.error) {
        history.delete(c.metric);
        unavailable = unavailable || r.unavailable || r.error.message;
      } else history.set(c.metric, r.series);
    });
    note.dataset.mode = unavailable ? "live" : "influx";
    note.textContent = unavailable
      ? `No history: ${unavailable.replace(/\.$/, "")}. Showing the values the API reports and every live update received since this `
        + "console was opened (up to 720 points each)."
      : "Download time, bitrate, temperature and CPU: the last hour from InfluxDB, refreshed every minute. Playlist age: live values.";
  }

  const empty = hourlyBuckets([]);
  const alertChart = bars(empty.labels, empty.datasets, { stacked: true, label: "alerts per hour" });
  alertsBox.append(alertChart.box);
  async function loadAlerts() {
    const since = new Date(Date.now() - 24 * 3600e3).toISOString();
    alertChart.update(hourlyBuckets(rows(await api.get(PATHS.alerts, { since, limit: 1000 }))));
  }

  await Promise.all([loadHistories(), loadAlerts()]);
  CHARTS.forEach((c) => draw(c.metric));
  // Live points redraw only the charts that are not showing InfluxDB history.
  const redraw = throttle(() => CHARTS.forEach((c) => { if (!history.has(c.metric)) draw(c.metric); }), 500);
  const reloadAlerts = throttle(() => loadAlerts().catch(() => {}), 2000);
  const off = onSamples(redraw);
  const timer = setInterval(() => loadHistories().then(() => CHARTS.forEach((c) => draw(c.metric))).catch(() => {}), HISTORY_REFRESH_MS);
  return {
    refresh: () => { reloadAlerts(); loadHistories().then(() => CHARTS.forEach((c) => draw(c.metric))).catch(() => {}); },
    onLive(name) { if (name === "alert") reloadAlerts(); },
    unmount() { clearInterval(timer); off(); charts.forEach((c) => c.destroy()); alertChart.destroy(); },
  };
}
