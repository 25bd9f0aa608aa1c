"""Is a downloaded segment plausibly what it claims to be? Pure byte checks, no decoding.

``check_segment(data, uri)`` returns None for a sane segment or a one-line reason (the
SEGMENT_INVALID summary). MPEG-TS: a whole number of 188-byte packets, the sync byte 0x47 at
every packet start, and a PAT (PID 0) followed by the PMT it announces before any
elementary-stream packet (DVB SI tables such as the SDT that ffmpeg writes first may precede).
fMP4/CMAF: a chain of ISO-BMFF boxes that exactly covers the bytes, starting with a known
top-level box, with ``moof`` followed by ``mdat`` in media segments.
"""

from __future__ import annotations

import struct

TS_PACKET = 188
_SYNC = 0x47
#: DVB SI (NIT, SDT/BAT, EIT, RST, TDT/TOT) and null packets: allowed before the PAT
_SI_PIDS = frozenset({0x10, 0x11, 0x12, 0x13, 0x14, 0x1FFF})
_TOP_BOXES = {b"ftyp", b"styp", b"moof", b"moov", b"sidx", b"emsg", b"prft", b"free", b"skip"}


def _pid(data: bytes, offset: int) -> int:
    return ((data[offset + 1] & 0x1F) << 8) | data[offset + 2]


def _pat_pmt_pids(data: bytes) -> list[int] | str:
    """PMT PIDs announced by the PAT packet at the start of ``data``, or a reason."""
    if data[1] & 0x40 == 0:
        return "the PAT packet does not start a section"
    afc = (data[3] >> 4) & 0x3
    pos = 4
    if afc in (2, 3):
        pos += 1 + data[4]
    if afc in (0, 2) or pos >= TS_PACKET:
        return "the PAT packet has no payload"
    pos += 1 + data[pos]  # pointer field
    if pos + 8 > TS_PACKET or data[pos] != 0x00:
        return "the first packet does not carry a PAT (table id 0)"
    section_length = ((data[pos + 1] & 0x0F) << 8) | data[pos + 2]
    end = min(pos + 3 + section_length - 4, TS_PACKET)  # minus CRC
    pids = []
    for entry in range(pos + 8, end - 3, 4):
        program = (data[entry] << 8) | data[entry + 1]
        if program != 0:
            pids.append(((data[entry + 2] & 0x1F) << 8) | data[entry + 3])
    return pids or "the PAT announces no program"


def check_ts(data: bytes) -> str | None:
    if len(data) < TS_PACKET:
        return f"MPEG-TS shorter than one packet ({len(data)} bytes)"
    if len(data) % TS_PACKET:
        return f"MPEG-TS size {len(data)} is not a multiple of 188"
    packets = len(data) // TS_PACKET
    if data[::TS_PACKET] != b"G" * packets:
        bad = next(i for i in range(packets) if data[i * TS_PACKET] != _SYNC)
        return f"MPEG-TS sync byte missing at packet {bad}"
    first = 0
    while first < packets and _pid(data, first * TS_PACKET) in _SI_PIDS:
        first += 1
    if first == packets or _pid(data, first * TS_PACKET) != 0:
        pid = _pid(data, first * TS_PACKET) if first < packets else None
        return f"MPEG-TS does not start with a PAT (first PID {pid})"
    pmt_pids = _pat_pmt_pids(data[first * TS_PACKET:(first + 1) * TS_PACKET])
    if isinstance(pmt_pids, str):
        return pmt_pids
    for i in range(first + 1, packets):
        pid = _pid(data, i * TS_PACKET)
        if pid in pmt_pids:
            return None
        if pid != 0 and pid not in _SI_PIDS:
            return f"MPEG-TS elementary stream (PID {pid}) before the PMT"
    return "MPEG-TS without the PMT announced by its PAT"


def check_fmp4(data: bytes) -> str | None:
    pos, seen = 0, list[bytes]()
    while pos < len(data):
        if pos + 8 > len(data):
            return f"fMP4 truncated box header at byte {pos}"
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > len(data):
                return f"fMP4 truncated large box header at byte {pos}"
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = len(data) - pos
        if not all(32 <= c < 127 for c in kind):
            return f"fMP4 box type is not printable at byte {pos}"
        if size < header or pos + size > len(data):
            return f"fMP4 box {kind.decode('latin-1')!r} at byte {pos} has a bad size {size}"
        if not seen and kind not in _TOP_BOXES:
            return f"fMP4 starts with an unexpected box {kind.decode('latin-1')!r}"
        seen.append(kind)
        pos += size
    if b"moof" in seen:
        if b"mdat" not in seen[seen.index(b"moof"):]:
            return "fMP4 media segment has a moof without a following mdat"
    elif b"moov" not in seen:
        return "fMP4 has neither moof+mdat (media) nor moov (initialization)"
    return None


def check_segment(data: bytes, uri: str = "") -> str | None:
    """Sniff the container (sync byte or box header) and check it; None means sane."""
    if not data:
        return "empty segment"
    if data[0] == _SYNC:
        return check_ts(data)
    if len(data) >= 8 and data[4:8] in _TOP_BOXES | {b"mdat"}:
        return check_fmp4(data)
    path = uri.split("?", 1)[0].lower()
    if path.endswith((".aac", ".ac3", ".ec3", ".mp3", ".vtt", ".webvtt")):
        return None  # packed audio and subtitles: nothing structural to check here
    if path.endswith(".ts"):
        return check_ts(data)
    return f"neither MPEG-TS nor fMP4 (first bytes {data[:4].hex()})"
