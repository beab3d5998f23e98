"""The Blender add-on's WebSocket client (clients/blender/mocap_blender/wsclient.py): its frame
codec against RFC 6455's own examples, and the client against real servers on 127.0.0.1:
mocap's WebSocketServer, and the websockets library's server for what mocap's never sends
(pings on demand, fragments, binary messages, custom close codes)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import pytest
from mocap_blender.wsclient import (
    OP_BINARY,
    OP_PING,
    OP_TEXT,
    ConnectionClosed,
    Frame,
    HandshakeRefused,
    ProtocolError,
    WebSocket,
    accept_key,
    apply_mask,
    decode_frame,
    encode_frame,
    parse_close,
)
from websockets.exceptions import ConnectionClosedError
from websockets.sync.server import Server, ServerConnection, serve

from mocap.publish.websocket import WebSocketServer
from tests.support import mocap_server, wait_until

HELLO = '{"type":"hello","schema":"mocap.frame/1"}'
TIMEOUT_S = 5.0


# --- the codec, against RFC 6455 section 5.7 --------------------------------------------------


def test_accept_key_is_rfc_6455s_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_a_masked_text_frame_is_the_rfcs_bytes() -> None:
    mask = bytes.fromhex("37fa213d")
    assert encode_frame(OP_TEXT, b"Hello", mask) == bytes.fromhex("8185 37fa213d 7f9f4d5158")


def test_masking_is_its_own_inverse() -> None:
    mask = bytes.fromhex("01020304")
    data = bytes(range(256)) * 3
    assert apply_mask(apply_mask(data, mask), mask) == data
    assert apply_mask(b"", mask) == b""


@pytest.mark.parametrize(
    ("length", "header"),
    [(125, "81fd"), (126, "81fe007e"), (65535, "81feffff"), (65536, "81ff0000000000010000")],
)
def test_lengths_take_7_16_or_64_bits(length: int, header: str) -> None:
    frame = encode_frame(OP_TEXT, b"a" * length, bytes(4))
    assert frame.startswith(bytes.fromhex(header))
    assert len(frame) == len(bytes.fromhex(header)) + 4 + length


def test_decodes_the_rfcs_unmasked_frames() -> None:
    single = bytes.fromhex("810548656c6c6f")
    assert decode_frame(single) == (Frame(True, OP_TEXT, b"Hello"), 7)
    first = bytes.fromhex("010348656c")
    assert decode_frame(first + bytes.fromhex("80026c6f")) == (Frame(False, OP_TEXT, b"Hel"), 5)
    assert decode_frame(bytes.fromhex("890548656c6c6f")) == (Frame(True, OP_PING, b"Hello"), 7)
    binary = bytes.fromhex("827e0100") + bytes(256)
    assert decode_frame(binary) == (Frame(True, OP_BINARY, bytes(256)), 260)


def test_an_incomplete_frame_waits_for_more() -> None:
    frame = bytes.fromhex("827e0100") + bytes(256)
    for cut in (0, 1, 3, 100):
        assert decode_frame(frame[:cut]) is None


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("8185" + "37fa213d" + "7f9f4d5158", "masked"),
        ("c100", "reserved bits"),
        ("8300", "unknown opcode"),
        ("097e0100", "control frame"),
        ("0900", "control frame"),
    ],
)
def test_frames_a_server_must_not_send_are_refused(data: str, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        decode_frame(bytes.fromhex(data))


def test_close_payloads() -> None:
    assert parse_close(bytes.fromhex("03e9") + b"bye") == (1001, "bye")
    assert parse_close(b"") == (1005, "")


# --- against mocap's server --------------------------------------------------------------------


def connect(port: int, token: str = "") -> WebSocket:
    return WebSocket.connect("127.0.0.1", port, token=token, timeout_s=TIMEOUT_S)


def recv(client: WebSocket) -> str | None:
    return client.recv(TIMEOUT_S)


def wait_for_clients(server: WebSocketServer, count: int) -> None:
    wait_until(lambda: server.clients == count, failure=lambda: f"{server.clients} clients")


def test_receives_hello_and_frames_of_every_size_from_mocap() -> None:
    with mocap_server(HELLO) as server:
        client = connect(server.address.port)
        assert recv(client) == HELLO
        wait_for_clients(server, 1)
        # 16-bit and 64-bit lengths, and non-ASCII text.
        for text in ('{"seq": 1}', "x" * 70_000, '{"name": "é ✓"}'):
            server.publish(text)
            assert recv(client) == text
        client.close()
        wait_for_clients(server, 0)


def test_recv_returns_none_when_nothing_comes() -> None:
    with mocap_server(HELLO) as server:
        client = connect(server.address.port)
        assert recv(client) == HELLO
        assert client.recv(0.05) is None
        client.close()


def test_a_token_opens_and_a_wrong_one_is_refused_with_the_servers_reason() -> None:
    with mocap_server(HELLO, token="s3cret") as server:
        client = connect(server.address.port, token="s3cret")
        assert recv(client) == HELLO
        client.close()
        for token in ("", "wrong"):
            with pytest.raises(HandshakeRefused) as refused:
                connect(server.address.port, token=token)
            assert refused.value.status == 401
            assert refused.value.reason == "missing or wrong token"


def test_a_stopped_server_closes_with_1001() -> None:
    with mocap_server(HELLO) as server:
        client = connect(server.address.port)
        assert recv(client) == HELLO
        wait_for_clients(server, 1)
        server.close()
        with pytest.raises(ConnectionClosed) as closed:
            recv(client)
        assert closed.value.code == 1001


def test_no_server_is_an_os_error() -> None:
    with mocap_server(HELLO) as server:
        port = server.address.port
    with pytest.raises(ConnectionRefusedError):
        connect(port)


# --- against the websockets library's server ---------------------------------------------------


@contextlib.contextmanager
def websockets_server(handler: Callable[[ServerConnection], None]) -> Iterator[Server]:
    with serve(handler, "127.0.0.1", 0, compression=None) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join(TIMEOUT_S)


def test_answers_pings_skips_binary_and_joins_fragments() -> None:
    def handler(connection: ServerConnection) -> None:
        pong = connection.ping(b"are you there")
        connection.send("ping" if pong.wait(TIMEOUT_S) else "no pong")
        connection.send(b"\x00\x01 binary")
        connection.send(["Hel", "lo ", "fragments"])
        connection.close(4000, "done here")

    with websockets_server(handler) as server:
        client = connect(server.socket.getsockname()[1])
        assert recv(client) == "ping"
        assert recv(client) == "Hello fragments"
        with pytest.raises(ConnectionClosed) as closed:
            recv(client)
        assert (closed.value.code, closed.value.reason) == (4000, "done here")


def test_closing_sends_a_close_frame_the_server_sees() -> None:
    codes: list[int | None] = []
    done = threading.Event()

    def handler(connection: ServerConnection) -> None:
        connection.send("hi")
        for _ in connection:
            pass
        codes.append(connection.close_code)
        done.set()

    with websockets_server(handler) as server:
        client = connect(server.socket.getsockname()[1])
        assert recv(client) == "hi"
        client.close(1001)
        assert done.wait(TIMEOUT_S)
    assert codes == [1001]


def test_invalid_utf8_fails_the_connection_with_1007() -> None:
    codes: list[int | None] = []

    def handler(connection: ServerConnection) -> None:
        # The library refuses to send invalid text, so write the frame to the socket directly.
        connection.socket.sendall(bytes([0x80 | OP_TEXT, 2]) + b"\xff\xfe")
        with contextlib.suppress(ConnectionClosedError):  # 1007 is an error code
            for _ in connection:
                pass
        codes.append(connection.close_code)

    with websockets_server(handler) as server:
        client = connect(server.socket.getsockname()[1])
        with pytest.raises(ProtocolError) as error:
            recv(client)
        assert error.value.close_code == 1007
    assert codes == [1007]
