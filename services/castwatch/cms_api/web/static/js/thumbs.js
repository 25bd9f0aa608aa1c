// Live thumbnails: the probe's newest JPEG of each channel (GET /channels/<id>/thumbnail).
// An <img src> cannot send the API key, so the bytes are fetched with it and shown through an
// object URL; the fetch revalidates with the thumbnail's ETag (a 304 costs no bytes). A card
// asks again whenever the channel's status row says a newer thumbnail was taken.

import { fetchBlob } from "./api.js";
import { h } from "./ui.js";

const urls = new Map(); // channel id -> object URL of the newest picture shown
const taken = new Map(); // channel id -> thumbnail_at of that picture

/** thumbnail_at of a channel row (from last_check.content), or null. */
export function thumbnailAt(c) {
  return ((c && c.last_check && c.last_check.content) || {}).thumbnail_at || null;
}

/** An <img> for channel `c` (hidden until the probe has taken a picture). */
export function thumbImg(c) {
  const at = thumbnailAt(c);
  const img = h("img.ch-thumb", { alt: `${c.channel_name || c.channel_code} picture`, dataset: { thumbFor: c.id } });
  if (urls.has(c.id)) img.src = urls.get(c.id);
  else img.hidden = true;
  if (at && taken.get(c.id) !== at) {
    taken.set(c.id, at);
    refresh(c.id);
  }
  return img;
}

async function refresh(id) {
  let blob;
  try { blob = await fetchBlob(`/channels/${id}/thumbnail`); } catch { return; }
  const old = urls.get(id);
  const url = URL.createObjectURL(blob);
  urls.set(id, url);
  for (const el of document.querySelectorAll(`img[data-thumb-for="${id}"]`)) { el.src = url; el.hidden = false; }
  if (old) URL.revokeObjectURL(old);
}
