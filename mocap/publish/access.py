"""Who may open the WebSocket and who may load the viewer page, decided from the request. Pure.

The WebSocket server asks before the opening handshake completes (websockets' process_request),
so a refused client gets a plain HTTP answer and never sees a frame:

- 421: the Host header does not name this server. A DNS-rebinding page (evil.example resolving
  to 127.0.0.1) reaches us under its own name; it cannot make the browser send one of ours.
- 403: a browser (it sends Origin) on a page that is not the built-in viewer nor allowlisted.
  Any page a user visits could otherwise read their face and body from ws://127.0.0.1.
- 401: no token, or the wrong one, when a token is set.
- 503: the most clients are connected already.

Clients without an Origin (plug-ins, scripts) are not browsers: DNS rebinding and foreign pages
do not apply to them, so only the token and the client limit do.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from mocap.addresses import (
    DEFAULT_PORTS,
    HostPort,
    Origin,
    normalise_host,
    parse_authority,
    parse_origin,
)

# The names a local browser uses for this machine; 127.0.0.1 is what the viewer URL says.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def own_authorities(bound_host: str, local: HostPort) -> frozenset[HostPort]:
    """The names a client may use for this server: loopback, the bound host, and the address
    the connection arrived on (with a 0.0.0.0 bind, whichever interface that was)."""
    names = {*LOOPBACK_HOSTS, bound_host, local.host}
    normalised = (normalise_host(name) for name in names)
    return frozenset(HostPort(name, local.port) for name in normalised if name is not None)


@dataclass(frozen=True)
class AccessRules:
    """What the server admits (server.* in the config)."""

    token: str = ""
    allowed_origins: tuple[Origin, ...] = ()
    max_clients: int = 16


@dataclass(frozen=True)
class RequestFacts:
    """What admission reads from one HTTP request: each header's values (any number of them),
    and the names this server answers to for the connection it came on."""

    path: str
    host: Sequence[str]
    origin: Sequence[str]
    authorization: Sequence[str]
    own: frozenset[HostPort]


class Refusal(NamedTuple):
    status: HTTPStatus
    reason: str  # for the access log and the response body: never the token


def check_page(rules: AccessRules, request: RequestFacts) -> Refusal | None:
    """A plain HTTP request for the viewer's files: only the Host check (the files are public,
    the token is in the page's own URL)."""
    return _check_host(rules, request)


def check_upgrade(rules: AccessRules, request: RequestFacts, clients: int) -> Refusal | None:
    """A WebSocket opening handshake; clients: connections admitted and not yet closed."""
    if request.origin:
        refusal = _check_host(rules, request) or _check_origin(rules, request)
        if refusal is not None:
            return refusal
    if rules.token and not token_matches(rules.token, presented_token(request)):
        return Refusal(HTTPStatus.UNAUTHORIZED, "missing or wrong token")
    if clients >= rules.max_clients:
        return Refusal(HTTPStatus.SERVICE_UNAVAILABLE, f"already {clients} clients (the most)")
    return None


def _check_host(rules: AccessRules, request: RequestFacts) -> Refusal | None:
    if len(request.host) != 1:
        return Refusal(HTTPStatus.BAD_REQUEST, "not exactly one Host header")
    authority = parse_authority(request.host[0], DEFAULT_PORTS["http"])
    allowed = request.own.union(*(_hosts_named_by(origin) for origin in rules.allowed_origins))
    if authority not in allowed:
        return Refusal(HTTPStatus.MISDIRECTED_REQUEST, "Host does not name this server")
    return None


def _hosts_named_by(origin: Origin) -> set[HostPort]:
    """The Host values of requests from an allowed origin's pages. Behind a proxy that ends TLS
    (https://example.org), Host comes without the port, which parse_authority reads as 80."""
    hosts = {origin.authority}
    if origin.authority.port == DEFAULT_PORTS.get(origin.scheme):
        hosts.add(HostPort(origin.authority.host, DEFAULT_PORTS["http"]))
    return hosts


def _check_origin(rules: AccessRules, request: RequestFacts) -> Refusal | None:
    if len(request.origin) != 1:
        return Refusal(HTTPStatus.BAD_REQUEST, "more than one Origin header")
    origin = parse_origin(request.origin[0])
    # Our own pages are plain http on one of our own names, on our port: another port on
    # 127.0.0.1 is another program's page, as foreign as any web site.
    own = {Origin("http", authority) for authority in request.own}
    if origin is None or origin not in own | set(rules.allowed_origins):
        return Refusal(HTTPStatus.FORBIDDEN, "Origin not allowed")
    return None


def presented_token(request: RequestFacts) -> str | None:
    """The token from `Authorization: Bearer ...`, else from the first `?token=...`; None if
    neither. The query value is percent-decoded, but "+" stays a plus (not a space, as in HTML
    forms): a base64 token pasted into the viewer's URL as it is must still match."""
    for value in request.authorization:
        scheme, _, credentials = value.strip().partition(" ")
        if scheme.lower() == "bearer":
            return credentials.strip()
    for field in urlsplit(request.path).query.split("&"):
        name, equals, value = field.partition("=")
        if equals and unquote(name) == "token":
            return unquote(value)
    return None


def token_matches(expected: str, presented: str | None) -> bool:
    """Constant-time comparison: how long it takes tells nothing about how much matched."""
    if presented is None:
        return False
    return hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
