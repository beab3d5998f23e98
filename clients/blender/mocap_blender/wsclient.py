"""A minimal WebSocket client (RFC 6455) over a plain socket. Pure: no bpy.

Blender's Python has no `websockets` package, and an add-on should not install one, so this is
the little a mocap client needs: the opening handshake (with an optional bearer token), masked
client frames, text messages (fragmented or not), answering pings, and the closing handshake.
Binary messages (the server's replies to photo uploads) are read and ignored. No extensions
(no compression) are offered, so frames never have RSV bits set.

The frame codec (encode_frame, decode_frame) does no I/O and is tested against literal bytes;
WebSocket is the thin socket layer over it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
import struct
from dataclasses import dataclass
from typing import NoReturn

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
CONTROL_OPCODES = (OP_CLOSE, OP_PING, OP_PONG)
DATA_OPCODES = (OP_CONTINUATION, OP_TEXT, OP_BINARY)

CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_PROTOCOL_ERROR = 1000, 1001, 1002
CLOSE_NO_STATUS, CLOSE_ABNORMAL = 1005, 1006
CLOSE_INVALID_DATA, CLOSE_TOO_BIG = 1007, 1009

# mocap's frames are ~25 kB; far more than that is a broken or hostile server.
MAX_MESSAGE_BYTES = 16 << 20
MAX_RESPONSE_HEAD_BYTES = 16 << 10
RECV_CHUNK_BYTES = 64 << 10


class ProtocolError(Exception):
    """The server broke RFC 6455; close_code is what the client closes with."""

    def __init__(self, message: str, close_code: int = CLOSE_PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.close_code = close_code


class HandshakeRefused(Exception):  # noqa: N818 - an answer, like an HTTP status
    """The server answered the opening handshake with an HTTP status other than 101."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}".strip())
        self.status = status
        self.reason = reason


class ConnectionClosed(Exception):  # noqa: N818 - the name websockets uses
    """The connection ended: code and reason from the close frame (1006 when there was none)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}".strip())
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Frame:
    fin: bool
    opcode: int
    payload: bytes


# --- the frame codec (pure) --------------------------------------------------------------------


def apply_mask(data: bytes, mask: bytes) -> bytes:
    """XOR data with the 4-byte mask repeated (its own inverse), a whole block at a time."""
    if not data:
        return b""
    repeated = (mask * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(data), "big"
    )


def encode_frame(opcode: int, payload: bytes, mask: bytes, fin: bool = True) -> bytes:
    """One client frame: clients must mask every frame with a fresh 4-byte key (section 5.3)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    length = len(payload)
    if length < 126:
        head += bytes([0x80 | length])
    elif length < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", length)
    return head + mask + apply_mask(payload, mask)


def decode_frame(buffer: bytes | bytearray) -> tuple[Frame, int] | None:
    """The first frame in buffer and how many bytes it took, or None while it is incomplete.

    Raises ProtocolError for what a server must not send: a masked frame, RSV bits, an unknown
    opcode, a fragmented or oversized control frame, a frame over MAX_MESSAGE_BYTES.
    """
    if len(buffer) < 2:
        return None
    first, second = buffer[0], buffer[1]
    fin, opcode = bool(first & 0x80), first & 0x0F
    if first & 0x70:
        raise ProtocolError("reserved bits set without an extension")
    if opcode not in CONTROL_OPCODES + DATA_OPCODES:
        raise ProtocolError(f"unknown opcode {opcode:#x}")
    if second & 0x80:
        raise ProtocolError("the server masked a frame")
    length, offset = second & 0x7F, 2
    if opcode in CONTROL_OPCODES and (length > 125 or not fin):
        raise ProtocolError("a control frame over 125 bytes or fragmented")
    if length >= 126:
        size = 2 if length == 126 else 8
        if len(buffer) < offset + size:
            return None
        (length,) = struct.unpack(
            "!H" if size == 2 else "!Q", bytes(buffer[offset : offset + size])
        )
        offset += size
    if length > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"a {length}-byte frame", CLOSE_TOO_BIG)
    if len(buffer) < offset + length:
        return None
    return Frame(fin, opcode, bytes(buffer[offset : offset + length])), offset + length


def close_payload(code: int, reason: str = "") -> bytes:
    return struct.pack("!H", code) + reason.encode()[:123]


def parse_close(payload: bytes) -> tuple[int, str]:
    """(code, reason) of a close frame; 1005 when it carries no code (section 7.1.5)."""
    if len(payload) < 2:
        return CLOSE_NO_STATUS, ""
    (code,) = struct.unpack("!H", payload[:2])
    return code, payload[2:].decode("utf-8", "replace")


# --- the opening handshake (pure) --------------------------------------------------------------


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def handshake_request(host: str, port: int, path: str, key: str, token: str = "") -> bytes:
    """The client's GET request. The token goes in a header, never the URL, so that no log of
    request lines can ever show it."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {authority}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        "User-Agent: mocap-blender",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_response_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    """(status, reason phrase, headers with lower-case names) of an HTTP response head."""
    status_line, *header_lines = head.decode("iso-8859-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP response: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers


def check_upgrade(headers: dict[str, str], key: str) -> None:
    """Section 4.1: the 101 must upgrade to websocket and prove it read our key."""
    if headers.get("upgrade", "").lower() != "websocket":
        raise ProtocolError("the server did not upgrade to websocket")
    if "upgrade" not in headers.get("connection", "").lower():
        raise ProtocolError("the server's Connection header lacks 'upgrade'")
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise ProtocolError("wrong Sec-WebSocket-Accept")
    if headers.get("sec-websocket-extensions") or headers.get("sec-websocket-protocol"):
        raise ProtocolError("the server chose an extension or subprotocol we did not offer")


# --- the socket layer --------------------------------------------------------------------------


class WebSocket:
    """One client connection. Not thread-safe: one thread reads, and closes, it."""

    def __init__(self, sock: socket.socket, buffered: bytes = b"") -> None:
        self._sock = sock
        self._buffer = bytearray(buffered)
        self._fragments: list[bytes] = []
        self._fragment_opcode = OP_TEXT
        self._closed = False

    @classmethod
    def connect(
        cls, host: str, port: int, *, path: str = "/", token: str = "", timeout_s: float = 5.0
    ) -> WebSocket:
        """Open a TCP connection and complete the opening handshake within timeout_s.

        Raises OSError (no server, time-out), HandshakeRefused (an HTTP status such as 401),
        ProtocolError (not a WebSocket server).
        """
        sock = socket.create_connection((host, port), timeout=timeout_s)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            key = base64.b64encode(os.urandom(16)).decode()
            sock.sendall(handshake_request(host, port, path, key, token))
            head, rest = _read_head(sock)
            status, phrase, headers = parse_response_head(head)
            if status != 101:
                raise HandshakeRefused(status, _refusal_reason(sock, phrase, headers, rest))
            check_upgrade(headers, key)
        except BaseException:
            sock.close()
            raise
        return cls(sock, rest)

    def __enter__(self) -> WebSocket:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def recv(self, timeout_s: float) -> str | None:
        """The next text message, or None when none completes within timeout_s.

        Pings are answered on the way. Raises ConnectionClosed when the connection ends (after
        answering the server's close frame), ProtocolError when the server breaks the protocol
        (after closing with the matching code).
        """
        self._sock.settimeout(timeout_s)
        while True:
            try:
                decoded = decode_frame(self._buffer)
            except ProtocolError as exc:
                self._fail(exc)
            if decoded is None:
                if not self._fill():
                    return None
                continue
            frame, used = decoded
            del self._buffer[:used]
            message = self._handle(frame)
            if message is not None:
                return message

    def close(self, code: int = CLOSE_NORMAL) -> None:
        """Send a close frame (if the connection is still open) and close the socket; idempotent.

        Does not wait for the server's answering close frame: mocap's server closes the TCP
        connection itself, and a client that is going away has nothing more to read."""
        if not self._closed:
            self._closed = True
            # The peer may be gone already: then closing the socket is all that is left to do.
            with contextlib.suppress(ConnectionClosed):
                self._send(OP_CLOSE, close_payload(code))
        self._sock.close()

    def _fill(self) -> bool:
        """Read more bytes into the buffer; False on a time-out; ConnectionClosed at EOF."""
        try:
            data = self._sock.recv(RECV_CHUNK_BYTES)
        except TimeoutError:
            return False
        except OSError as exc:
            self._lost()
            raise ConnectionClosed(CLOSE_ABNORMAL, f"connection lost ({exc})") from exc
        if not data:
            self._lost()
            raise ConnectionClosed(CLOSE_ABNORMAL, "connection lost")
        self._buffer += data
        return True

    def _lost(self) -> None:
        """The TCP connection ended without a closing handshake: nothing left to send."""
        self._closed = True
        self._sock.close()

    def _handle(self, frame: Frame) -> str | None:
        """React to one frame; the text of a message it completes, else None."""
        if frame.opcode == OP_PING:
            self._send(OP_PONG, frame.payload)
        elif frame.opcode == OP_CLOSE:
            code, reason = parse_close(frame.payload)
            self.close(code if code != CLOSE_NO_STATUS else CLOSE_NORMAL)
            raise ConnectionClosed(code, reason)
        elif frame.opcode in DATA_OPCODES:
            return self._assemble(frame)
        return None  # a pong: nothing to do

    def _assemble(self, frame: Frame) -> str | None:
        starts = frame.opcode != OP_CONTINUATION
        if starts == bool(self._fragments):
            self._fail(ProtocolError("a continuation frame out of place"))
        if starts:
            self._fragment_opcode = frame.opcode
        self._fragments.append(frame.payload)
        if sum(map(len, self._fragments)) > MAX_MESSAGE_BYTES:
            self._fail(ProtocolError("a message over the size limit", CLOSE_TOO_BIG))
        if not frame.fin:
            return None
        payload, self._fragments = b"".join(self._fragments), []
        if self._fragment_opcode == OP_BINARY:
            return None  # photo replies: not for this client
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            self._fail(ProtocolError("a text message that is not UTF-8", CLOSE_INVALID_DATA))

    def _send(self, opcode: int, payload: bytes) -> None:
        try:
            self._sock.sendall(encode_frame(opcode, payload, os.urandom(4)))
        except OSError as exc:
            self._lost()
            raise ConnectionClosed(CLOSE_ABNORMAL, f"connection lost ({exc})") from exc

    def _fail(self, error: ProtocolError) -> NoReturn:
        self.close(error.close_code)
        raise error


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The response head (without the blank line) and whatever bytes followed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_RESPONSE_HEAD_BYTES:
            raise ProtocolError("an HTTP response head over 16 kB")
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionClosed(CLOSE_ABNORMAL, "the server closed during the handshake")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _refusal_reason(sock: socket.socket, phrase: str, headers: dict[str, str], body: bytes) -> str:
    """The server's own words for a refusal: mocap puts them in a short body ("missing or wrong
    token"); the status phrase when there is none."""
    length = min(int(headers.get("content-length", "0") or 0), 4096)
    try:
        while len(body) < length:
            chunk = sock.recv(length - len(body))
            if not chunk:
                break
            body += chunk
    except OSError:
        pass  # the reason is a courtesy; the status says what happened
    text = body[:length].decode("utf-8", "replace").strip()
    return text or phrase
