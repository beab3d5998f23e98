"""MJPEG over http(s) (multipart/x-mixed-replace), read by mocap itself rather than FFmpeg.

FFmpeg's mpjpeg demuxer keeps a part without Content-Length in memory until its boundary comes:
a camera that never sends one grew the process past 1.5 GB in 10 s. Here everything a camera
sends has a cap: the response's and each part's header block, and each part (by its
Content-Length when it gives one, else while scanning for the boundary). A part over its cap ends
the connection, and the stream source reopens it with its usual back-off.

open_mjpeg() answers None when the URL gives something else (a redirect, a request for
credentials other than basic auth, a chunked answer, a plain video file): FFmpeg, which handles
those, opens it.
"""

from __future__ import annotations

import base64
import logging
import socket
import ssl
import time
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np

from mocap.errors import SourceError
from mocap.frames import ImageArray
from mocap.photos.checks import PhotoRefused, read_header

logger = logging.getLogger("mocap.sources")

MAX_PART_BYTES = 16 * 1024 * 1024  # a camera's JPEG frame is well under 1 MB
# The response's header block and each part's: room for a long boundary (100 kB was tried).
MAX_HEADER_BYTES = 256 * 1024
# An 8K frame decodes to 100 MB; a JPEG's header may claim 65535x65535 (13 GB): refused unread.
MAX_FRAME_PIXELS = 7680 * 4320
# A camera sending parts that do not decode is reopened after this many in a row, so a reading
# thread never spins on a stream of junk.
MAX_BAD_PARTS_IN_A_ROW = 30
_RECEIVE_BYTES = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
NO_IMAGE: ImageArray = np.empty((0, 0, 3), dtype=np.uint8)


class _StreamError(Exception):
    """The stream cannot go on: it ended, or sent more than a cap allows."""


class _PartTooLargeError(_StreamError):
    """A part over MAX_PART_BYTES: the connection is dropped rather than the part kept."""


class MjpegStream:
    """An open multipart response read part by part: what the capture thread reads, in the
    shape of a cv2.VideoCapture (read, get, release)."""

    def __init__(self, connection: socket.socket, boundary: bytes, received: bytes, name: str):
        self._connection = connection
        self._boundary = b"--" + boundary
        self._buffer = bytearray(received)
        self._name = name

    def read(self) -> tuple[bool, ImageArray]:
        """The next frame (uint8 BGR), or (False, NO_IMAGE) when the stream cannot go on."""
        try:
            return True, self._next_image()
        except _PartTooLargeError as exc:  # worth a line: the camera misbehaves
            logger.warning("%s sent %s; reconnecting", self._name, exc)
        except (_StreamError, OSError) as exc:  # the reconnection says it
            logger.debug("%s: %s", self._name, exc)
        return False, NO_IMAGE

    def get(self, _property_id: int) -> float:
        """No property is known: an MJPEG stream has no frame rate, count or position."""
        return 0.0

    def release(self) -> None:
        self._connection.close()

    def _next_image(self) -> ImageArray:
        for _ in range(MAX_BAD_PARTS_IN_A_ROW):
            image = decode_frame(self._next_part())
            if image is not None:
                return image
        raise _StreamError(f"{MAX_BAD_PARTS_IN_A_ROW} parts in a row were no usable JPEG")

    def _next_part(self) -> bytes:
        self._skip_past_boundary()
        headers = parse_headers(self._take_header_block())
        length = content_length(headers)
        if length is None:
            return self._take_until_boundary()
        if length > MAX_PART_BYTES:
            raise _PartTooLargeError(f"a part of {length:,} bytes (over {MAX_PART_BYTES:,})")
        return self._take(length)

    def _skip_past_boundary(self) -> None:
        """Drop everything up to and including the next boundary line."""
        skipped_bytes = 0
        while (found := self._buffer.find(self._boundary)) < 0:
            keep_bytes = len(self._boundary) - 1  # a boundary may straddle two receives
            skipped_bytes += max(0, len(self._buffer) - keep_bytes)
            if skipped_bytes > MAX_PART_BYTES:
                raise _PartTooLargeError(f"over {MAX_PART_BYTES:,} bytes without a boundary")
            del self._buffer[: max(0, len(self._buffer) - keep_bytes)]
            self._receive()
        del self._buffer[: found + len(self._boundary)]
        if self._take_line(MAX_HEADER_BYTES).startswith(b"--"):
            raise _StreamError("the camera ended the stream")

    def _take_header_block(self) -> list[bytes]:
        """The part's header lines, up to the empty line that ends them."""
        lines: list[bytes] = []
        budget_bytes = MAX_HEADER_BYTES
        while line := self._take_line(budget_bytes):
            lines.append(line)
            budget_bytes -= len(line) + 1
            if budget_bytes <= 0:
                raise _StreamError(f"a part's header block over {MAX_HEADER_BYTES:,} bytes")
        return lines

    def _take_line(self, max_bytes: int) -> bytes:
        """The next line without its line end; _StreamError past max_bytes."""
        searched_bytes = 0
        while (end := self._buffer.find(b"\n", searched_bytes)) < 0:
            searched_bytes = len(self._buffer)
            if searched_bytes > max_bytes:
                raise _StreamError(f"a header line over {max_bytes:,} bytes")
            self._receive()
        line = bytes(self._buffer[:end]).rstrip(b"\r")
        del self._buffer[: end + 1]
        return line

    def _take_until_boundary(self) -> bytes:
        """A part without Content-Length: its bytes up to the next boundary (left unread)."""
        searched_bytes = 0
        while (found := self._buffer.find(self._boundary, searched_bytes)) < 0:
            searched_bytes = max(0, len(self._buffer) - len(self._boundary) + 1)
            if len(self._buffer) > MAX_PART_BYTES:
                raise _PartTooLargeError(f"a part over {MAX_PART_BYTES:,} bytes without a boundary")
            self._receive()
        part = bytes(self._buffer[:found])
        del self._buffer[:found]
        return part

    def _take(self, length: int) -> bytes:
        while len(self._buffer) < length:
            self._receive()
        part = bytes(self._buffer[:length])
        del self._buffer[:length]
        return part

    def _receive(self) -> None:
        received = self._connection.recv(_RECEIVE_BYTES)  # the socket's time-out applies
        if not received:
            raise _StreamError("the camera closed the connection")
        self._buffer += received


def decode_frame(part: bytes) -> ImageArray | None:
    """A JPEG part as uint8 BGR; None for anything else, or a frame too large to decode safely
    (judged from its header, before any pixel is decoded)."""
    try:
        header = read_header(part, "part")
    except PhotoRefused:
        return None
    if header.kind != "JPEG" or header.size.width * header.size.height > MAX_FRAME_PIXELS:
        return None
    try:
        image = cv2.imdecode(np.frombuffer(part, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        return None
    if image is None:
        return None
    return np.ascontiguousarray(image, dtype=np.uint8)


# --- opening: one HTTP request, the response's header block ------------------------------------


def open_mjpeg(url: str, timeout_s: float, description: str) -> MjpegStream | None:
    """Request an http(s) URL; its MJPEG stream, or None when the answer is anything else (for
    FFmpeg to open). SourceError when the camera cannot be reached or does not answer in time.

    A user and password in the URL are sent as HTTP basic auth, as FFmpeg does.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    deadline_s = time.monotonic() + timeout_s
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme.lower()]
        connection = socket.create_connection((host, port), timeout=timeout_s)
    except (OSError, UnicodeError, ValueError) as exc:
        raise SourceError(f"{description} cannot be reached ({_reason(exc)})") from None
    try:
        if parts.scheme.lower() == "https":
            connection = _insecure_tls().wrap_socket(connection, server_hostname=host)
        connection.sendall(request_bytes(url))
        status, headers, received = _read_response_head(connection, deadline_s)
    except (OSError, _StreamError) as exc:
        connection.close()
        raise SourceError(f"{description} gave no answer ({_reason(exc)})") from None
    # A chunked answer (which HTTP/1.0 forbids, yet a server may send) is left to FFmpeg too.
    plain = status == 200 and "transfer-encoding" not in headers
    boundary = multipart_boundary(headers.get("content-type", "")) if plain else None
    if boundary is None:
        connection.close()
        return None
    connection.settimeout(timeout_s)
    return MjpegStream(connection, boundary, received, description)


def request_bytes(url: str) -> bytes:
    """An HTTP/1.0 GET: the answer comes unchunked and ends with the connection."""
    parts = urlsplit(url)
    userinfo, _at, host = parts.netloc.rpartition("@")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.0", f"Host: {host}", "User-Agent: mocap", "Accept: */*"]
    if userinfo:
        user, _colon, password = userinfo.partition(":")
        credentials = f"{unquote(user)}:{unquote(password)}".encode()
        lines.append(f"Authorization: Basic {base64.b64encode(credentials).decode('ascii')}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _read_response_head(
    connection: socket.socket, deadline_s: float
) -> tuple[int, dict[str, str], bytes]:
    """The status code, the headers (by lower-case name) and what came after them; the whole
    head must arrive before the deadline, so a camera sending a byte at a time cannot hold the
    start."""
    received = bytearray()
    while (end := received.find(b"\r\n\r\n")) < 0:
        if len(received) > MAX_HEADER_BYTES:
            raise _StreamError(f"a response header over {MAX_HEADER_BYTES:,} bytes")
        remaining_s = deadline_s - time.monotonic()
        if remaining_s <= 0:
            raise TimeoutError("timed out")
        connection.settimeout(remaining_s)
        chunk = connection.recv(_RECEIVE_BYTES)
        if not chunk:
            raise _StreamError("the connection closed before the response's header")
        received += chunk
    status_line, *lines = bytes(received[:end]).split(b"\r\n")
    fields = status_line.split(maxsplit=2)
    status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
    return status, parse_headers(lines), bytes(received[end + 4 :])


def parse_headers(lines: list[bytes]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.decode("latin-1").partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers


def multipart_boundary(content_type: str) -> bytes | None:
    """The boundary of a multipart content type, without the quotes and leading dashes some
    cameras add (searching for what follows them finds the boundary line either way)."""
    media_type, *parameters = content_type.split(";")
    if not media_type.strip().lower().startswith("multipart/"):
        return None
    for parameter in parameters:
        name, _equals, value = parameter.partition("=")
        boundary = value.strip().strip('"').lstrip("-")
        if name.strip().lower() == "boundary" and boundary:
            return boundary.encode("latin-1")
    return None


def content_length(headers: dict[str, str]) -> int | None:
    """The part's Content-Length when it is a plain number, else None (the boundary ends it)."""
    value = headers.get("content-length", "")
    return int(value) if value.isascii() and value.isdigit() else None


def _insecure_tls() -> ssl.SSLContext:
    # Network cameras serve self-signed certificates; FFmpeg, which read these URLs before,
    # does not verify them either.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
