// DOM and formatting helpers. Everything goes through textContent: no API datum is ever parsed as HTML.

/** h("div.card#id", {attrs, on: {click}}, ...children) builds an element. */
export function h(spec, attrs = {}, ...children) {
  const m = /^([a-z0-9-]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  const el = document.createElement((m && m[1]) || "div");
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === ".") el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") {
      for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    } else if (key === "dataset") {
      for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) el.dataset[k] = String(v);
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function $(sel, root = document) { return root.querySelector(sel); }

// ---- formatting ----
export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function relTime(iso, now = Date.now()) {
  if (!iso) return "never";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return String(iso);
  const s = Math.round((now - t) / 1000);
  const abs = Math.abs(s);
  const unit = abs < 60 ? [abs, "s"] : abs < 3600 ? [Math.round(abs / 60), "min"]
    : abs < 86400 ? [Math.round(abs / 3600), "h"] : [Math.round(abs / 86400), "d"];
  return s >= 0 ? `${unit[0]} ${unit[1]} ago` : `in ${unit[0]} ${unit[1]}`;
}

export function fmtBitrate(bps) {
  if (bps === null || bps === undefined || bps === "") return "—";
  const n = Number(bps);
  if (!Number.isFinite(n)) return String(bps);
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)} Mb/s`;
  if (n >= 1e3) return `${Math.round(n / 1e3)} kb/s`;
  return `${n} b/s`;
}

export function fmtNum(v, digits = 1, unit = "") {
  if (v === null || v === undefined || v === "") return "—";
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  return `${Number.isInteger(n) ? n : n.toFixed(digits)}${unit}`;
}

export function sevBadge(sev) { return h("span.sev", { dataset: { sev }, text: sev || "?" }); }
export function stateBadge(state) { return h("span.state", { dataset: { state }, text: state || "?" }); }
export function light(status, title) {
  return h("span.light", { dataset: { status: status || "unknown" }, title: title || status || "unknown", role: "img", "aria-label": status || "unknown" });
}

// ---- toasts ----
export function toast(message, kind = "info", ms = 4000) {
  const box = document.getElementById("toasts");
  const el = h("div.toast", { dataset: { kind }, role: kind === "error" ? "alert" : "status", text: message });
  box.append(el);
  setTimeout(() => el.remove(), ms);
}

// ---- dialogs ----
/**
 * Shows a modal <dialog> with `fields` (array of {name,label,type,required,value,options}) and resolves
 * with the values on confirm, or null on cancel. `onSubmit(values)` may throw an ApiError; its message
 * (and field) is then shown in the dialog, which stays open.
 */
export function formDialog({ title, body, fields = [], confirm = "OK", danger = false, onSubmit }) {
  const dlg = document.getElementById("dialog");
  return new Promise((resolve) => {
    const error = h("p.form-error", { role: "alert" });
    const inputs = fields.map((f) => fieldInput(f));
    const submit = h("button.btn", { type: "submit", class: danger ? "btn danger" : "btn primary", text: confirm });
    const cancel = h("button.btn.ghost", { type: "button", text: "Cancel", on: { click: () => finish(null) } });
    const form = h("form", { method: "dialog", novalidate: true },
      h("h2", { text: title }), body ? h("p", {}, body) : null, ...inputs.map((i) => i.wrap), error,
      h("div.form-actions", cancel, submit));
    let done = false;
    function finish(value) {
      if (done) return;
      done = true;
      dlg.close();
      dlg.replaceChildren(); // nothing shown in a dialog (a new API key) stays in the page
      resolve(value);
    }
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const values = {};
      let ok = true;
      for (const i of inputs) {
        values[i.name] = i.value();
        if (i.required && !values[i.name]) { showFieldError(form, i.name, "required"); ok = false; }
      }
      if (!ok) return;
      if (!onSubmit) return finish(values);
      submit.disabled = true;
      try {
        await onSubmit(values);
        finish(values);
      } catch (err) {
        const msg = cleanMessage(err.message || String(err));
        if (err.field && form.querySelector(`[data-error-for="${CSS.escape(err.field)}"]`)) showFieldError(form, err.field, msg);
        else error.textContent = msg;
      } finally {
        submit.disabled = false;
      }
    });
    dlg.addEventListener("cancel", () => finish(null), { once: true });
    clear(dlg, form);
    dlg.showModal();
    (form.querySelector("input,textarea,select") || submit).focus();
  });
}

/** An API message without pydantic's plumbing ("body: Value error, …"), capitalised. */
export function cleanMessage(message) {
  const msg = String(message).replace(/^(body|query):\s*/, "").replace(/^Value error,\s*/i, "");
  return msg.charAt(0).toUpperCase() + msg.slice(1);
}

export function confirmDialog(title, body, confirm = "Confirm", danger = true) {
  return formDialog({ title, body, confirm, danger }).then((v) => v !== null);
}

/** One labelled input with its error slot; returns {wrap, name, value(), required}. */
export function fieldInput(f) {
  let input;
  if (f.type === "select") {
    input = h("select", { name: f.name }, (f.options || []).map((o) => {
      const [value, label] = Array.isArray(o) ? o : [o, o];
      return h("option", { value, text: label, selected: String(f.value ?? "") === String(value) });
    }));
  } else if (f.type === "textarea") {
    input = h("textarea", { name: f.name, placeholder: f.placeholder, text: f.value ?? "" });
  } else if (f.type === "checkbox") {
    input = h("input", { type: "checkbox", name: f.name, checked: Boolean(f.value) });
  } else {
    input = h("input", { type: f.type || "text", name: f.name, value: f.value ?? "", placeholder: f.placeholder,
      min: f.min, max: f.max, step: f.step, required: f.required, autocomplete: "off" });
  }
  const wrap = h(f.type === "checkbox" ? "label.field.check" : "label.field", { class: f.wide ? "field wide" : undefined },
    f.type === "checkbox" ? [input, h("span", { text: f.label })] : [h("span", { text: f.label + (f.required ? " *" : "") }), input],
    f.hint ? h("small.muted", { text: f.hint }) : null,
    h("span.field-error", { dataset: { errorFor: f.name } }));
  if (f.type === "checkbox") wrap.className = "field check";
  return {
    wrap, input, name: f.name, required: f.required,
    value: () => (f.type === "checkbox" ? input.checked : input.value.trim()),
  };
}

export function showFieldError(form, field, message) {
  const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
  if (!slot) return false;
  slot.textContent = message;
  slot.closest(".field")?.classList.add("invalid");
  return true;
}

export function clearFieldErrors(form) {
  for (const s of form.querySelectorAll("[data-error-for]")) s.textContent = "";
  for (const f of form.querySelectorAll(".field.invalid")) f.classList.remove("invalid");
}

/**
 * Runs fn once, `ms` after a burst of calls ends (for typing). Never for live events: a steady
 * stream of events would postpone it forever — use throttle.
 */
export function debounce(fn, ms = 300) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/**
 * Runs fn at most once per `ms`, with the latest arguments, and always after the last call: live
 * events are coalesced, and a steady stream of them still redraws every `ms`.
 */
export function throttle(fn, ms = 300) {
  let timer = null;
  let lastArgs = [];
  return (...args) => {
    lastArgs = args;
    if (timer) return;
    timer = setTimeout(() => { timer = null; fn(...lastArgs); }, ms);
  };
}
