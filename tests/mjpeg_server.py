"""A tiny local "network camera": an HTTP server streaming MJPEG (multipart/x-mixed-replace).

    with MjpegServer(size=(320, 240), fps=20) as server:
        source = open_source(SourceConfig(camera=server.url))
        ...
        server.stop()   # the camera goes away: open connections are cut, the port refuses
        server.start()  # ... and comes back on the same port

Frames are generated (a grey level and the frame number, so they differ) or, with `video=`, the
frames of a video file, resized to `size` and looped. Every frame is JPEG-encoded once, up front,
so serving costs no CPU that the code under test could miss. Serves on 127.0.0.1 only.

`credentials=(user, password)` makes it answer 401 to a request without them as basic auth.

`misbehaviour=` turns it into a hostile camera (see MISBEHAVIOURS): a part that never ends, parts
without Content-Length, a giant boundary string, or a part of 50 MB among the frames.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

BOUNDARY = "mocapframe"
_GENERATED_FRAME_COUNT = 50
MISBEHAVIOURS = ("endless-part", "no-content-length", "giant-boundary", "50-mb-part")
_GIANT_BOUNDARY = "x" * 100_000
_HUGE_PART_BYTES = 50_000_000
_JUNK_CHUNK = bytes(range(256)) * 256  # 64 KiB with no boundary in it


class MjpegServer:
    """Serves the same looped JPEG sequence to every client at `fps`, from the client's start."""

    def __init__(
        self,
        size: tuple[int, int] = (320, 240),
        fps: float = 20.0,
        video: Path | None = None,
        misbehaviour: str | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        if misbehaviour is not None and misbehaviour not in MISBEHAVIOURS:
            raise ValueError(f"unknown misbehaviour {misbehaviour!r}")
        self.size = size
        self.fps = fps
        self.misbehaviour = misbehaviour
        self._authorization = (
            "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
            if credentials
            else None
        )
        self._boundary = _GIANT_BOUNDARY if misbehaviour == "giant-boundary" else BOUNDARY
        self._jpegs = _video_jpegs(video, size) if video else _generated_jpegs(size)
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video"

    def start(self) -> None:
        """Listen (on a free port the first time, on the same port after a stop) and serve."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and cut every open stream, like a camera that lost power."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._clients_lock:
            for connection in self._clients:
                _cut(connection)
            self._clients.clear()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._server = None

    def __enter__(self) -> MjpegServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _stream(self, handler: BaseHTTPRequestHandler) -> None:
        with self._clients_lock:
            self._clients.add(handler.connection)
        handler.send_response(200)
        handler.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={self._boundary}")
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()
        period_s = 1.0 / self.fps
        due_s = time.monotonic()
        index = 0
        try:
            while not self._stopping.is_set():
                self._send_part(handler, index)
                index += 1
                due_s += period_s
                self._stopping.wait(max(0.0, due_s - time.monotonic()))
        except OSError:  # the client went away, or stop() cut the connection
            pass
        finally:
            with self._clients_lock:
                self._clients.discard(handler.connection)

    def _send_part(self, handler: BaseHTTPRequestHandler, index: int) -> None:
        jpeg = self._jpegs[index % len(self._jpegs)]
        # The fourth part misbehaves, after three good frames have opened the stream.
        endless = self.misbehaviour == "endless-part" and index == 3
        if self.misbehaviour == "50-mb-part" and index == 3:
            jpeg = jpeg + bytes(_HUGE_PART_BYTES - len(jpeg))  # a frame, then 50 MB of zeros
        headers = "Content-Type: image/jpeg\r\n"
        if not endless and self.misbehaviour != "no-content-length":
            headers += f"Content-Length: {len(jpeg)}\r\n"
        handler.wfile.write(f"--{self._boundary}\r\n{headers}\r\n".encode("ascii"))
        handler.wfile.write(jpeg)
        while endless and not self._stopping.is_set():  # bytes, and never a boundary
            handler.wfile.write(_JUNK_CHUNK)
        handler.wfile.write(b"\r\n")
        handler.wfile.flush()


def _handler_for(server: MjpegServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if server._authorization not in (None, self.headers.get("Authorization")):
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="camera"')
                self.end_headers()
                return
            server._stream(self)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: tests read their own output."""

    return Handler


def _cut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the client
        connection.shutdown(socket.SHUT_RDWR)


def _generated_jpegs(size: tuple[int, int]) -> list[bytes]:
    width, height = size
    jpegs = []
    for index in range(_GENERATED_FRAME_COUNT):
        image = np.full((height, width, 3), 40 + 4 * index, dtype=np.uint8)
        cv2.putText(
            image, str(index), (10, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 255), 2
        )
        jpegs.append(_encode_jpeg(image))
    return jpegs


def _video_jpegs(video: Path, size: tuple[int, int]) -> list[bytes]:
    capture = cv2.VideoCapture(str(video))
    jpegs = []
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            jpegs.append(_encode_jpeg(cv2.resize(image, size, interpolation=cv2.INTER_AREA)))
    finally:
        capture.release()
    if not jpegs:
        raise ValueError(f"no frames decoded from {video}")
    return jpegs


def _encode_jpeg(image: cv2.typing.MatLike) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(encoded)
