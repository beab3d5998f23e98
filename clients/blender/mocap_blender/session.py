"""One connection to a mocap server, kept up by a background thread. Pure: no bpy.

Blender's UI runs on the main thread, so nothing here may block it: the thread connects, reads
and parses, and leaves only the newest frame in a one-slot holder. The main thread (a
bpy.app.timers callback) takes that frame when it is ready to apply one; frames that arrive
faster are replaced, never queued, so the scene never lags behind the stream.

After a disconnect the thread reconnects with back-off (0.5 s doubling to 8 s), except after a
refusal that waiting cannot fix (401: the token is wrong; 403, 421: not allowed), which ends the
session until the user connects again.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

from .protocol import Frame, Hello, MessageError, parse_message
from .wsclient import (
    CLOSE_ABNORMAL,
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    ConnectionClosed,
    HandshakeRefused,
    ProtocolError,
    WebSocket,
)

DISCONNECTED, CONNECTING, CONNECTED, RETRYING, REFUSED = (
    "disconnected", "connecting", "connected", "retrying", "refused",
)  # fmt: skip
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
CONNECT_TIMEOUT_S = 3.0
# How long a read waits before the thread looks at the stop flag again.
POLL_S = 0.2
FPS_WINDOW_S = 2.0
PERMANENT_REFUSALS = (400, 401, 403, 404, 421)


@dataclass(frozen=True)
class Status:
    """A snapshot for the panel. error: the latest failure to connect or to read; ended: why
    the last connection ended ("server stopped"); retry_in_s: seconds until the next attempt."""

    state: str
    address: str
    frames: int
    fps: float
    error: str
    ended: str
    retry_in_s: float | None


class NewestFrame:
    """A one-slot holder: put replaces what was not taken."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: Frame | None = None

    def put(self, frame: Frame) -> None:
        with self._lock:
            self._frame = frame

    def take(self) -> Frame | None:
        with self._lock:
            frame, self._frame = self._frame, None
        return frame


def closed_reason(code: int, reason: str) -> str:
    """Words for the panel for how the server ended a connection."""
    if code == CLOSE_GOING_AWAY:
        return "server stopped"
    if code == CLOSE_NORMAL:
        return "server closed the connection"
    if code == CLOSE_ABNORMAL:  # no close frame: the TCP connection just ended
        return reason or "connection lost"
    detail = f": {reason}" if reason else ""
    return f"closed by the server ({code}{detail})"


def connect_failure(address: str, error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return f"no server at {address} (connection refused)"
    if isinstance(error, TimeoutError):
        return f"no answer from {address}"
    return f"cannot reach {address}: {error.strerror or error}"


class Session:
    """Connects to ws://host:port/ with an optional token, on start(), until stop()."""

    def __init__(self, host: str, port: int, token: str = "") -> None:
        self.host, self.port, self._token = host, port, token
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.newest = NewestFrame()
        # The latest connection's hello; replaced whole by the thread, so reading it is safe.
        self.hello: Hello | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._state, self._error, self._ended = DISCONNECTED, "", ""
        self._retry_at: float | None = None
        self._frames = 0
        self._arrivals: collections.deque[float] = collections.deque()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # Daemon: a thread still waiting on a socket must never keep Blender from quitting.
        self._thread = threading.Thread(target=self._run, name="mocap-client", daemon=True)
        self._thread.start()

    def stop(self, wait_s: float = 0.0) -> None:
        """Ask the thread to close the connection and end; wait up to wait_s for it."""
        self._stop.set()
        if self._thread is not None and wait_s > 0:
            self._thread.join(wait_s)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def take(self) -> Frame | None:
        """The newest frame not taken yet, or None."""
        return self.newest.take()

    def status(self) -> Status:
        """A consistent snapshot, from any thread."""
        now = time.monotonic()
        with self._lock:
            while self._arrivals and self._arrivals[0] < now - FPS_WINDOW_S:
                self._arrivals.popleft()
            arrivals = list(self._arrivals)
            retry_in = None if self._retry_at is None else max(0.0, self._retry_at - now)
            fps = 0.0
            if len(arrivals) > 1 and arrivals[-1] > arrivals[0]:
                fps = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
            return Status(
                self._state, self.address, self._frames, fps, self._error, self._ended, retry_in
            )

    # --- on the session's thread ---------------------------------------------------------------

    def _set(self, **changes: object) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self, f"_{name}", value)

    def _run(self) -> None:
        try:
            self._keep_connected()
        except Exception as error:
            # A bug, not a network event: show it in the panel rather than "connected" for ever,
            # and let threading's excepthook print the traceback to Blender's console.
            self._set(state=DISCONNECTED, retry_at=None, error=f"internal error: {error!r}")
            raise

    def _keep_connected(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            self._set(state=CONNECTING, retry_at=None)
            websocket = self._open()
            if websocket is not None:
                attempt = 0
                self._set(state=CONNECTED, error="", ended="")
                ended = self._read(websocket)
                self._set(ended=ended)
            if self._state == REFUSED or self._stop.is_set():
                break
            delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            attempt += 1
            self._set(state=RETRYING, retry_at=time.monotonic() + delay)
            self._stop.wait(delay)
        self._set(retry_at=None, state=REFUSED if self._state == REFUSED else DISCONNECTED)

    def _open(self) -> WebSocket | None:
        """A connected WebSocket, or None with the reason in error (and REFUSED for good)."""
        try:
            return WebSocket.connect(
                self.host, self.port, token=self._token, timeout_s=CONNECT_TIMEOUT_S
            )
        except HandshakeRefused as refused:
            self._set(error=f"refused: {refused}")
            if refused.status in PERMANENT_REFUSALS:
                self._set(state=REFUSED)
        except ConnectionClosed as closed:
            self._set(error=f"{self.address} closed the connection ({closed.reason})")
        except ProtocolError as error:
            self._set(error=f"not a mocap server at {self.address}: {error}")
        except OSError as error:
            self._set(error=connect_failure(self.address, error))
        return None

    def _read(self, websocket: WebSocket) -> str:
        """Read until the connection ends or stop() is called; why it ended ("" for stop)."""
        try:
            while not self._stop.is_set():
                text = websocket.recv(POLL_S)
                if text is not None:
                    self._receive(text)
        except ConnectionClosed as closed:
            return closed_reason(closed.code, closed.reason)
        except ProtocolError as error:
            self._set(error=f"protocol error: {error}")
            return "protocol error"
        except MessageError as error:
            websocket.close(1007)  # invalid payload data
            self._set(error=f"bad message: {error}")
            return "bad message"
        websocket.close(CLOSE_GOING_AWAY)
        return ""

    def _receive(self, text: str) -> None:
        message = parse_message(text)
        if isinstance(message, Hello):
            self.hello = message
        elif isinstance(message, Frame):
            self.newest.put(message)
            with self._lock:
                self._frames += 1
                self._arrivals.append(time.monotonic())


def status_lines(status: Status) -> list[str]:
    """The panel's status block, one line each."""
    where = status.address
    headline = {
        DISCONNECTED: "Disconnected",
        CONNECTING: f"Connecting to {where}...",
        CONNECTED: f"Connected to {where}",
        RETRYING: f"Reconnecting to {where} in {status.retry_in_s or 0:.0f} s",
        REFUSED: f"Refused by {where}",
    }[status.state]
    lines = [headline, f"Frames: {status.frames} received, {status.fps:.1f} fps"]
    if status.ended and status.state != CONNECTED:
        lines.append(f"Disconnected: {status.ended}")
    if status.error:
        lines.append(f"Last error: {status.error}")
    return lines
