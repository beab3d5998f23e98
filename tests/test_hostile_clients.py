"""Hostile WebSocket clients against a real `mocap run`: memory stays bounded, the run goes on.

The clients are raw sockets that complete the opening handshake and then only write: big
messages, pings, never a read. The server's memory is read from /proc (VmHWM: its peak RSS).
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.frames import CloseCode
from websockets.sync.client import connect

from mocap.addresses import HostPort
from mocap.publish.inbound import InboundLimits, frame_limit
from mocap.publish.websocket import UPLOADS_IN_MEMORY, WebSocketServer
from tests.runs import MocapProcess, memory_bytes
from tests.support import running

MESSAGE_BYTES = 10_000_000  # the default upload limit: binary messages of this size are accepted
MESSAGES_PER_CLIENT = 4
HOSTILE_CLIENTS = 16
MAX_GROWTH_BYTES = 300_000_000
SEND_TIMEOUT_S = 10.0
# Small, so that the server's frames fill the client's socket at once: it reads nothing.
CLIENT_RECEIVE_BUFFER_BYTES = 4096
OPCODE_CONTINUATION, OPCODE_TEXT, OPCODE_BINARY = 0x0, 0x1, 0x2
OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG = 0x8, 0x9, 0xA
HELLO = '{"type":"hello"}'


def frame_header(opcode: int, length: int) -> bytes:
    """A final client frame's header for a payload of length bytes, masked with a zero key (so
    the payload goes as it is)."""
    first = 0x80 | opcode
    if length < 126:
        return struct.pack(">BB", first, 0x80 | length) + bytes(4)
    if length < 1 << 16:
        return struct.pack(">BBH", first, 0x80 | 126, length) + bytes(4)
    return struct.pack(">BBQ", first, 0x80 | 127, length) + bytes(4)


def handshake(port: int) -> socket.socket:
    """A WebSocket client socket past the opening handshake; it never reads after this."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CLIENT_RECEIVE_BUFFER_BYTES)
    sock.settimeout(SEND_TIMEOUT_S)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(1)
        assert chunk, "the server closed the connection during the handshake"
        response += chunk
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def read_exact(sock: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(min(count - len(data), 1 << 20))
        assert chunk, "the server closed the connection"
        data += chunk
    return bytes(data)


def read_frame_header(sock: socket.socket) -> tuple[int, int]:
    """The opcode and payload length of the server's next (unmasked) frame."""
    first, second = read_exact(sock, 2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack(">H", read_exact(sock, 2))
    elif length == 127:
        (length,) = struct.unpack(">Q", read_exact(sock, 8))
    return first & 0x0F, length


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    opcode, length = read_frame_header(sock)
    return opcode, read_exact(sock, length)


def send_until_refused(sock: socket.socket, header: bytes, payload: bytes, count: int) -> int:
    """Send count messages or until the server stops taking them; how many went whole."""
    sent = 0
    try:
        for _ in range(count):
            sock.sendall(header)
            sock.sendall(payload)
            sent += 1
    except OSError:  # a time-out (the server reads no more) or a reset (it closed us)
        pass
    return sent


@pytest.fixture
def server_run(tmp_path: Path) -> Iterator[tuple[MocapProcess, int]]:
    """`mocap run --demo` with a WebSocket server that admits the hostile clients and a watcher."""
    config = tmp_path / "many.toml"
    config.write_text(f"[server]\nmax_clients = {HOSTILE_CLIENTS + 4}\n")
    with MocapProcess(
        "run", "--demo", "--no-preview", "--config", config, "--ws", "127.0.0.1:0"
    ) as mocap:
        port = int(mocap.wait_for_line(r"viewer: http://127\.0\.0\.1:(\d+)", 120)[1])
        yield mocap, port
        if mocap.process.poll() is None:
            mocap.process.send_signal(signal.SIGINT)
            mocap.wait(20)


MIXED = [OPCODE_TEXT, OPCODE_BINARY] * (HOSTILE_CLIENTS // 2)
# Uploads: each would be held whole, so the server holds a few at once, server-wide.
ALL_BINARY = [OPCODE_BINARY] * HOSTILE_CLIENTS


@pytest.mark.parametrize("kinds", [MIXED, ALL_BINARY], ids=["mixed", "all-binary"])
def test_clients_sending_10_mb_messages_without_reading_cost_bounded_memory(
    server_run: tuple[MocapProcess, int], kinds: list[int]
) -> None:
    mocap, port = server_run
    url = f"ws://127.0.0.1:{port}/"
    with connect(url, open_timeout=30) as watcher:
        watcher.recv(timeout=30)  # hello
        watcher.recv(timeout=30)  # a frame: the model is loaded and warm
        before_bytes = memory_bytes(mocap.process.pid, "VmHWM")
        payload = b"x" * MESSAGE_BYTES
        sockets = [handshake(port) for _ in kinds]
        senders = [
            threading.Thread(
                target=send_until_refused,
                args=(sock, frame_header(kind, MESSAGE_BYTES), payload, MESSAGES_PER_CLIENT),
            )
            for sock, kind in zip(sockets, kinds, strict=True)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        after_bytes = memory_bytes(mocap.process.pid, "VmHWM")
        for sock in sockets:
            sock.close()
        growth_mb = (after_bytes - before_bytes) / 1e6
        assert after_bytes - before_bytes < MAX_GROWTH_BYTES, f"grew by {growth_mb:.0f} MB"
        # The watcher, which reads, still gets frames; a new client is served.
        watcher.recv(timeout=30)
        with connect(url, open_timeout=30) as newcomer:
            assert '"hello"' in str(newcomer.recv(timeout=30))
    mocap.process.send_signal(signal.SIGINT)
    assert mocap.wait(20) == 130
    assert "Traceback" not in mocap.stderr()


# --- in-process: the guards one by one ---------------------------------------------------------


def test_each_message_kind_has_its_own_limit_judged_from_the_frame_s_first_byte() -> None:
    limits = InboundLimits(max_text_bytes=10, max_upload_bytes=20)
    assert frame_limit(0x80 | OPCODE_TEXT, False, limits) == 10
    assert frame_limit(0x80 | OPCODE_BINARY, False, limits) == 20
    assert frame_limit(OPCODE_CONTINUATION, True, limits) == 20  # a binary message goes on
    assert frame_limit(OPCODE_CONTINUATION, False, limits) == 10  # a text message goes on
    assert frame_limit(0x80 | OPCODE_PING, True, limits) == 10


def test_a_10_mb_text_message_is_refused_at_its_header_not_buffered_whole() -> None:
    with running(WebSocketServer(HostPort("127.0.0.1", 0), HELLO)) as server:
        sock = handshake(server.address.port)
        with sock:
            sock.sendall(frame_header(OPCODE_TEXT, MESSAGE_BYTES) + b"x" * 1000)
            # The rest of the message is never sent: the refusal comes from the header alone.
            frames = [read_frame(sock) for _ in range(2)]
        assert frames[0] == (OPCODE_TEXT, HELLO.encode())
        opcode, payload = frames[1]
        assert opcode == OPCODE_CLOSE
        assert struct.unpack(">H", payload[:2])[0] == CloseCode.MESSAGE_TOO_BIG
        assert b"exceeds limit of 4096 bytes" in payload


def test_uploads_over_the_budget_wait_their_turn_while_frames_flow_then_all_are_answered() -> None:
    worker_may_go = threading.Event()

    def slow_upload(data: bytes) -> str:
        worker_may_go.wait(SEND_TIMEOUT_S)
        return f"got {len(data)}"

    uploads = [bytes(1000 + number) for number in range(UPLOADS_IN_MEMORY + 3)]
    server = WebSocketServer(HostPort("127.0.0.1", 0), HELLO, on_upload=slow_upload)
    with running(server):
        url = f"ws://127.0.0.1:{server.address.port}/"
        clients = [connect(url, open_timeout=SEND_TIMEOUT_S) for _ in uploads]
        with contextlib.ExitStack() as closing:
            for client in clients:
                closing.enter_context(client)
                assert client.recv(timeout=SEND_TIMEOUT_S) == HELLO
            for client, upload in zip(clients, uploads, strict=True):
                client.send(upload)
            # The worker is busy and the budget full: frames still reach everyone.
            server.publish('{"type":"frame"}')
            for client in clients:
                assert client.recv(timeout=SEND_TIMEOUT_S) == '{"type":"frame"}'
            worker_may_go.set()
            replies = [client.recv(timeout=SEND_TIMEOUT_S) for client in clients]
    assert replies == [f"got {len(upload)}" for upload in uploads]


def test_pings_from_a_client_that_reads_nothing_get_one_pong_not_one_each() -> None:
    pings = 2000
    with running(WebSocketServer(HostPort("127.0.0.1", 0), HELLO)) as server:
        sock = handshake(server.address.port)
        with sock:
            assert read_frame(sock) == (OPCODE_TEXT, HELLO.encode())
            big_bytes = 16_000_000  # far more than the sockets between us hold
            server.publish("x" * big_bytes)
            # Its header has come: the server has written it all, and waits for us to read.
            assert read_frame_header(sock) == (OPCODE_TEXT, big_bytes)
            for number in range(pings):
                payload = struct.pack(">I", number)
                sock.sendall(frame_header(OPCODE_PING, len(payload)) + payload)
            read_exact(sock, big_bytes)
            # Now that we read, a last ping is answered at once: its pong ends the count.
            last = struct.pack(">I", pings)
            sock.sendall(frame_header(OPCODE_PING, len(last)) + last)
            pongs: list[int] = []
            while not pongs or pongs[-1] != pings:
                opcode, payload = read_frame(sock)
                assert opcode == OPCODE_PONG
                pongs.append(struct.unpack(">I", payload)[0])
    # The latest ping of the flood is answered (a keepalive gets its pong), the others folded.
    assert pongs == [pings - 1, pings], f"{len(pongs)} pongs for {pings + 1} pings"
