"""The egress policy: which addresses castwatch may open a connection to.

Every outbound client (the probe's fetcher and certificate check, the encoder drivers, the
schedule importers) asks one :class:`EgressPolicy` before it connects, *after* DNS resolution,
and connects to the address it checked (no second lookup a rebinding DNS server could answer
differently). Redirects are followed by hand and every hop is checked again
(:mod:`castwatch.common.download`).

The rules (pure, :func:`refusal`):

- always refused, whatever ``EGRESS_ALLOW`` says: link-local (``169.254.0.0/16`` — the cloud
  metadata service — and ``fe80::/10``), unspecified (``0.0.0.0/8``, ``::``), multicast,
  broadcast and the reserved ``240.0.0.0/4``; IPv4 addresses hidden in IPv6 (``::ffff:a.b.c.d``,
  NAT64 ``64:ff9b::/96``, 6to4, Teredo) are judged as the IPv4 address they carry;
- refused unless allowed: every other non-global address — loopback, RFC 1918 private, CGNAT
  ``100.64.0.0/10``, unique-local ``fc00::/7``, documentation and benchmarking ranges;
- allowed: public (global) addresses.

``EGRESS_ALLOW`` is a comma list of CIDRs (``10.20.0.0/16``, ``127.0.0.1/32``) and host names
(``encoders.lan``, or ``.lan`` for every name under it). A name in the list lets that name reach
a private address; a CIDR lets any name that resolves into it. Neither can open link-local.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from castwatch.common.env import ConfigError, env_int, env_str

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_ALWAYS_REFUSED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), why) for net, why in (
        ("169.254.0.0/16", "link-local"), ("fe80::/10", "link-local"),
        ("0.0.0.0/8", "unspecified"), ("::/128", "unspecified"),
        ("224.0.0.0/4", "multicast"), ("ff00::/8", "multicast"),
        ("255.255.255.255/32", "broadcast"), ("240.0.0.0/4", "reserved"),
    ))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressDenied(Exception):
    """The destination is refused by the egress policy. ``reason`` is one short word
    (``link-local``, ``private``…): safe to show to the user who configured the URL."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"refused by egress policy ({reason})")
        self.reason = reason


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo), else None."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def refusal(ip: IPAddress, allowed: bool) -> str | None:
    """Why ``ip`` is refused (a short word), or None when it may be used. ``allowed`` says
    whether the operator allowed it (by CIDR or by host name): it lifts only the private rule."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        return refusal(inner, allowed)
    for net, why in _ALWAYS_REFUSED:
        if ip.version == net.version and ip in net:
            return why
    if ip.is_global or allowed:
        return None
    return "loopback" if ip.is_loopback else "private"


@dataclass(frozen=True)
class EgressPolicy:
    """What the operator allows beyond the public internet; the default allows nothing private.

    Immutable and cheap to share: one per process, passed in through the area's settings.
    """

    allow_networks: tuple[IPNetwork, ...] = ()
    #: lower-case host names; an entry starting with "." matches every name under it
    allow_hosts: frozenset[str] = frozenset()
    #: redirects followed per request (each hop checked again)
    max_redirects: int = 3

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EgressPolicy:
        """``EGRESS_ALLOW`` (comma list of CIDRs / host names) and ``EGRESS_MAX_REDIRECTS``."""
        return cls.parse(env_str(env, "EGRESS_ALLOW") or "",
                         max_redirects=env_int(env, "EGRESS_MAX_REDIRECTS", 3, minimum=0, maximum=20))

    @classmethod
    def parse(cls, allow: str, *, max_redirects: int = 3) -> EgressPolicy:
        """A policy from an ``EGRESS_ALLOW`` value; :class:`ConfigError` names a bad entry."""
        nets: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in (e.strip() for e in allow.split(",")):
            if not entry:
                continue
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = entry.lower().rstrip(".")
            label = name.lstrip(".")
            if not label or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789-." for c in label) \
                    or ".." in label or "/" in entry:
                raise ConfigError("EGRESS_ALLOW", f"not a CIDR or host name: {entry!r}")
            hosts.add(name)
        return cls(tuple(nets), frozenset(hosts), max_redirects)

    def as_env(self) -> str:
        """The ``EGRESS_ALLOW`` value that gives this allow list (for child processes)."""
        return ",".join([str(n) for n in self.allow_networks] + sorted(self.allow_hosts))

    def allowing(self, *entries: str) -> EgressPolicy:
        """This policy with more ``EGRESS_ALLOW`` entries (the demo adds its loopback)."""
        return EgressPolicy.parse(",".join([self.as_env(), *entries]), max_redirects=self.max_redirects)

    def host_allowed(self, host: str) -> bool:
        name = host.lower().rstrip(".")
        return name in self.allow_hosts or any(
            h.startswith(".") and (name.endswith(h) or name == h[1:]) for h in self.allow_hosts)

    def check_ip(self, ip: IPAddress | str, host: str | None = None) -> None:
        """Raise :class:`EgressDenied` unless ``ip`` (reached as ``host``) may be connected to."""
        addr = ipaddress.ip_address(ip.split("%", 1)[0]) if isinstance(ip, str) else ip
        addr = embedded_ipv4(addr) or addr
        allowed = (host is not None and self.host_allowed(host)) or any(
            addr.version == net.version and addr in net for net in self.allow_networks)
        why = refusal(addr, allowed)
        if why is not None:
            raise EgressDenied(why)

    def check_literal(self, host: str) -> None:
        """Check ``host`` when it is an IP literal (``[::1]`` included); names pass through
        (they are checked once resolved)."""
        try:
            addr = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
        except ValueError:
            return
        self.check_ip(addr)

    def resolve(self, host: str, port: int) -> list[tuple[int, str]]:
        """``[(family, ip)]`` for ``host``, every one checked; blocking (``getaddrinfo``).

        All addresses must pass: a name that also resolves to a refused address is refused,
        so a rebinding answer cannot pick the permitted one for the check and the other for
        the connection.
        """
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        return self._checked(host, [(int(fam), str(sa[0])) for fam, _, _, _, sa in infos])

    async def resolve_async(self, host: str, port: int) -> list[tuple[int, str]]:
        """:meth:`resolve` on the running loop's resolver."""
        infos = await asyncio.get_running_loop().getaddrinfo(host.strip("[]"), port,
                                                               type=socket.SOCK_STREAM)
        return self._checked(host, [(int(fam), str(sa[0])) for fam, _, _, _, sa in infos])

    def _checked(self, host: str, addrs: list[tuple[int, str]]) -> list[tuple[int, str]]:
        if not addrs:
            raise OSError(f"no address for {host}")
        for _, ip in addrs:
            self.check_ip(ip, host)
        return list(dict.fromkeys(addrs))

    def connect(self, host: str, port: int, timeout_s: float) -> socket.socket:
        """A TCP socket to a checked address of ``host`` (blocking); the address it connected
        to is the one that was checked. OSError when none answers."""
        last: OSError | None = None
        for family, ip in self.resolve(host, port):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(timeout_s)
            try:
                sock.connect((ip, port))
                return sock
            except OSError as exc:
                sock.close()
                last = exc
        raise last or OSError(f"cannot connect to {host}")

    async def open_connection(self, host: str, port: int, **kwargs: object) -> tuple[
            asyncio.StreamReader, asyncio.StreamWriter]:
        """``asyncio.open_connection`` to a checked address of ``host``."""
        last: OSError | None = None
        for _, ip in await self.resolve_async(host, port):
            try:
                return await asyncio.open_connection(ip, port, **kwargs)  # type: ignore[arg-type]
            except OSError as exc:
                last = exc
        raise last or OSError(f"cannot connect to {host}")

