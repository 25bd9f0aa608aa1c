// Schedules: the sources the schedule monitor imports (GET /api/v1/schedules/sources) and, on a
// source's page (#/schedules/<id>), its last import and a preview: what an import would store
// now and what it would ignore, and why (POST /api/v1/schedules/sources/<id>/preview; saves
// nothing). A station checks a new source here before it drives alerts.

import { api, rows } from "../api.js";
import { clear, fmtTime, h, relTime } from "../ui.js";

const PATH = "/schedules/sources";

function statusOf(src) {
  if (!src.enabled) return h("span.badge", { text: "DISABLED" });
  if (src.last_error) return h("span.sev", { dataset: { sev: "minor" }, text: "FAILING" });
  if (!src.last_import_at) return h("span.badge", { text: "NOT YET IMPORTED" });
  return h("span.state", { dataset: { state: "resolved" }, text: "OK" });
}

export async function mount(view, ctx) {
  const id = Number(ctx.args[0]) || null;
  return id ? mountSource(view, ctx, id) : mountList(view);
}

async function mountList(view) {
  const sources = rows(await api.get(PATH));
  clear(view,
    h("div.page-head", h("h1", { text: "Schedules" }), h("span.muted", { text: `${sources.length} sources` })),
    h("p.muted", { text: "Where each channel's schedule comes from. Open a source to see its last import and preview the next one." }),
    h("section.card", sources.length === 0 ? h("p.empty", { text: "No schedule source yet (POST /api/v1/schedules/sources)." })
      : h("div.table-wrap", h("table.responsive#sources-table",
        h("thead", h("tr", ["Source", "Kind", "Channel", "Status", "Last import"].map((t) => h("th", { text: t })))),
        h("tbody", sources.map((s) => h("tr", { dataset: { id: s.id } },
          h("td", { dataset: { label: "Source" } }, h("a", { href: `#/schedules/${s.id}`, text: s.name })),
          h("td", { dataset: { label: "Kind" }, text: s.kind }),
          h("td", { dataset: { label: "Channel" }, text: String(s.channel_id) }),
          h("td", { dataset: { label: "Status" } }, statusOf(s)),
          h("td", { dataset: { label: "Last import" }, title: fmtTime(s.last_import_at), text: s.last_import_at ? relTime(s.last_import_at) : "never" }))))))));
  return {};
}

function itemRow(i) {
  return h("tr", { dataset: { status: i.status, kind: i.kind } },
    h("td", { dataset: { label: "Starts" }, text: fmtTime(i.starts_at) }),
    h("td", { dataset: { label: "Title" }, text: i.title }),
    h("td", { dataset: { label: "Kind" }, text: i.kind }),
    h("td", { dataset: { label: "Status" } }, i.status === "cancelled" ? h("span.badge", { text: "CANCELLED" }) : h("span", { text: "scheduled" })));
}

/** The preview's two lists: what would be imported, and what was read but ignored (and why). */
export function renderPreview(box, p) {
  clear(box,
    p.error ? h("p.form-error#preview-error", { text: `This import would fail: ${p.error}. The source's current items would be kept.` })
      : h("p#preview-ok", { text: `This import would store ${p.would_import.length} items (${fmtTime(p.window_start)} – ${fmtTime(p.window_end)}).` }),
    h("h3", { text: `Would import (${p.would_import.length})` }),
    p.would_import.length === 0 ? h("p.empty", { text: "Nothing." })
      : h("div.table-wrap", h("table.responsive#preview-items",
        h("thead", h("tr", ["Starts", "Title", "Kind", "Status"].map((t) => h("th", { text: t })))),
        h("tbody", p.would_import.map(itemRow)))),
    h("h3", { text: `Ignored (${p.ignored_total})` }),
    p.ignored.length === 0 ? h("p.empty", { text: "Nothing ignored." })
      : h("div.table-wrap", h("table.responsive#preview-ignored",
        h("thead", h("tr", ["What was read", "Why it was ignored"].map((t) => h("th", { text: t })))),
        h("tbody", p.ignored.map((i) => h("tr",
          h("td.mono", { dataset: { label: "Read" }, text: i.text }),
          h("td", { dataset: { label: "Why" }, text: i.reason })))))));
}

async function mountSource(view, ctx, id) {
  const sources = rows(await api.get(PATH));
  const src = sources.find((s) => s.id === id);
  if (!src) {
    clear(view, h("div.card", h("h2", { text: "No such schedule source" }), h("a", { href: "#/schedules", text: "All sources" })));
    return {};
  }
  const box = h("div#preview-box", h("p.muted", { text: "Fetch the source now and see what an import would store and what it would ignore. Nothing is saved." }));
  const canWrite = ctx.session.scope !== "read";
  const button = h("button.btn.primary#preview-btn", { type: "button", text: "Preview import", disabled: !canWrite,
    title: canWrite ? "" : "needs a write key", on: { click: preview } });
  async function preview() {
    button.disabled = true;
    clear(box, h("p.spinner", { text: "Fetching the source…" }));
    try {
      renderPreview(box, await api.post(`${PATH}/${id}/preview`));
    } catch (err) {
      clear(box, h("p.form-error", { text: err.message || String(err) }));
    } finally {
      button.disabled = !canWrite;
    }
  }
  const stats = src.last_import_stats || {};
  clear(view,
    h("div.page-head", h("h1", { text: src.name }), statusOf(src)),
    h("p", h("a", { href: "#/schedules", text: "← All sources" })),
    h("section.card#source-detail", h("dl.kv",
      h("dt", { text: "Kind" }), h("dd", { text: src.kind }),
      h("dt", { text: "URL" }), h("dd.mono", { text: src.url }),
      h("dt", { text: "Channel" }), h("dd", { text: String(src.channel_id) }),
      h("dt", { text: "Time zone" }), h("dd", { text: src.timezone || (src.options && src.options.timezone) || "UTC" }),
      h("dt", { text: "Last import" }), h("dd", { text: src.last_import_at ? `${fmtTime(src.last_import_at)} (${relTime(src.last_import_at)})` : "never" }),
      h("dt", { text: "Last error" }), h("dd#source-error", { text: src.last_error || "none" }),
      h("dt", { text: "Last good import found" }), h("dd", { text: stats.found === undefined ? "—" : `${stats.found} entries, ignored ${stats.ignored ?? 0}` }))),
    h("section.card#source-preview", h("div.btn-row", h("h2", { text: "Preview" }), button), box));
  return {};
}
