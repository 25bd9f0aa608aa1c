"""HLS master (multivariant) playlists: the ladder a channel offers and its badges.

``parse_master(text, base_url)`` returns a :class:`MasterPlaylist` with absolute URIs or raises
:class:`~castwatch.packager_monitor.hls.PlaylistError`. Rendition names are what alerts use as
the subject suffix: ``720p`` from the RESOLUTION height, else ``<kbps>k``; duplicates get the
bandwidth appended (``720p_3000k``); audio renditions are ``audio_<NAME>``.

Audio-only variants: a ``EXT-X-STREAM-INF`` whose URI is also an ``EXT-X-MEDIA TYPE=AUDIO``
rendition's (ffmpeg's hls muxer writes both), or whose CODECS are all audio codecs, is an audio
rendition (``kind="audio"``, named ``audio_<NAME>`` after its EXT-X-MEDIA, else
``audio_<kbps>k``): it is not a rung of the video ladder and is never the decoded video rendition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin

from castwatch.packager_monitor.hls import PlaylistError

_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def parse_attributes(value: str) -> dict[str, str]:
    """An HLS attribute list as a dict; quoted values lose their quotes."""
    return {k: v[1:-1] if v.startswith('"') and v.endswith('"') and len(v) >= 2 else v
            for k, v in _ATTR.findall(value)}


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    uri: str
    bandwidth: int
    average_bandwidth: int | None = None
    resolution: str | None = None
    codecs: str | None = None
    frame_rate: float | None = None
    video_range: str | None = None
    audio_group: str | None = None
    kind: str = "video"

    @property
    def height(self) -> int | None:
        if self.resolution and "x" in self.resolution:
            h = self.resolution.split("x", 1)[1]
            return int(h) if h.isdigit() else None
        return None

    @property
    def width(self) -> int | None:
        if self.resolution and "x" in self.resolution:
            w = self.resolution.split("x", 1)[0]
            return int(w) if w.isdigit() else None
        return None


@dataclass(frozen=True, slots=True)
class Media:
    type: str
    group_id: str
    name: str
    uri: str | None
    channels: str | None = None
    language: str | None = None


@dataclass(slots=True)
class MasterPlaylist:
    variants: list[Variant] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)

    def renditions(self) -> list[Variant]:
        """Every media playlist to poll: the variants, then audio renditions with a URI."""
        out = list(self.variants)
        taken = {v.uri for v in out}
        names = {v.name for v in out}
        for m in self.media:
            if m.type == "AUDIO" and m.uri and m.uri not in taken:
                taken.add(m.uri)
                name = f"audio_{_slug(m.name or m.group_id)}"
                while name in names:  # the same NAME in two groups (AAC and AC-3 of "English")
                    name += "_"
                names.add(name)
                out.append(Variant(name=name, uri=m.uri, bandwidth=0, kind="audio"))
        return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:40] or "x"


def is_master(text: str) -> bool:
    return "#EXT-X-STREAM-INF" in text


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int(value: str | None) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


def parse_master(text: str, base_url: str = "") -> MasterPlaylist:
    """Parse a multivariant playlist; relative URIs are resolved against ``base_url``."""
    body = text.lstrip("\ufeff \t\r\n")
    if not body.startswith("#EXTM3U"):
        raise PlaylistError("does not start with #EXTM3U")
    result = MasterPlaylist()
    pending: dict[str, str] | None = None
    names: set[str] = set()
    for raw in body.splitlines()[1:]:
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = parse_attributes(line[18:])
        elif line.startswith("#EXT-X-MEDIA:"):
            a = parse_attributes(line[13:])
            uri = a.get("URI")
            result.media.append(Media(
                type=a.get("TYPE", ""), group_id=a.get("GROUP-ID", ""), name=a.get("NAME", ""),
                uri=urljoin(base_url, uri) if uri else None, channels=a.get("CHANNELS"),
                language=a.get("LANGUAGE")))
        elif line.startswith("#EXTINF"):
            raise PlaylistError("a media playlist where a master playlist was expected")
        elif line[0] != "#" and pending is not None:
            result.variants.append(_variant(pending, urljoin(base_url, line), names))
            pending = None
    if not result.variants:
        raise PlaylistError("master playlist without any EXT-X-STREAM-INF variant")
    result.variants = _mark_audio_only(result.variants, result.media)
    return result


#: RFC 6381 sample-entry prefixes of audio codecs seen in HLS CODECS attributes
_AUDIO_CODECS = ("mp4a", "ac-3", "ec-3", "ac-4", "opus", "flac", "alac", "dtsc", "dtse", "dtsh",
                 "dtsl", "mp3", ".mp3")


def _is_audio_codecs(codecs: str | None) -> bool:
    items = [c.strip().lower() for c in (codecs or "").split(",") if c.strip()]
    return bool(items) and all(c.startswith(_AUDIO_CODECS) for c in items)


def _mark_audio_only(variants: list[Variant], media: list[Media]) -> list[Variant]:
    by_uri = {m.uri: m for m in media if m.type == "AUDIO" and m.uri}
    names = {v.name for v in variants}
    out = []
    for v in variants:
        m = by_uri.get(v.uri)
        if m is None and (v.resolution or not _is_audio_codecs(v.codecs)):
            out.append(v)
            continue
        name = f"audio_{_slug(m.name or m.group_id)}" if m is not None else f"audio_{v.bandwidth // 1000}k"
        while name in names:
            name += "_"
        names.discard(v.name)
        names.add(name)
        out.append(replace(v, name=name, kind="audio"))
    return out


def _variant(a: dict[str, str], uri: str, names: set[str]) -> Variant:
    bandwidth = _int(a.get("BANDWIDTH"))
    if bandwidth is None or bandwidth <= 0:
        raise PlaylistError(f"EXT-X-STREAM-INF without a valid BANDWIDTH: {a.get('BANDWIDTH')!r}")
    resolution = a.get("RESOLUTION")
    height = resolution.split("x", 1)[1] if resolution and "x" in resolution else ""
    name = f"{height}p" if height.isdigit() else f"{bandwidth // 1000}k"
    if name in names:
        name = f"{name}_{bandwidth // 1000}k"
    while name in names:
        name += "_"
    names.add(name)
    return Variant(
        name=name, uri=uri, bandwidth=bandwidth, average_bandwidth=_int(a.get("AVERAGE-BANDWIDTH")),
        resolution=resolution, codecs=a.get("CODECS"), frame_rate=_float(a.get("FRAME-RATE")),
        video_range=a.get("VIDEO-RANGE"), audio_group=a.get("AUDIO"),
    )


@dataclass(frozen=True, slots=True)
class Badges:
    is_4k: bool = False
    is_hdr: bool = False
    is_atmos: bool = False


_HDR_CODECS = ("dvh1", "dvhe", "dav1")


def badges(master: MasterPlaylist) -> Badges:
    """4K: a rung of height >= 2160 (or width >= 3840); HDR: VIDEO-RANGE PQ/HLG or a Dolby
    Vision codec; Atmos: an audio rendition with ``CHANNELS="…/JOC"`` (Dolby Atmos in E-AC-3)."""
    uhd = any((v.height or 0) >= 2160 or (v.width or 0) >= 3840 for v in master.variants)
    hdr = any((v.video_range or "").upper() in ("PQ", "HLG")
              or any(c.strip().lower().startswith(_HDR_CODECS) for c in (v.codecs or "").split(","))
              for v in master.variants)
    atmos = any(m.type == "AUDIO" and "JOC" in (m.channels or "").upper() for m in master.media)
    return Badges(uhd, hdr, atmos)
