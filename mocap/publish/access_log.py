"""The access log: who connected, who left (with the close code), who was refused and why.

Lines name addresses, origins, status and close codes: never the token, the request path (it can
hold the token) nor any landmark data. Logger "mocap.publish.access"; open_access_log() gives it its
own handlers for a run: stderr, and a file when asked.

Refusals are rate-limited per source host and status: a web page can fire requests at the port
far faster than anyone reads lines, so a source's first refusal of a kind (421, 401, ...) is
logged, the same ones in the next REFUSAL_WINDOW_S are only counted, and the count is logged as
one line when that source is next refused so after the window, or when the server closes. Keeping
the kinds apart, a user's own viewer with a wrong token (401) still shows while a page floods.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from mocap.errors import ConfigError
from mocap.private_files import open_owner_only

logger = logging.getLogger("mocap.publish.access")

# Header values come from the client: keep a line one line, and short.
MAX_FIELD_CHARS = 120
REFUSAL_WINDOW_S = 10.0
# Sources remembered at once: addresses an attacker can vary must not grow memory without bound.
MAX_REFUSING_SOURCES = 1024


def clean(value: str | None) -> str:
    """A client-supplied value made safe for a log line; "-" when absent."""
    if not value:
        return "-"
    printable = "".join(c if c.isprintable() and c != " " else "?" for c in value)
    if len(printable) > MAX_FIELD_CHARS:
        return printable[:MAX_FIELD_CHARS] + "..."
    return printable


def peer(address: Any) -> str:
    """A socket's remote address as host:port ("?" when the socket is already gone)."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return "?"


def connected(client_id: int, address: str, origin: str | None) -> None:
    logger.info("connect client %d from %s origin %s", client_id, address, clean(origin))


def disconnected(client_id: int, address: str, code: int | None, reason: str) -> None:
    logger.info(
        "disconnect client %d from %s code %s%s",
        client_id,
        address,
        code if code is not None else "none",
        f" ({clean(reason)})" if reason else "",
    )


_Kind = tuple[str, int]  # a source host, a refusal's status


@dataclass
class _Window:
    started_s: float
    unlogged: int = 0


class RefusalLog:
    """Logs a server's refusals, limited per source host and status (see the module's doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the server's thread refuses, close() flushes
        self._windows: dict[_Kind, _Window] = {}

    def refused(self, address: str, origin: str | None, status: int, reason: str) -> None:
        """address: host:port as peer() gives it (the limit is per host: ports vary)."""
        if self._first_in_window((address.rpartition(":")[0], status), time.monotonic()):
            logger.info("refused %s origin %s: %d %s", address, clean(origin), status, reason)

    def flush(self) -> None:
        """Log every count still pending and forget all sources (the server is closing)."""
        with self._lock:
            now_s = time.monotonic()
            for kind in list(self._windows):
                self._forget(kind, now_s)

    def _first_in_window(self, kind: _Kind, now_s: float) -> bool:
        """Whether this refusal is logged; if not, it is counted."""
        with self._lock:
            window = self._windows.get(kind)
            if window is not None and now_s < window.started_s + REFUSAL_WINDOW_S:
                window.unlogged += 1
                return False
            self._forget(kind, now_s)
            if len(self._windows) >= MAX_REFUSING_SOURCES:
                self._forget(next(iter(self._windows)), now_s)  # the longest-known source
            self._windows[kind] = _Window(now_s)
            return True

    def _forget(self, kind: _Kind, now_s: float) -> None:
        window = self._windows.pop(kind, None)
        if window is not None and window.unlogged:
            host, status = kind
            logger.info(
                "refused %s: %d more refusals (%d) from %s in the last %d s",
                host,
                window.unlogged,
                status,
                host,
                max(1, round(now_s - window.started_s)),
            )


@contextmanager
def open_access_log(log_file: str) -> Iterator[None]:
    """For the duration of a run: access lines on stderr with their time, and appended to
    log_file (when not ""), which is left readable by its owner only."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    handlers[0].setFormatter(logging.Formatter("mocap: %(asctime)s access: %(message)s"))
    log_stream = _open_log_file(log_file) if log_file else None
    if log_stream is not None:
        handlers.append(logging.StreamHandler(log_stream))
        handlers[1].setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    propagate, level = logger.propagate, logger.level
    # Its own handlers, so that the lines carry their time, and only once.
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for handler in handlers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        if log_stream is not None:
            log_stream.close()  # a StreamHandler leaves its stream open
        logger.propagate = propagate
        logger.setLevel(level)


def _open_log_file(log_file: str) -> TextIO:
    try:
        descriptor = open_owner_only(Path(log_file), append=True)
    except OSError as exc:
        raise ConfigError(f"cannot open the access log {log_file}: {exc.strerror or exc}") from None
    return os.fdopen(descriptor, "a", encoding="utf-8")
