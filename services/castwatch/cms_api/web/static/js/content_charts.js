// The probe content layer's three charts (issue #14, the seed's Video MOS, Audio Loudness and
// Bitrate charts), shared by the Metrics page (every channel) and the channel detail page (one
// channel): their definitions, their history from GET /series, and drawing one into its box.

import { timeLine, xAxis } from "./charts.js";
import { loadHistory } from "./history.js";
import { clear, h } from "./ui.js";

/** Chart definitions; `compare` is a second field of the same measurement drawn beside the first. */
export const CONTENT_CHARTS = [
  { metric: "mos", title: "Video MOS (P.1203.1 mode 0, 1–5)", unit: "", id: "chart-mos", yMin: 1,
    query: { measurement: "video_quality", field: "mos" },
    empty: "No MOS yet (the probe scores H.264 renditions it has decoded)." },
  { metric: "loudness", title: "Audio loudness (short-term, LUFS)", unit: " LUFS", id: "chart-loudness",
    query: { measurement: "content_audio", field: "short_term_lufs" }, band: [-28, -18],
    empty: "No loudness yet (the probe measures the decoded rendition's audio)." },
  { metric: "measured", title: "Bitrate measured from segments vs advertised (Mb/s)", unit: " Mb/s", id: "chart-measured",
    yMin: 0, query: { measurement: "video_quality", field: "measured_bps" }, scale: 1 / 1e6,
    compare: { metric: "advertised", field: "advertised_bps", label: "advertised" },
    empty: "No measured bitrate yet." },
];

/** Two flat series marking a chart's target band (EBU R128: -23 LUFS ± 5 LU) over its time span. */
export function withBand(data, band) {
  if (!band || !data.length) return data;
  const xs = data.flatMap((s) => s.points.map((p) => +new Date(p.x)));
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return [...data, ...band.map((y, i) => ({ label: i ? "target high" : "target low",
    points: [{ x: lo, y }, { x: hi, y }] }))];
}

/**
 * History of one chart from GET /series ({series, unavailable}, as loadHistory), `params` narrowing
 * it (e.g. {channel: code}). A chart with `compare` fetches both fields; the compared series are
 * labelled "<label> <compare.label>" (e.g. "360p advertised") and drawn after the measured ones.
 */
export async function loadChartHistory(c, params = {}, options = {}) {
  const main = await loadHistory({ ...c.query, ...params }, { scale: c.scale, ...options });
  if (!c.compare || main.unavailable) return main;
  const other = await loadHistory({ ...c.query, field: c.compare.field, ...params }, { scale: c.scale, ...options });
  if (other.unavailable) return main;
  return { ...main, series: [...main.series, ...other.series.map((s) => ({ ...s, label: `${s.label} ${c.compare.label}` }))] };
}

/**
 * Draws `data` ([{label, points}], the band added here) into `box`; `old` is the chart drawn there
 * before (updated in place when the series count is unchanged). Returns the chart now in the box
 * (null when there was nothing to draw and `emptyText` is shown instead).
 */
export function drawContentChart(box, old, data, c, { emptyText, small = false } = {}) {
  const full = withBand(data, c.band);
  if (!full.length) {
    if (old) old.destroy();
    clear(box, h("p.empty", { text: emptyText || c.empty || "No data reported yet." }));
    return null;
  }
  if (old && old.chart && old.chart.data.datasets.length === full.length) {
    full.forEach((s, i) => { old.chart.data.datasets[i].data = s.points; old.chart.data.datasets[i].label = s.label; });
    old.chart.options.scales.x = xAxis(full, 2 * 60e3);
    old.chart.update("none");
    return old;
  }
  if (old) old.destroy();
  const chart = timeLine(full, { unit: c.unit, label: c.title, yMin: c.yMin, small });
  clear(box, chart.box);
  return chart;
}
