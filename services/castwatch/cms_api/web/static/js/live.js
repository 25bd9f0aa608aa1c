// The live connection: Socket.IO namespace /live, authenticated with the API key.
// It tells listeners about each event, shows a banner when the connection drops and when it comes
// back, and asks the current page to refresh after a reconnect (events may have been missed).

// Events the API sends (cms_api/live.py): alert, alert_event, channel, encoder, encoder_group,
// failover_event, encoder_command, encoder_output, probe, delivery — each with the serialized row, or {id, deleted: true}.
let socket = null;
const listeners = new Set();
const reconnectListeners = new Set();
let everConnected = false;
let dropped = false;
let hideTimer = null;

/** Subscribes fn(eventName, payload) to every live event; returns the unsubscribe function. */
export function onLive(fn) { listeners.add(fn); return () => listeners.delete(fn); }
/** Subscribes fn() to "the connection came back" (refresh what may have been missed). */
export function onReconnect(fn) { reconnectListeners.add(fn); return () => reconnectListeners.delete(fn); }

function banner(kind, text) {
  const el = document.getElementById("live-banner");
  const dot = document.getElementById("live-dot");
  clearTimeout(hideTimer);
  if (dot) {
    dot.dataset.state = kind === "down" ? "down" : kind === "up" ? "live" : "connecting";
    dot.title = `Live updates: ${kind === "down" ? "disconnected" : kind === "up" ? "connected" : "connecting"}`;
  }
  if (!kind) { el.hidden = true; return; }
  el.dataset.kind = kind;
  el.textContent = text;
  el.hidden = false;
  if (kind === "up") hideTimer = setTimeout(() => { el.hidden = true; }, 4000);
}

/** Connects (or reconnects with a new key). `onAuthFailed` is called when the server refuses the key. */
export function connect(token, { onAuthFailed } = {}) {
  disconnect();
  if (typeof window.io !== "function") {
    banner("down", "Live updates unavailable: the Socket.IO client did not load.");
    return;
  }
  const ns = document.body.dataset.liveNamespace || "/live";
  const path = document.body.dataset.socketPath || "/socket.io";
  everConnected = false;
  dropped = false;
  socket = window.io(ns, {
    path,
    auth: { token },
    transports: ["websocket", "polling"],
    reconnection: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 3000,
    timeout: 5000,
  });
  socket.on("connect", () => {
    if (dropped) {
      banner("up", "Live updates restored.");
      reconnectListeners.forEach((fn) => safe(fn));
    } else {
      banner(null);
      const dot = document.getElementById("live-dot");
      if (dot) { dot.dataset.state = "live"; dot.title = "Live updates: connected"; }
    }
    everConnected = true;
    dropped = false;
  });
  socket.on("disconnect", (reason) => {
    if (reason === "io client disconnect") return;
    markDropped();
    // A server-side disconnect (a graceful restart) is not retried by the client on its own.
    if (reason === "io server disconnect") setTimeout(() => { if (socket) socket.connect(); }, 1000);
  });
  socket.on("connect_error", (err) => {
    const msg = String((err && err.message) || "");
    if (/api key|unauthori[sz]ed|forbidden|revoked|expired|not valid/i.test(msg) || (err && err.data && err.data.code === "unauthorized")) {
      if (onAuthFailed) onAuthFailed(err);
      return;
    }
    if (everConnected || dropped) markDropped();
    else banner("down", "Live updates are not connected; retrying…");
  });
  socket.onAny((name, payload) => {
    if (name !== "hello") listeners.forEach((fn) => safe(fn, name, payload));
  });
}

function markDropped() {
  dropped = true;
  banner("down", "Live connection lost — reconnecting… Data on screen may be out of date.");
}

function safe(fn, ...args) {
  try { fn(...args); } catch (err) { console.error("live handler failed", err); }
}

export function disconnect() {
  if (socket) {
    socket.removeAllListeners();
    socket.offAny();
    socket.disconnect();
    socket = null;
  }
  banner(null);
}
