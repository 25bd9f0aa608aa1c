"""Tiny but structurally valid segments: MPEG-TS (PAT, PMT, PES packets) and fMP4 boxes."""

from __future__ import annotations

import struct

PMT_PID = 0x1000
VIDEO_PID = 0x100


def crc32_mpeg2(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _section_packet(pid: int, section: bytes) -> bytes:
    section += struct.pack(">I", crc32_mpeg2(section))
    header = bytes([0x47, 0x40 | (pid >> 8), pid & 0xFF, 0x10, 0x00])  # PUSI, payload only
    return (header + section).ljust(188, b"\xff")


def _pat() -> bytes:
    body = struct.pack(">HBBB", 1, 0xC1, 0, 0) + struct.pack(">HH", 1, 0xE000 | PMT_PID)
    section = bytes([0x00]) + struct.pack(">H", 0xB000 | (len(body) + 4)) + body
    return _section_packet(0, section)


def _pmt() -> bytes:
    es = bytes([0x1B]) + struct.pack(">HH", 0xE000 | VIDEO_PID, 0xF000)
    body = struct.pack(">HBBB", 1, 0xC1, 0, 0) + struct.pack(">HH", 0xE000 | VIDEO_PID, 0xF000) + es
    section = bytes([0x02]) + struct.pack(">H", 0xB000 | (len(body) + 4)) + body
    return _section_packet(PMT_PID, section)


def _pes(counter: int, start: bool) -> bytes:
    header = bytes([0x47, (0x40 if start else 0) | (VIDEO_PID >> 8), VIDEO_PID & 0xFF,
                    0x10 | (counter & 0x0F)])
    payload = b"\x00\x00\x01\xe0\x00\x00\x80\x00\x00" if start else b""
    return (header + payload).ljust(188, b"\x00")


def ts_segment(packets: int = 4) -> bytes:
    """PAT, PMT, then ``packets`` video PES packets: 188 * (packets + 2) bytes."""
    return _pat() + _pmt() + b"".join(_pes(i, i == 0) for i in range(packets))


def _box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def fmp4_init() -> bytes:
    ftyp = _box(b"ftyp", b"iso6" + struct.pack(">I", 0) + b"iso6cmfcdash")
    mvhd = _box(b"mvhd", bytes(100))
    return ftyp + _box(b"moov", mvhd + _box(b"trak", _box(b"tkhd", bytes(84))))


def fmp4_segment(sequence: int, size: int = 512) -> bytes:
    styp = _box(b"styp", b"msdh" + struct.pack(">I", 0) + b"msdhmsix")
    mfhd = _box(b"mfhd", struct.pack(">II", 0, sequence & 0xFFFFFFFF))
    moof = _box(b"moof", mfhd + _box(b"traf", _box(b"tfhd", struct.pack(">II", 0x020000, 1))))
    return styp + moof + _box(b"mdat", bytes(size))


def corrupt(data: bytes) -> bytes:
    """Break the structure: every 188th byte and the first box size."""
    broken = bytearray(data)
    for i in range(0, len(broken), 188):
        broken[i] ^= 0xFF
    return bytes(broken)
