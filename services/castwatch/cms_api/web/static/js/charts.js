// Chart.js (vendored UMD build, global `Chart`) with the console's dark theme.

import { h } from "./ui.js";

export const COLORS = {
  critical: "#ef4444", major: "#f97316", minor: "#eab308", info: "#60a5fa",
  ok: "#22c55e", warning: "#f59e0b", unknown: "#64748b", disabled: "#334155",
  series: ["#38bdf8", "#a78bfa", "#22c55e", "#f59e0b", "#f472b6", "#2dd4bf", "#fb7185", "#facc15"],
};

let themed = false;
function theme() {
  if (themed || !window.Chart) return;
  const css = getComputedStyle(document.documentElement);
  const C = window.Chart;
  C.defaults.color = css.getPropertyValue("--muted").trim() || "#97a3b6";
  C.defaults.borderColor = css.getPropertyValue("--line").trim() || "#2a3547";
  C.defaults.font.family = css.getPropertyValue("--font").trim() || "system-ui";
  C.defaults.font.size = Math.max(12, parseFloat(css.fontSize) * 0.8 || 12);
  C.defaults.maintainAspectRatio = false;
  // No animation: a wall screen redraws all day, and a Pi has little CPU to spare.
  C.defaults.animation = false;
  C.defaults.plugins.legend.labels.boxWidth = 12;
  themed = true;
}

/**
 * A chart in a sized box. Returns {box, chart, update(data)}; when Chart.js is missing it renders a
 * note instead of failing the page.
 */
export function makeChart(config, { small = false, label = "chart" } = {}) {
  const canvas = h("canvas", { role: "img", "aria-label": label });
  const box = h("div.chart-box", { class: small ? "chart-box small" : "chart-box" }, canvas);
  if (!window.Chart) {
    box.replaceChildren(h("p.empty", { text: "Charts unavailable (Chart.js did not load)." }));
    return { box, chart: null, update() {}, destroy() {} };
  }
  theme();
  const chart = new window.Chart(canvas, config);
  return {
    box,
    chart,
    update(data) {
      chart.data.labels = data.labels;
      data.datasets.forEach((ds, i) => {
        if (chart.data.datasets[i]) Object.assign(chart.data.datasets[i], ds);
        else chart.data.datasets.push(ds);
      });
      chart.data.datasets.length = data.datasets.length;
      chart.update();
    },
    destroy() { chart.destroy(); },
  };
}

export function doughnut(labels, values, colors, label) {
  return makeChart({
    type: "doughnut",
    data: { labels, datasets: [{ data: values, backgroundColor: colors, borderWidth: 0 }] },
    options: { cutout: "62%", plugins: { legend: { position: window.innerWidth < 720 ? "bottom" : "right" } } },
  }, { small: true, label });
}

export function bars(labels, datasets, { stacked = false, horizontal = false, label } = {}) {
  return makeChart({
    type: "bar",
    data: { labels, datasets },
    options: {
      indexAxis: horizontal ? "y" : "x",
      scales: { x: { stacked, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
        y: { stacked, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { display: datasets.length > 1 } },
    },
  }, { small: true, label });
}

/** A line chart of points {x: epoch ms, y} per series, on a linear time axis (no date adapter needed). */
export function timeLine(series, { unit = "", label, small = false, yMin, windowMs = 2 * 60e3 } = {}) {
  const datasets = series.map((s, i) => ({
    label: s.label,
    data: s.points,
    borderColor: s.color || COLORS.series[i % COLORS.series.length],
    backgroundColor: (s.color || COLORS.series[i % COLORS.series.length]) + "33",
    borderWidth: 2,
    pointRadius: s.points.length > 60 ? 0 : s.points.length < 3 ? 4 : 2,
    tension: 0.2,
    fill: series.length === 1,
    spanGaps: false,
  }));
  return makeChart({
    type: "line",
    data: { datasets },
    options: {
      parsing: false,
      normalized: true,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: xAxis(series, windowMs),
        y: { min: yMin, ticks: { callback: (v) => `${v}${unit}` } },
      },
      plugins: {
        legend: { display: series.length > 1 },
        tooltip: { callbacks: { title: (items) => items.length ? new Date(items[0].parsed.x).toLocaleString() : "",
          label: (item) => `${item.dataset.label}: ${Number(item.parsed.y).toFixed(1)}${unit}` } },
      },
    },
  }, { small, label });
}

const STEPS_MIN = [1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440];

/**
 * The x-axis range and tick step: the last `windowMs` up to now, widened to the oldest point shown,
 * starting on a round clock time so the ticks read 07:45, 07:50, …
 */
export function timeWindow(series, windowMs, now = Date.now()) {
  let first = now - windowMs;
  for (const s of series) if (s.points.length) first = Math.min(first, s.points[0].x);
  let last = now;
  for (const s of series) if (s.points.length) last = Math.max(last, s.points[s.points.length - 1].x);
  const minutes = STEPS_MIN.find((m) => (last - first) / (m * 60e3) <= 4) || 1440;
  const step = minutes * 60e3;
  return { min: Math.floor(first / step) * step, max: last, ticks: { stepSize: step } };
}

/** A linear time axis over `timeWindow` with clock-time labels. */
export function xAxis(series, windowMs) {
  const w = timeWindow(series, windowMs);
  const step = w.ticks.stepSize;
  return { type: "linear", min: w.min, max: w.max,
    // Ticks on round clock times (Chart.js would otherwise split the range evenly).
    afterBuildTicks: (axis) => {
      const ticks = [];
      for (let v = Math.ceil(w.min / step) * step; v <= w.max && ticks.length < 50; v += step) ticks.push({ value: v });
      axis.ticks = ticks;
    },
    ticks: { maxRotation: 0, autoSkip: true, callback: (v) => clock(v) } };
}

function clock(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: false });
}
