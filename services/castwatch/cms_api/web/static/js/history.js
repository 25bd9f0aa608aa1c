// History from the API's GET /series (InfluxDB or VictoriaMetrics behind it), as chart series.
// When the API answers 503 (no InfluxDB configured, or it is down) the caller falls back to the
// points received live since the console opened, and says so on the page.

import { api } from "./api.js";
import { PATHS } from "./data.js";

/** The label of one API series: its tag values ("CH_NEWS 720p", "enc-a"), or the given tag only. */
export function seriesLabel(tags, only = null) {
  if (only && tags[only]) return tags[only];
  return Object.values(tags || {}).filter(Boolean).join(" ") || "all";
}

/** API series → [{label, points: [{x, y}]}], scaled: the `limit` with the highest mean, by label. */
export function toChartSeries(answer, { scale = 1, only = null, limit = 8 } = {}) {
  const out = (answer.series || []).filter((s) => s.points && s.points.length).map((s) => ({
    label: seriesLabel(s.tags, only),
    points: s.points.map(([x, y]) => ({ x, y: y * scale })),
  }));
  const mean = (s) => s.points.reduce((a, p) => a + p.y, 0) / s.points.length;
  // The busiest (highest) `limit`, then by name, so an encoder keeps its colour from chart to chart.
  return out.sort((a, b) => mean(b) - mean(a)).slice(0, limit).sort((a, b) => a.label.localeCompare(b.label, undefined, { numeric: true }));
}

/**
 * Fetches one field's history: {series, unavailable} where `unavailable` is null on success and
 * the API's explanation when it answered 503. Other errors are thrown.
 */
export async function loadHistory(params, options = {}) {
  try {
    const answer = await api.get(PATHS.series, { since: "1h", ...params });
    return { series: toChartSeries(answer, options), unavailable: null, answer };
  } catch (err) {
    if (err.status === 503) return { series: [], unavailable: err.message || "Time series are unavailable." };
    throw err;
  }
}
