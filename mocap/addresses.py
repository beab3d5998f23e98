"""Addresses: one HOST:PORT type for every output, server and request, and their parsers. Pure."""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

from mocap.errors import ConfigError

DEFAULT_PORTS = {"http": 80, "https": 443}

_NAME = re.compile(r"[a-z0-9_\-.]+")
_PORT = re.compile(r"[0-9]{1,5}")
_ORIGIN = re.compile(r"([a-z][a-z0-9+.\-]*)://(\[[^\]]*\]|[^:/\[\]]*)(?::([^/]*))?")


class HostPort(NamedTuple):
    """A host and a port: an output's target, a server's bind address, a request's authority.

    The host is a name or an IP address (IPv6 without brackets); parse_authority gives it
    normalised (lower case, canonical IP) for comparisons.
    """

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


class Origin(NamedTuple):
    scheme: str
    authority: HostPort


def normalise_host(host: str) -> str | None:
    """A host name in lower case, or an IP address in its canonical form; None if malformed.

    An IPv4 address that arrives as IPv4-mapped IPv6 (a dual-stack socket) becomes plain IPv4,
    which is what a browser puts in Host.
    """
    host = host.lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host if _NAME.fullmatch(host) and not host.startswith(".") else None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def parse_authority(text: str, default_port: int) -> HostPort | None:
    """ "host", "host:port", "[v6]" or "[v6]:port" (a Host header, an origin's authority)."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        host, rest = text[1:end], text[end + 1 :]
        if end < 0 or ":" not in host:
            return None
    else:
        host, sep, port_text = text.partition(":")
        rest = sep + port_text
    if rest and not (rest.startswith(":") and _PORT.fullmatch(rest[1:])):
        return None
    port = int(rest[1:]) if rest else default_port
    name = normalise_host(host) if host else None
    if name is None or port > 65535:
        return None
    return HostPort(name, port)


def parse_origin(text: str) -> Origin | None:
    """An Origin header ("http://127.0.0.1:8765"); None for "null" and anything malformed."""
    match = _ORIGIN.fullmatch(text.strip().lower())
    if match is None:
        return None
    scheme, host, port = match.groups()
    authority = parse_authority(
        host if port is None else f"{host}:{port}", DEFAULT_PORTS.get(scheme, 0)
    )
    return Origin(scheme, authority) if authority is not None else None


def parse_endpoint(text: str, *, what: str, default_port: int | None = None) -> HostPort:
    """Parse "HOST:PORT", "[V6]:PORT", or ":PORT" (loopback); PORT may be 0 (any free port)."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        if default_port is None:
            raise ConfigError(f"{what}: {text!r} is not HOST:PORT (for example 127.0.0.1:9000)")
        host, port_text = text.strip(), str(default_port)
    host = host.strip("[]") or "127.0.0.1"
    if not port_text.isascii() or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"{what}: {text!r} has no valid port (0-65535)")
    if not _resolvable_name(host):
        raise ConfigError(
            f"{what}: {text!r} has no valid host (a name of labels of 1 to 63 characters, "
            "or an IP address)"
        )
    return HostPort(host, int(port_text))


def _resolvable_name(host: str) -> bool:
    """A host the resolver accepts: an IP address, or a name its IDNA codec can encode (an
    empty or over-long label would raise UnicodeError inside getaddrinfo, at start time)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True
