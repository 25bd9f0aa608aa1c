// Add / edit a channel. The API is the validator: its field errors are shown next to the field.

import { api, ApiError } from "../api.js";
import { loadGroups, loadProbes, loadTemplates, PATHS } from "../data.js";
import { cleanMessage, clear, clearFieldErrors, fieldInput, h, showFieldError, toast } from "../ui.js";

/** Sends the changed fields of channel `id` (PUT keeps omitted fields). */
export function updateChannel(id, body) {
  return api.put(`${PATHS.channels}/${id}`, body);
}

function options(rows, label, none) {
  return [["", none], ...rows.map((r) => [String(r.id), label(r)])];
}

/** The form fields of a channel, with `c` (an API row) as the current values. */
function fieldsFor(c, templates, probes, groups) {
  return [
    { name: "channel_code", label: "Code", required: true, value: c.channel_code, placeholder: "CH_NEWS_HD",
      hint: "letters, digits, _ . - (max 64)" },
    { name: "channel_name", label: "Name", required: true, value: c.channel_name },
    { name: "input_url", label: "Master playlist / MPD URL", required: true, value: c.input_url, wide: true,
      type: "url", placeholder: "https://origin.example/live/news/master.m3u8",
      hint: "an http:// or https:// URL of the master playlist (.m3u8) or MPD (.mpd)" },
    { name: "channel_type", label: "Type", type: "select", value: c.channel_type || "LIVE", options: ["LIVE", "EVENT", "VOD"] },
    { name: "tier", label: "Tier", type: "select", value: String(c.tier || 2),
      options: [["1", "1 — most important"], ["2", "2"], ["3", "3"]] },
    { name: "protocol", label: "Protocol", type: "select", value: c.protocol || "",
      options: [["", "from the URL"], ["HLS", "HLS"], ["DASH", "DASH"]] },
    { name: "template_id", label: "Template (ABR ladder)", type: "select", value: c.template_id ?? "",
      options: options(templates, (t) => `${t.name} (${(t.renditions || []).length} rungs)`, "none") },
    { name: "probe_id", label: "Probe", type: "select", value: c.probe_id ?? "",
      options: options(probes, (p) => `${p.name} (${p.status})`, "any probe") },
    { name: "encoder_group_id", label: "Encoder group", type: "select", value: c.encoder_group_id ?? "",
      options: options(groups, (g) => g.name, "none") },
    { name: "enabled", label: "Enabled (monitored)", type: "checkbox", value: c.enabled ?? true },
  ];
}

/** Form values → API body (ids and tier as numbers, blanks as null/omitted). */
export function toBody(values, creating) {
  const body = {};
  for (const [k, v] of Object.entries(values)) {
    if (["template_id", "probe_id", "encoder_group_id"].includes(k)) body[k] = v === "" ? null : Number(v);
    else if (k === "tier") body[k] = Number(v);
    else if (k === "protocol") { if (v) body[k] = v; }
    else body[k] = v;
  }
  if (creating) for (const k of ["template_id", "probe_id", "encoder_group_id"]) if (body[k] === null) delete body[k];
  return body;
}

export async function mount(view, ctx) {
  const id = ctx.channelId;
  const creating = id === null;
  const [channel, templates, probes, groups] = await Promise.all([
    creating ? Promise.resolve({}) : api.get(`${PATHS.channels}/${id}`),
    loadTemplates(), loadProbes(), loadGroups().catch(() => []),
  ]);
  const inputs = fieldsFor(channel, templates, probes, groups).map(fieldInput);
  const formError = h("p.form-error#form-error", { role: "alert" });
  const submit = h("button.btn.primary", { type: "submit", text: creating ? "Create channel" : "Save changes" });
  const cancelHref = creating ? "#/channels" : `#/channels/${id}`;
  const form = h("form.card#channel-form", { novalidate: true },
    h("div.form-grid", inputs.map((i) => { if (["input_url"].includes(i.name)) i.wrap.classList.add("wide"); return i.wrap; })),
    formError,
    h("div.form-actions", h("a.btn.ghost", { href: cancelHref, text: "Cancel" }), submit));

  const initial = Object.fromEntries(inputs.map((i) => [i.name, i.value()]));
  form.addEventListener("input", (e) => {
    const f = e.target.closest(".field");
    if (f) { f.classList.remove("invalid"); const s = f.querySelector(".field-error"); if (s) s.textContent = ""; }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    formError.textContent = "";
    const values = Object.fromEntries(inputs.map((i) => [i.name, i.value()]));
    let missing = false;
    for (const i of inputs) {
      if (i.required && !values[i.name]) { showFieldError(form, i.name, "This field is required."); missing = true; }
    }
    if (missing) return;
    let body = toBody(values, creating);
    if (!creating) {
      const before = toBody(initial, false);
      body = Object.fromEntries(Object.entries(body).filter(([k, v]) => before[k] !== v));
      if (Object.keys(body).length === 0) { location.hash = cancelHref; return; }
    }
    submit.disabled = true;
    try {
      const saved = creating ? await api.post(PATHS.channels, body) : await updateChannel(id, body);
      toast(creating ? `Channel ${saved.channel_code} created.` : "Channel saved.", "ok");
      location.hash = `#/channels/${saved.id}`;
    } catch (err) {
      showApiError(form, formError, err);
    } finally {
      submit.disabled = false;
    }
  });

  clear(view,
    h("div.page-head", h("h1", { text: creating ? "Add channel" : `Edit ${channel.channel_name}` })),
    form);
  form.querySelector("input").focus();
  return {};
}

/** Puts an ApiError next to its field (the top-level part of a dotted path) or above the buttons. */
export function showApiError(form, formError, err) {
  const field = err instanceof ApiError && err.field ? String(err.field).split(".")[0] : null;
  const message = friendlyMessage(form, field, err.message || String(err));
  if (!(field && showFieldError(form, field, message))) formError.textContent = cleanMessage(message);
  const bad = form.querySelector(".field.invalid input, .field.invalid select");
  if (bad) bad.focus();
}

/**
 * The API's message, shown next to its field: without the repeated field name, and with the
 * field's own hint instead of a regular expression when the value had the wrong format.
 */
export function friendlyMessage(form, field, message) {
  if (!field) return cleanMessage(message);
  const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
  const wrap = input && input.closest(".field");
  if (!wrap) return message;
  let msg = cleanMessage(message).replace(new RegExp(`^${field}[\\w.]*:\\s*`, "i"), "");
  const hint = wrap.querySelector("small");
  if (hint && /should match pattern/i.test(msg)) msg = `Wrong format: expected ${hint.textContent}.`;
  const label = (wrap.querySelector("span") || {}).textContent || "";
  msg = msg.replace(new RegExp(`^${field}\\b`), label.replace(/ \*$/, ""));
  return msg.charAt(0).toUpperCase() + msg.slice(1);
}
