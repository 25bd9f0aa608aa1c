// Demo inbox (castwatch up --demo only): the Telegram messages and emails castwatch sent to the
// demo's stand-ins (GET /api/v1/demo/inbox), newest first. A message's inline buttons are real
// buttons: pressing one sends that button's exact callback data back (POST
// /api/v1/demo/inbox/press), the stand-in hands it to the notifier like a press in Telegram, and
// the notifier acts (acknowledge → the alert changes everywhere) and edits the message, which
// this page shows on its next refresh. The page never builds callback data of its own.

import { api } from "../api.js";
import { clear, h, toast } from "../ui.js";

const REFRESH_MS = 3000;

function when(seconds) {
  return new Date(seconds * 1000).toLocaleString();
}

function messageCard(m, refresh, session) {
  const canPress = session.scope === "write" || session.scope === "admin";
  return h("article.card.inbox-message", { dataset: { chat: m.chat_id, message: m.message_id } },
    h("div.muted", { text: `chat ${m.chat_id} · message ${m.message_id} · ${when(m.at)}${m.edited ? " · edited" : ""}` }),
    h("pre.inbox-text", { text: m.text }),
    m.buttons.length ? h("div.actions", m.buttons.map((b) => h("button.btn", {
      type: "button", text: b.text, disabled: !canPress,
      title: canPress ? "Press this button as the chat's user" : "Pressing needs a write key",
      dataset: { data: b.data },
      on: { click: async (ev) => {
        ev.target.disabled = true;
        try {
          await api.post("/demo/inbox/press", { chat_id: m.chat_id, message_id: m.message_id, data: b.data });
          toast(`Pressed “${b.text}”; the notifier handles it like a press in Telegram.`);
          setTimeout(refresh, 1000);
        } catch (err) {
          toast(err.message || String(err), "error");
          ev.target.disabled = false;
        }
      } },
    }))) : null);
}

function emailCard(e) {
  return h("article.card.inbox-email", { dataset: { number: e.number } },
    h("div.muted", { text: `email ${e.number} · from ${e.mail_from} · to ${e.rcpt_to.join(", ")}` }),
    h("h3", { text: e.subject || "(no subject)" }),
    h("pre.inbox-text", { text: e.text }));
}

export async function mount(view, { session }) {
  const tg = h("div#inbox-telegram");
  const mail = h("div#inbox-email");
  clear(view,
    h("div.page-head", h("h1", { text: "Demo inbox" })),
    h("p.muted", { text: "What castwatch sent to the demo's Telegram stand-in and SMTP sink. Press a message's buttons as its recipient would in Telegram." }),
    h("div.grid.inbox", h("section", h("h2", { text: "Telegram" }), tg), h("section", h("h2", { text: "Email" }), mail)));

  let timer = null;
  let stopped = false;
  async function refresh() {
    clearTimeout(timer);
    try {
      const inbox = await api.get("/demo/inbox");
      const msgs = inbox.telegram;
      clear(tg, msgs === null ? h("p.empty", { text: "No Telegram stand-in in this demo." })
        : msgs.length ? msgs.map((m) => messageCard(m, refresh, session)) : h("p.empty", { text: "No Telegram message yet." }));
      const emails = inbox.email;
      clear(mail, emails === null ? h("p.empty", { text: "No SMTP sink in this demo." })
        : emails.length ? emails.map(emailCard) : h("p.empty", { text: "No email yet." }));
    } catch (err) {
      clear(tg, h("p.form-error", { text: err.message || String(err) }));
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }
  await refresh();
  return { refresh, unmount() { stopped = true; clearTimeout(timer); } };
}

/** Whether this API runs the demo inbox (the nav tab is shown only then). */
export async function available() {
  try {
    await api.get("/demo/inbox");
    return true;
  } catch {
    return false;
  }
}
