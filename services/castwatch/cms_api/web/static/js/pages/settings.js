// Settings: recipients, notification rules, maintenance windows, deliveries, and API keys (admin).

import { api, listAll, rows } from "../api.js";
import { PATHS, ROLES, SEVERITIES } from "../data.js";
import { clear, confirmDialog, throttle, fmtTime, formDialog, h, relTime, toast } from "../ui.js";

const list = (s) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : []);
const yes = (v) => (v ? "yes" : "no");

/** The sections; each is a resource list with its columns, create form and row actions. */
function sections(session) {
  const admin = session.scope === "admin";
  const write = session.scope !== "read";
  return [
    {
      id: "recipients", title: "Recipients", path: PATHS.recipients,
      columns: [["Name", (r) => r.name], ["Role", (r) => r.role],
        ["Telegram", (r) => (r.telegram_chat_id ? `${r.telegram_username ? `@${r.telegram_username} ` : ""}${r.telegram_chat_id}${r.telegram_enabled ? "" : " (off)"}` : "—")],
        ["Email", (r) => (r.email ? `${r.email}${r.email_enabled ? "" : " (off)"}` : "—")],
        ["Other", (r) => (r.addresses || []).filter((a) => a.kind !== "telegram" && a.kind !== "email")
          .map((a) => `${a.kind} ${a.value}${a.enabled ? "" : " (off)"}`).join(", ") || "—"],
        ["Enabled", (r) => (r.enabled ? "yes" : `no${r.disabled_reason ? ` — ${r.disabled_reason}` : ""}`)], ["Admin", (r) => yes(r.is_admin)], ["TZ", (r) => r.timezone]],
      create: write && {
        fields: [{ name: "name", label: "Name", required: true }, { name: "role", label: "Role", type: "select", options: ROLES },
          { name: "email", label: "Email" }, { name: "telegram_chat_id", label: "Telegram chat id" },
          { name: "timezone", label: "Time zone", value: "UTC" }],
        body: (v) => ({ name: v.name, role: v.role, email: v.email || undefined, timezone: v.timezone || "UTC",
          telegram_chat_id: v.telegram_chat_id ? Number(v.telegram_chat_id) : undefined }),
      },
      toggle: write && "enabled", remove: write,
    },
    {
      id: "rules", title: "Notification rules", path: PATHS.rules,
      columns: [["Name", (r) => r.name], ["Enabled", (r) => yes(r.enabled)], ["Priority", (r) => r.priority],
        ["Matches", (r) => summarizeMatch(r.match)], ["Who", (r) => [...(r.roles || []), ...(r.recipient_ids || []).map((i) => `#${i}`)].join(", ") || "—"],
        ["Via", (r) => (r.transports || []).join(", ")], ["Wait / repeat", (r) => `${r.group_wait_s}s / ${r.repeat_interval_s ? `${r.repeat_interval_s}s` : "—"}`],
        ["Escalation", (r) => (r.escalation || []).map((s) => `${s.after_s}s→${s.roles.join("+")}`).join(", ") || "—"]],
      create: write && {
        fields: [{ name: "name", label: "Name", required: true },
          { name: "severities", label: "Severities (comma separated)", placeholder: SEVERITIES.join(", ") },
          { name: "roles", label: "Roles (comma separated)", placeholder: ROLES.join(", ") },
          { name: "transports", label: "Transports", value: "telegram, email" },
          { name: "group_wait_s", label: "Group wait (s)", type: "number", value: "30" }],
        body: (v) => ({ name: v.name, roles: list(v.roles), transports: list(v.transports),
          group_wait_s: Number(v.group_wait_s || 0), match: list(v.severities).length ? { severities: list(v.severities) } : {} }),
        fieldOf: (f) => (f.startsWith("match") ? "severities" : f),
      },
      toggle: write && "enabled", remove: write,
    },
    {
      id: "windows", title: "Maintenance windows", path: PATHS.windows,
      columns: [["Name", (r) => r.name], ["When", windowWhen], ["Scope", (r) => windowScope(r)], ["Reason", (r) => r.reason || "—"]],
      create: write && {
        fields: [{ name: "name", label: "Name", required: true },
          { name: "kind", label: "When", type: "select", options: [["once", "Once (from … to …)"], ["weekly", "Every week"]] },
          { name: "starts_at", label: "Starts (once)", type: "datetime-local" },
          { name: "ends_at", label: "Ends (once)", type: "datetime-local" },
          { name: "weekdays", label: "Days (weekly)", placeholder: "Mon, Wed" },
          { name: "start_time", label: "Start time (weekly)", type: "time" },
          { name: "duration_minutes", label: "Duration in minutes (weekly)", type: "number", min: 1 },
          { name: "timezone", label: "Time zone", value: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" },
          { name: "channels", label: "Only these channel codes (blank = everything)", placeholder: "CH_COUNCIL, CH_NEWS" },
          { name: "reason", label: "Reason" }],
        body: windowBody,
      },
      remove: write,
    },
    {
      id: "deliveries", title: "Deliveries", path: PATHS.deliveries, params: { limit: 50 },
      columns: [["When", (r) => relTime(r.created_at)], ["Recipient", (r) => r.recipient || `#${r.recipient_id}`],
        ["Via", (r) => r.transport], ["Kind", (r) => r.kind], ["Alert", (r) => (r.alert_id ? `#${r.alert_id}` : "—")],
        ["Status", (r) => r.status], ["Attempts", (r) => r.attempts ?? "—"], ["Sent", (r) => (r.sent_at ? relTime(r.sent_at) : "—")],
        ["Error", (r) => r.last_error || "—"]],
    },
    admin && {
      id: "keys", title: "API keys", path: PATHS.keys,
      columns: [["Name", (r) => r.name], ["Prefix", (r) => r.prefix], ["Scope", (r) => r.scope], ["Created", (r) => fmtTime(r.created_at)],
        ["Expires", (r) => (r.expires_at ? fmtTime(r.expires_at) : "never")], ["Last used", (r) => relTime(r.last_used_at)],
        ["State", (r) => `${r.state || (r.revoked_at ? "revoked" : "active")}${r.id === session.keyId ? " (this session)" : ""}`]],
      create: {
        fields: [{ name: "name", label: "Name", required: true }, { name: "scope", label: "Scope", type: "select", options: ["read", "write", "admin"] },
          { name: "expires_in_days", label: "Expires in (days, blank = never)", type: "number", value: "90", min: 1 }],
        body: (v) => ({ name: v.name, scope: v.scope, expires_in_days: v.expires_in_days ? Number(v.expires_in_days) : null }),
        done: (created) => created && created.key && formDialog({ title: "New API key",
          body: h("span", "Copy it now; it is not shown again: ", h("code.mono#new-key", { text: created.key })), confirm: "Done" }),
      },
      revoke: true,
    },
  ].filter(Boolean);
}

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** The maintenance-window form → API body; channel codes become ids (unknown code → field error). */
async function windowBody(v) {
  const body = { name: v.name, reason: v.reason || undefined, timezone: v.timezone || "UTC" };
  if (v.kind === "weekly") {
    const days = list(v.weekdays).map((d) => DAYS.indexOf(d.slice(0, 3).toLowerCase()));
    if (days.some((d) => d < 0)) throw fieldError("weekdays", "Use day names: Mon, Tue, Wed, Thu, Fri, Sat, Sun.");
    Object.assign(body, { weekdays: days, start_time: v.start_time || undefined,
      duration_minutes: v.duration_minutes ? Number(v.duration_minutes) : undefined });
  } else {
    Object.assign(body, { starts_at: v.starts_at ? new Date(v.starts_at).toISOString() : undefined,
      ends_at: v.ends_at ? new Date(v.ends_at).toISOString() : undefined });
  }
  const codes = list(v.channels);
  if (codes.length) {
    const byCode = new Map((await listAll(PATHS.channels, {}, 5000)).map((c) => [c.channel_code.toLowerCase(), c.id]));
    const unknown = codes.filter((c) => !byCode.has(c.toLowerCase()));
    if (unknown.length) throw fieldError("channels", `Unknown channel code: ${unknown.join(", ")}`);
    body.channel_ids = codes.map((c) => byCode.get(c.toLowerCase()));
  }
  return body;
}

function fieldError(field, message) {
  return Object.assign(new Error(message), { field });
}

function summarizeMatch(m) {
  if (!m || !Object.keys(m).length) return "everything";
  return Object.entries(m).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join("/") : typeof v === "object" ? JSON.stringify(v) : v}`).join("; ");
}
function windowWhen(w) {
  if (w.starts_at || w.ends_at) return `${fmtTime(w.starts_at)} → ${fmtTime(w.ends_at)}`;
  const days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  return `weekly ${(w.weekdays || []).map((d) => days[d]).join(",")} ${w.start_time || ""} for ${w.duration_minutes || "?"} min (${w.timezone || "UTC"})`;
}
function windowScope(w) {
  const parts = [["channels", w.channel_ids], ["encoders", w.encoder_ids], ["groups", w.group_ids]]
    .filter(([, ids]) => ids && ids.length).map(([k, ids]) => `${k} #${ids.join(", #")}`);
  return parts.join("; ") || "everything";
}

export async function mount(view, ctx) {
  const all = sections(ctx.session);
  let current = all.find((s) => s.id === ctx.query.get("tab")) || all[0];
  const tabs = h("div.tabs-inline", { role: "tablist" });
  const body = h("section.card#settings-section");
  clear(view, h("div.page-head", h("h1", { text: "Settings" })), tabs, body);

  async function show(sec) {
    current = sec;
    history.replaceState(null, "", `#/settings?tab=${sec.id}`);
    clear(tabs, all.map((s) => h("button.btn.small", { type: "button", role: "tab", "aria-pressed": String(s === sec), dataset: { tab: s.id }, text: s.title, on: { click: () => show(s) } })));
    clear(body, h("p.spinner", { text: "Loading…" }));
    let data;
    try { data = rows(await api.get(sec.path, sec.params || { limit: 500 })); } catch (err) {
      if (current !== sec) return;
      clear(body, h("h2", { text: sec.title }), h("p.empty", { text: err.status === 404 ? "The API does not offer this list yet." : err.message }));
      return;
    }
    if (current !== sec) return;
    const actions = sec.toggle || sec.remove || sec.revoke;
    clear(body,
      h("div.page-head", h("h2", { text: sec.title }), h("span.muted", { text: `${data.length}` }),
        sec.create ? h("button.btn.primary.small", { type: "button", id: `add-${sec.id}`, text: "Add", on: { click: () => create(sec) } }) : null),
      data.length === 0 ? h("p.empty", { text: "None yet." }) : h("div.table-wrap", h("table.responsive", { id: `${sec.id}-table` },
        h("thead", h("tr", sec.columns.map(([t]) => h("th", { text: t })), actions ? h("th") : null)),
        h("tbody", data.map((r) => h("tr", { dataset: { id: r.id } }, sec.columns.map(([t, fn]) => h("td", { dataset: { label: t }, text: String(fn(r) ?? "—") })),
          actions ? h("td.actions", h("div.btn-row",
            sec.toggle ? h("button.btn.small", { type: "button", text: r[sec.toggle] ? "Disable" : "Enable", on: { click: () => toggle(sec, r) } }) : null,
            sec.revoke && !r.revoked_at ? h("button.btn.small.danger", { type: "button", text: "Revoke", on: { click: () => revoke(sec, r) } }) : null,
            sec.remove ? h("button.btn.small", { type: "button", text: "Delete", on: { click: () => remove(sec, r) } }) : null)) : null))))));
  }

  async function create(sec) {
    let created = null;
    const ok = await formDialog({ title: `Add to ${sec.title.toLowerCase()}`, fields: sec.create.fields, confirm: "Create",
      onSubmit: async (values) => {
        try { created = await api.post(sec.path, await sec.create.body(values)); } catch (err) {
          if (err.field) err.field = (sec.create.fieldOf || ((f) => f))(String(err.field).split(".")[0]);
          throw err;
        }
      } });
    if (ok) {
      toast("Created.", "ok");
      if (sec.create.done) await sec.create.done(created);
      show(sec);
    }
  }
  async function toggle(sec, r) {
    try { await api.put(`${sec.path}/${r.id}`, { [sec.toggle]: !r[sec.toggle] }); show(sec); } catch (err) { toast(err.message, "error"); }
  }
  async function remove(sec, r) {
    if (!(await confirmDialog(`Delete ${r.name || `#${r.id}`}?`, "This cannot be undone.", "Delete"))) return;
    try { await api.del(`${sec.path}/${r.id}`); show(sec); } catch (err) { toast(err.message, "error"); }
  }
  async function revoke(sec, r) {
    if (!(await confirmDialog(`Revoke key ${r.name} (${r.prefix}…)?`, "Clients using it stop working within seconds. This cannot be undone.", "Revoke"))) return;
    try {
      await api.post(`${sec.path}/${r.id}/revoke`);
      toast(`Key ${r.name} revoked.`, "ok");
      show(sec);
    } catch (err) {
      if (err.code !== "own_key") { toast(err.message, "error"); return; }
      // The API refuses to revoke the caller's own key unless asked twice: this signs you out.
      if (!(await confirmDialog("Revoke the key you are signed in with?", "You will be signed out and need another key to sign in again.", "Revoke my key"))) return;
      try { await api.post(`${sec.path}/${r.id}/revoke`, { allow_self: true }); } catch (e) { toast(e.message, "error"); }
    }
  }

  await show(current);
  const reshow = throttle(() => show(current), 1000);
  return {
    refresh: () => show(current),
    onLive(name) { if (name === "delivery" && current.id === "deliveries") reshow(); },
  };
}
