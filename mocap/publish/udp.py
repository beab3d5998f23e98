"""Send one datagram to several UDP targets without ever blocking or raising into the caller.

Used for raw OSC and VMC: the encoder builds the datagram once per frame; this only moves it.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

from mocap.addresses import HostPort
from mocap.errors import ConfigError

logger = logging.getLogger("mocap.publish")

FAILURE_LOG_INTERVAL_S = 5.0


class Destination(NamedTuple):
    """A UDP target as the user wrote it and the one address it was resolved to, once: the
    address the exposure check judged is the address every datagram goes to."""

    target: HostPort
    family: socket.AddressFamily
    sockaddr: tuple[Any, ...]

    def __str__(self) -> str:
        return str(self.target)


def resolve(target: HostPort) -> Destination:
    """Look the host up once, before the run starts, so no frame ever waits on DNS and a
    changing DNS answer cannot send frames anywhere else than where the check allowed."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
        raise ConfigError(
            f"cannot send to {target}: the host does not resolve ({reason}); "
            "check the output address"
        ) from None
    # A name such as "localhost" may resolve to both ::1 and 127.0.0.1; OSC and VMC receivers
    # almost always listen on IPv4, so prefer it rather than whatever order the resolver chose.
    family, _, _, _, sockaddr = min(infos, key=lambda info: info[0] != socket.AF_INET)
    return Destination(target, family, sockaddr)


def _open_socket(family: socket.AddressFamily) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    # A full send buffer must cost the pipeline a dropped datagram (EAGAIN), never a wait.
    sock.setblocking(False)
    return sock


class _FailureLog:
    """Logs the first failure, then at most one line per interval with the count in between."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._next_log_s = 0.0
        self._unlogged = 0

    def report(self, target: HostPort, exc: OSError) -> None:
        now_s = time.monotonic()
        if now_s < self._next_log_s:
            self._unlogged += 1
            return
        logger.warning(
            "UDP send to %s failed: %s (%d more failures since the last report)",
            target,
            exc.strerror or exc,
            self._unlogged,
        )
        self._unlogged = 0
        self._next_log_s = now_s + self._interval_s


class UdpSender:
    """One non-blocking UDP socket per address family, sending each datagram to every target.

    Counters (read from any thread): `sent` counts datagrams handed to the kernel, one per target
    per send(); `failed` counts the ones the kernel refused (EAGAIN/ENOBUFS when its buffer is
    full, EMSGSIZE above 65507 bytes on IPv4, ...). A target with no listener is not a failure:
    Linux does not report ICMP "port unreachable" to an unconnected UDP socket.
    """

    def __init__(self, destinations: Iterable[Destination]) -> None:
        self._targets = list(destinations)
        self._sockets = {
            family: _open_socket(family) for family in {target.family for target in self._targets}
        }
        self._failure_log = _FailureLog(FAILURE_LOG_INTERVAL_S)
        self.sent = 0
        self.failed = 0

    def send(self, datagram: bytes) -> None:
        """Send datagram to every target; a failure is counted and logged, never raised."""
        for target in self._targets:
            try:
                self._sockets[target.family].sendto(datagram, target.sockaddr)
            except OSError as exc:
                self.failed += 1
                self._failure_log.report(target.target, exc)
            else:
                self.sent += 1

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()
