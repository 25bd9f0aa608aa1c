// Metrics: time-series charts of segment download time, encoder bitrate, temperature and CPU, and
// alerts opened per hour. The API serves current values (no InfluxDB query endpoint yet), so the
// series are built in the browser from those values and every live update since the console opened.

import { api, rows } from "../api.js";
import { bars, timeLine, xAxis } from "../charts.js";
import { loadChannels, loadEncoders, PATHS } from "../data.js";
import { onSamples, recordChannel, recordEncoder, seriesOf } from "../samples.js";
import { clear, throttle, h } from "../ui.js";
import { hourlyBuckets } from "./alerts.js";

const CHARTS = [
  { metric: "age", title: "Playlist age (oldest rendition, s since it changed)", unit: " s", id: "chart-age", yMin: 0 },
  { metric: "download", title: "Segment download time", unit: " ms", id: "chart-download",
    empty: "No segment download times in the channels' latest checks yet (the probe times a sample of segments)." },
  { metric: "bitrate", title: "Encoder output bitrate", unit: " Mb/s", id: "chart-bitrate" },
  { metric: "temperature", title: "Encoder temperature", unit: " °C", id: "chart-temperature" },
  { metric: "cpu", title: "Encoder CPU", unit: " %", id: "chart-cpu", yMin: 0 },
];

export async function mount(view) {
  const [channels, encoders] = await Promise.all([loadChannels(), loadEncoders().catch(() => [])]);
  channels.forEach(recordChannel);
  encoders.forEach(recordEncoder);

  const boxes = new Map();
  const charts = new Map();
  const alertsBox = h("div");
  clear(view,
    h("div.page-head", h("h1", { text: "Metrics" })),
    h("p.note", { text: "Series are drawn from the values the API reports and every live update received since this console "
      + "was opened (up to 720 points each). Longer history is in Grafana (InfluxDB)." }),
    h("div.grid.cols-2",
      CHARTS.map((c) => {
        const box = h("div", { id: c.id });
        boxes.set(c.metric, box);
        return h("section.card", h("h2", { text: c.title }), box);
      }),
      h("section.card", h("h2", { text: "Alerts opened per hour (24 h)" }), alertsBox)));

  function draw(metric) {
    const c = CHARTS.find((x) => x.metric === metric);
    const data = seriesOf(metric);
    const box = boxes.get(metric);
    const old = charts.get(metric);
    if (!data.length) {
      if (old) { old.destroy(); charts.delete(metric); }
      clear(box, h("p.empty", { text: c.empty || "No data reported yet." }));
      return;
    }
    if (old && old.chart && old.chart.data.datasets.length === data.length) {
      data.forEach((s, i) => { old.chart.data.datasets[i].data = s.points; old.chart.data.datasets[i].label = s.label; });
      old.chart.options.scales.x = xAxis(data, 2 * 60e3);
      old.chart.update("none");
      return;
    }
    if (old) old.destroy();
    const chart = timeLine(data, { unit: c.unit, label: c.title, yMin: c.yMin });
    charts.set(metric, chart);
    clear(box, chart.box);
  }

  const empty = hourlyBuckets([]);
  const alertChart = bars(empty.labels, empty.datasets, { stacked: true, label: "alerts per hour" });
  alertsBox.append(alertChart.box);
  async function loadAlerts() {
    const since = new Date(Date.now() - 24 * 3600e3).toISOString();
    alertChart.update(hourlyBuckets(rows(await api.get(PATHS.alerts, { since, limit: 1000 }))));
  }

  CHARTS.forEach((c) => draw(c.metric));
  await loadAlerts();
  const redraw = throttle(() => CHARTS.forEach((c) => draw(c.metric)), 500);
  const reloadAlerts = throttle(() => loadAlerts().catch(() => {}), 2000);
  const off = onSamples(redraw);
  return {
    refresh: () => { reloadAlerts(); redraw(); },
    onLive(name) { if (name === "alert") reloadAlerts(); },
    unmount() { off(); charts.forEach((c) => c.destroy()); alertChart.destroy(); },
  };
}
