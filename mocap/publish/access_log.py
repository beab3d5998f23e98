"""The access log: who connected, who left (with the close code), who was refused and why.

Lines name addresses, origins, status and close codes: never the token, the request path (it can
hold the token) nor any landmark data. Logger "mocap.publish.access"; open_access_log() gives it its
own handlers for a run: stderr, and a file when asked.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from mocap.errors import ConfigError
from mocap.private_files import open_owner_only

logger = logging.getLogger("mocap.publish.access")

# Header values come from the client: keep a line one line, and short.
MAX_FIELD_CHARS = 120


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


def refused(address: str, origin: str | None, status: int, reason: str) -> None:
    logger.info("refused %s origin %s: %d %s", address, clean(origin), status, reason)


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
