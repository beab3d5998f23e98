"""WebSocketServer against real clients on loopback."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import socket
import struct
import time
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.frames import CloseCode
from websockets.sync.client import ClientConnection, connect

from mocap.addresses import HostPort
from mocap.errors import PublishError
from mocap.publish.websocket import CLOSE_TIMEOUT_S, JOIN_TIMEOUT_S, WebSocketServer
from tests.support import ipv6_loopback_works, wait_until

HELLO = '{"type":"hello","schema":"mocap.frame/1"}'
RECV_TIMEOUT_S = 5.0


def _frame(seq: int, pad: int = 0) -> str:
    return json.dumps({"type": "frame", "seq": seq, "pad": "x" * pad})


def _seq(message: str | bytes) -> int:
    return int(json.loads(message)["seq"])


@pytest.fixture
def server() -> Iterator[WebSocketServer]:
    server = WebSocketServer(HostPort("127.0.0.1", 0), HELLO)
    server.start()
    yield server
    server.close()


def _connect(server: WebSocketServer) -> ClientConnection:
    return connect(f"ws://127.0.0.1:{server.address.port}", open_timeout=RECV_TIMEOUT_S)


@contextlib.contextmanager
def _client(server: WebSocketServer) -> Iterator[ClientConnection]:
    """A connected client past its hello, so the server has registered it."""
    with _connect(server) as client:
        assert client.recv(timeout=RECV_TIMEOUT_S) == HELLO
        yield client


def _receive_until(client: ClientConnection, last_seq: int) -> list[int]:
    seqs = [_seq(client.recv(timeout=RECV_TIMEOUT_S))]
    while seqs[-1] != last_seq:
        seqs.append(_seq(client.recv(timeout=RECV_TIMEOUT_S)))
    return seqs


def _open_silent_client(address: HostPort) -> socket.socket:
    """A client that completes the opening handshake and then never reads a byte."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Set before connecting, so the advertised window stays small and fills quickly.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((address.host, address.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET / HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    return sock


def _reset(sock: socket.socket) -> None:
    """Close with an RST, as a killed process with unread data would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_hello_comes_first_then_frames_in_order(server: WebSocketServer) -> None:
    with _connect(server) as client:
        assert client.recv(timeout=RECV_TIMEOUT_S) == HELLO
        for seq in range(20):
            server.publish(_frame(seq))
            time.sleep(0.005)
        seqs = _receive_until(client, last_seq=19)
    # Newest-only may skip a frame, but never reorders or repeats one.
    assert seqs == sorted(set(seqs))


def test_set_hello_applies_to_clients_that_connect_later(server: WebSocketServer) -> None:
    server.set_hello('{"type":"hello","v":2}')
    with _connect(server) as client:
        assert client.recv(timeout=RECV_TIMEOUT_S) == '{"type":"hello","v":2}'


def test_every_client_gets_every_frame_it_keeps_up_with(server: WebSocketServer) -> None:
    with _client(server) as first, _client(server) as second:
        assert server.clients == 2
        for seq in range(5):
            server.publish(_frame(seq))
            # Lock-step: each client has read the frame before the next one is published.
            assert _seq(first.recv(timeout=RECV_TIMEOUT_S)) == seq
            assert _seq(second.recv(timeout=RECV_TIMEOUT_S)) == seq
    assert (server.sent, server.dropped) == (10, 0)


def test_a_client_that_never_reads_costs_the_others_nothing(server: WebSocketServer) -> None:
    with _client(server) as reader:
        silent = _open_silent_client(server.address)
        try:
            wait_until(lambda: server.clients == 2)
            # Lock-step with the reader (which therefore never loses a frame) until the kernel
            # buffers towards the silent client are full: then every frame replaces the one in
            # its mailbox, so each one counts a drop.
            seq = 0
            consecutive_drops = 0
            while consecutive_drops < 10:
                assert seq < 500, "the silent client never stalled"
                dropped_before = server.dropped
                server.publish(_frame(seq, pad=60_000))
                assert _seq(reader.recv(timeout=RECV_TIMEOUT_S)) == seq
                consecutive_drops = consecutive_drops + 1 if server.dropped > dropped_before else 0
                seq += 1

            # A fast burst: the reader ends on the newest frame; frames in between may be lost.
            burst = range(seq, seq + 100)
            for seq in burst:
                server.publish(_frame(seq, pad=60_000))
            _receive_until(reader, last_seq=burst[-1])

            # The silent client's sender is stuck for good: each new frame replaces the one in its
            # mailbox (one drop per frame), while the reader still gets every frame.
            dropped_before = server.dropped
            for seq in range(burst[-1] + 1, burst[-1] + 11):
                server.publish(_frame(seq, pad=60_000))
                assert _seq(reader.recv(timeout=RECV_TIMEOUT_S)) == seq
            assert server.dropped - dropped_before == 10
        finally:
            _reset(silent)
        wait_until(lambda: server.clients == 1)
        server.publish(_frame(seq + 1))
        assert _seq(reader.recv(timeout=RECV_TIMEOUT_S)) == seq + 1


def test_a_client_that_stops_reading_is_cut_off_after_the_stall_timeout() -> None:
    server = WebSocketServer(HostPort("127.0.0.1", 0), HELLO, stall_timeout_s=0.5)
    server.start()
    silent = _open_silent_client(server.address)
    try:
        wait_until(lambda: server.clients == 1)
        # Frames keep coming until its socket is full and one send waits past the time-out.
        seq = 0
        while server.clients:
            assert seq < 1000, "the silent client was never cut off"
            server.publish(_frame(seq, pad=60_000))
            seq += 1
            time.sleep(0.01)
    finally:
        _reset(silent)
        server.close()


def test_close_cuts_off_a_client_that_stopped_reading(server: WebSocketServer) -> None:
    silent = _open_silent_client(server.address)
    try:
        wait_until(lambda: server.clients == 1)
        # Once its socket is full, every frame is a drop: 20 of them mean it has stalled.
        seq = 0
        while server.dropped < 20:
            assert seq < 1000, "the silent client never stalled"
            server.publish(_frame(seq, pad=60_000))
            seq += 1
            time.sleep(0.005)
        started_s = time.monotonic()
        server.close()
        assert time.monotonic() - started_s < JOIN_TIMEOUT_S
        assert server.clients == 0
    finally:
        _reset(silent)


def test_an_oversized_inbound_message_closes_only_that_client(server: WebSocketServer) -> None:
    with _client(server) as sender, _client(server) as watcher:
        sender.send("x" * 5_000)
        with pytest.raises(ConnectionClosedError) as closed:
            sender.recv(timeout=RECV_TIMEOUT_S)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CloseCode.MESSAGE_TOO_BIG
        wait_until(lambda: server.clients == 1)
        server.publish(_frame(1))
        assert _seq(watcher.recv(timeout=RECV_TIMEOUT_S)) == 1


def test_small_control_messages_and_unhandled_uploads_keep_the_connection(
    server: WebSocketServer,
) -> None:
    with _client(server) as client:
        client.send(b"\x89PNG not yet")  # no upload handler: ignored
        client.send('{"type":"parts","parts":["pose"]}')  # understood by no one yet: let go
        server.publish(_frame(7))
        assert _seq(client.recv(timeout=RECV_TIMEOUT_S)) == 7
        assert server.clients == 1


def test_publish_without_clients_is_harmless(server: WebSocketServer) -> None:
    never_started = WebSocketServer(HostPort("127.0.0.1", 0), HELLO)
    never_started.publish(_frame(0))
    server.publish(_frame(0))
    with _client(server) as client:
        server.publish(_frame(1))
        assert _seq(client.recv(timeout=RECV_TIMEOUT_S)) == 1
    server.close()
    server.publish(_frame(2))
    assert server.dropped == 0


def test_close_closes_clients_with_going_away_and_returns_promptly(
    server: WebSocketServer,
) -> None:
    with _client(server) as first, _client(server) as second:
        started_s = time.monotonic()
        server.close()
        # Reading clients complete the closing handshake at once: no close time-out is waited.
        assert time.monotonic() - started_s < CLOSE_TIMEOUT_S
        for client in (first, second):
            with pytest.raises(ConnectionClosedOK) as closed:
                client.recv(timeout=RECV_TIMEOUT_S)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == CloseCode.GOING_AWAY
    assert server.clients == 0
    server.close()


def test_a_port_in_use_is_named_with_the_fix() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        server = WebSocketServer(HostPort("127.0.0.1", port), HELLO)
        message = (
            f"cannot listen on 127.0.0.1:{port}: address already in use; "
            "choose another with --ws HOST:PORT"
        )
        with pytest.raises(PublishError) as refused:
            server.start()
    assert str(refused.value) == message
    server.close()


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("192.0.2.1", "cannot assign requested address"),  # TEST-NET-1: not on this machine
        ("no-such-host.invalid", "does not resolve"),
    ],
)
def test_an_unbindable_host_is_named(host: str, reason: str) -> None:
    server = WebSocketServer(HostPort(host, 0), HELLO)
    with pytest.raises(PublishError, match=rf"cannot listen on {re.escape(host)}:0: .*{reason}"):
        server.start()


def test_the_real_port_is_reported_when_port_0_was_asked(server: WebSocketServer) -> None:
    assert server.address.host == "127.0.0.1"
    assert server.address.port != 0
    with socket.create_connection(("127.0.0.1", server.address.port), timeout=RECV_TIMEOUT_S):
        pass


@pytest.mark.skipif(not ipv6_loopback_works(), reason="no IPv6 loopback here")
def test_serves_on_ipv6_loopback() -> None:
    server = WebSocketServer(HostPort("::1", 0), HELLO)
    server.start()
    try:
        with connect(f"ws://[::1]:{server.address.port}", open_timeout=RECV_TIMEOUT_S) as client:
            assert client.recv(timeout=RECV_TIMEOUT_S) == HELLO
            server.publish(_frame(1))
            assert _seq(client.recv(timeout=RECV_TIMEOUT_S)) == 1
    finally:
        server.close()
