"""Credential bindings: which device addresses the operator allows each device secret to reach.

An encoder row names its secret (``credentials_ref``) and its device (``address``); both are
editable through the API. So that no row edit can redirect a secret, the operator binds each
secret to the addresses it may be sent to, outside the API, in ``ENCODERS_CREDENTIALS_BINDINGS``
(or the file ``ENCODERS_CREDENTIALS_BINDINGS_FILE``)::

    # reference                       allowed devices (host or host:port), space separated
    env:ENCODER_SECRET_STUDIO_A = 10.0.4.21:80 10.0.4.22
    file:monarch                = monarch-1.studio.lan:443

Entries are separated by new lines or ``;``; ``#`` starts a comment. A ``file:`` name without a
leading ``/`` is relative to ``ENCODERS_CREDENTIALS_DIR``. A bound ``host`` without a port allows
any port of that host; ``host:port`` allows that port only. Hosts are compared as written,
case-insensitively (no DNS: bind the name or the address your encoder rows use).

Everything here is pure: parsing, normalising and :func:`allows`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

#: ``host`` (any port) or ``(host, port)``; hosts lower case, IPv6 without brackets
Target = tuple[str, int | None]


class BindingsError(ValueError):
    """The bindings text is malformed (the message names the line)."""


def normalize_ref(ref: str, credentials_dir: str) -> str:
    """The canonical form of a reference: ``env:NAME`` or ``file:/absolute/normalised/path``."""
    scheme, _, name = ref.strip().partition(":")
    if scheme == "file":
        if not name.startswith("/"):
            name = posixpath.join(credentials_dir, name)
        return "file:" + posixpath.normpath(name)
    return f"{scheme}:{name}"


def parse_target(text: str) -> Target:
    """``host``, ``host:port``, ``[v6]:port`` or a URL → ``(host, port or None)``."""
    raw = text.strip()
    if not raw:
        raise ValueError("empty address")
    if "://" in raw:
        parts = urlsplit(raw)
        if not parts.hostname:
            raise ValueError(f"no host in {raw!r}")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"bad port in {raw!r}") from None
        return parts.hostname.lower(), port or DEFAULT_PORTS.get(parts.scheme.lower())
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif raw.count(":") == 1:
        host, _, port_text = raw.partition(":")
    else:  # a bare IPv6 address or a plain host
        host, port_text = raw, ""
    host = host.strip().lower().rstrip(".")
    if not host or "/" in host or "@" in host:
        raise ValueError(f"bad host in {raw!r}")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise ValueError(f"bad port in {raw!r}")
    return host, int(port_text)


def device_target(address: str) -> Target:
    """Where an encoder row's ``address`` sends requests: always with a port.

    ``host:port`` as is; a URL with its port or its scheme's default; a bare host is port 80
    (``DriverConfig.base_url`` makes it ``http://host``).
    """
    host, port = parse_target(address)
    return host, port if port is not None else 80


def parse_bindings(text: str, credentials_dir: str) -> dict[str, tuple[Target, ...]]:
    """``{normalised ref: allowed targets}``; :class:`BindingsError` names a bad entry."""
    found: dict[str, tuple[Target, ...]] = {}
    entries = [e for line in text.splitlines() for e in line.split("#", 1)[0].split(";")]
    for number, entry in enumerate(entries, 1):
        if not entry.strip():
            continue
        ref, sep, targets = entry.partition("=")
        if not sep or ":" not in ref or not targets.split():
            raise BindingsError(f"entry {number} {entry.strip()!r}: must be 'env:NAME = host[:port] …'")
        try:
            parsed = tuple(parse_target(t) for t in targets.split())
        except ValueError as exc:
            raise BindingsError(f"entry {number}: {exc}") from None
        key = normalize_ref(ref, credentials_dir)
        found[key] = found.get(key, ()) + parsed
    return found


def allows(bindings: Mapping[str, tuple[Target, ...]], ref: str, address: str,
           credentials_dir: str) -> str | None:
    """Why the secret ``ref`` may not go to ``address`` (None when it may)."""
    key = normalize_ref(ref, credentials_dir)
    bound = bindings.get(key)
    if not bound:
        return (f"{key} is not bound to any device address "
                "(the operator binds it in ENCODERS_CREDENTIALS_BINDINGS)")
    try:
        host, port = device_target(address)
    except ValueError as exc:
        return f"address {address!r}: {exc}"
    for bound_host, bound_port in bound:
        if bound_host == host and bound_port in (None, port):
            return None
    return f"{key} is not bound to {host}:{port}"
