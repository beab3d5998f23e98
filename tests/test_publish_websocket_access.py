"""The WebSocket server's admission, limits, viewer page and uploads, through real sockets."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.frames import CloseCode
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from mocap.addresses import HostPort, parse_origin
from mocap.errors import ConfigError
from mocap.publish.access import AccessRules
from mocap.publish.access_log import open_access_log
from mocap.publish.inbound import InboundLimits
from mocap.publish.static import load_viewer
from mocap.publish.websocket import WebSocketServer
from tests.runs import run_mocap
from tests.support import running, wait_until

HELLO = '{"type":"hello","schema":"mocap.frame/1"}'
TOKEN = "correct-horse-battery-staple"
RECV_TIMEOUT_S = 5.0


@pytest.fixture
def guarded() -> Iterator[WebSocketServer]:
    """A server with a token, the viewer's page, and the default limits."""
    with running(
        WebSocketServer(
            HostPort("127.0.0.1", 0), HELLO, access=AccessRules(token=TOKEN), pages=load_viewer()
        )
    ) as server:
        yield server


def url(server: WebSocketServer, query: str = "") -> str:
    return f"ws://127.0.0.1:{server.address.port}/{query}"


@contextlib.contextmanager
def open_client(
    server: WebSocketServer,
    query: str = f"?token={TOKEN}",
    *,
    origin: str | None = None,
    headers: dict[str, str] | None = None,
) -> Iterator[ClientConnection]:
    """A connected client past its hello."""
    with connect(
        url(server, query),
        origin=None if origin is None else Origin(origin),
        additional_headers=headers,
        open_timeout=RECV_TIMEOUT_S,
    ) as client:
        assert client.recv(timeout=RECV_TIMEOUT_S) == HELLO
        yield client


def refused_status(
    server: WebSocketServer,
    query: str = "",
    *,
    origin: str | None = None,
    headers: dict[str, str] | None = None,
) -> int:
    with (
        pytest.raises(InvalidStatus) as refused,
        open_client(server, query, origin=origin, headers=headers),
    ):
        pass
    return refused.value.response.status_code


def raw_status(port: int, lines: list[str]) -> int:
    """Send a hand-written HTTP request (any Host header) and return the response's status."""
    with socket.create_connection(("127.0.0.1", port), timeout=RECV_TIMEOUT_S) as sock:
        sock.sendall(("\r\n".join(["GET / HTTP/1.1", *lines, "", ""])).encode())
        status_line = sock.makefile("rb").readline().decode()
    return int(status_line.split()[1])


def upgrade_headers(host: str, origin: str) -> list[str]:
    return [
        f"Host: {host}",
        f"Origin: {origin}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        f"Authorization: Bearer {TOKEN}",
    ]


# --- the token ---------------------------------------------------------------------------------


def test_a_client_without_the_right_token_is_refused_with_401(guarded: WebSocketServer) -> None:
    assert refused_status(guarded) == 401
    assert refused_status(guarded, "?token=wrong") == 401
    assert refused_status(guarded, headers={"Authorization": "Bearer wrong"}) == 401
    assert guarded.clients == 0


def test_the_right_token_in_the_query_or_the_header_is_admitted(guarded: WebSocketServer) -> None:
    with (
        open_client(guarded),
        open_client(guarded, "", headers={"Authorization": f"Bearer {TOKEN}"}),
    ):
        wait_until(lambda: guarded.clients == 2)
        guarded.publish('{"type":"frame","seq":1}')


# --- origins and hosts -------------------------------------------------------------------------


def test_browsers_are_admitted_only_from_the_viewer_s_origin(guarded: WebSocketServer) -> None:
    port = guarded.address.port
    for own in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        with open_client(guarded, origin=own):
            pass
    for foreign in ("https://evil.example", "null", f"http://127.0.0.1:{port + 1}"):
        assert refused_status(guarded, f"?token={TOKEN}", origin=foreign) == 403


def test_an_allowlisted_origin_is_admitted() -> None:
    app = parse_origin("http://localhost:3000")
    assert app is not None
    rules = AccessRules(allowed_origins=(app,))
    with running(WebSocketServer(HostPort("127.0.0.1", 0), HELLO, access=rules)) as server:
        with open_client(server, "", origin="http://localhost:3000"):
            pass
        assert refused_status(server, origin="http://localhost:3001") == 403


def test_a_rebound_host_is_refused_for_the_page_and_the_socket(guarded: WebSocketServer) -> None:
    port = guarded.address.port
    assert raw_status(port, [f"Host: 127.0.0.1:{port}"]) == 200
    assert raw_status(port, [f"Host: localhost:{port}"]) == 200
    assert raw_status(port, [f"Host: attacker.example:{port}"]) == 421
    assert raw_status(port, []) == 400
    own = f"http://127.0.0.1:{port}"
    assert raw_status(port, upgrade_headers(f"127.0.0.1:{port}", own)) == 101
    evil = f"http://attacker.example:{port}"
    assert raw_status(port, upgrade_headers(f"attacker.example:{port}", evil)) == 421


# --- the viewer's files ------------------------------------------------------------------------


def get(server: WebSocketServer, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.address.port, timeout=5)
    connection.request("GET", path)
    return connection.getresponse()


def test_the_viewer_page_is_served_with_a_strict_policy(guarded: WebSocketServer) -> None:
    page = get(guarded, f"/?token={TOKEN}")
    assert page.status == 200
    assert page.getheader("Content-Type") == "text/html; charset=utf-8"
    policy = page.getheader("Content-Security-Policy") or ""
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert page.getheader("Referrer-Policy") == "no-referrer"
    body = page.read().decode()
    assert '<script src="viewer.js"' in body
    assert "http://" not in body and "https://" not in body  # nothing from elsewhere
    script = get(guarded, "/viewer.js")
    assert script.status == 200 and script.getheader("Content-Type", "").startswith(
        "text/javascript"
    )
    assert "new WebSocket" in script.read().decode()
    assert get(guarded, "/../mocap/config.py").status == 404
    assert get(guarded, "/favicon.ico").status == 404


# --- limits ------------------------------------------------------------------------------------


def test_clients_over_the_limit_are_refused_with_503() -> None:
    rules = AccessRules(max_clients=2)
    server = WebSocketServer(HostPort("127.0.0.1", 0), HELLO, access=rules)
    with running(server), open_client(server, ""), open_client(server, "") as second:
        assert refused_status(server) == 503
        second.close()
        wait_until(lambda: server.clients == 1)
        with open_client(server, ""):
            assert refused_status(server) == 503


def expect_close(client: ClientConnection, code: CloseCode) -> str:
    with pytest.raises(ConnectionClosedError) as closed:
        while True:
            client.recv(timeout=RECV_TIMEOUT_S)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == code
    return closed.value.rcvd.reason


@pytest.mark.parametrize(
    ("limits", "message", "reason"),
    [
        # Refused from the frame's header, each kind at its own limit.
        (InboundLimits(100, 1000), "x" * 101, "frame with 101 bytes exceeds limit of 100 bytes"),
        (
            InboundLimits(2000, 1000),
            b"x" * 1001,
            "frame with 1001 bytes exceeds limit of 1000 bytes",
        ),
    ],
)
def test_an_oversized_message_closes_only_its_client(
    limits: InboundLimits, message: str | bytes, reason: str
) -> None:
    server = WebSocketServer(HostPort("127.0.0.1", 0), HELLO, limits=limits, on_upload=len_reply)
    with running(server), open_client(server, "") as sender, open_client(server, "") as watcher:
        sender.send("x" * 100)
        sender.send(b"x" * 1000)
        assert sender.recv(timeout=RECV_TIMEOUT_S) == "1000 bytes"
        sender.send(message)
        assert expect_close(sender, CloseCode.MESSAGE_TOO_BIG) == reason
        server.publish('{"seq":1}')
        assert watcher.recv(timeout=RECV_TIMEOUT_S) == '{"seq":1}'


def test_a_message_beyond_any_limit_is_cut_off_by_websockets_itself() -> None:
    limits = InboundLimits(max_text_bytes=100, max_upload_bytes=1000)
    server = WebSocketServer(HostPort("127.0.0.1", 0), HELLO, limits=limits)
    with running(server), open_client(server, "") as sender:
        sender.send(b"x" * 5000)
        expect_close(sender, CloseCode.MESSAGE_TOO_BIG)


# Another process, so that its sending does not take the GIL from the server under test.
FLOODER = """
import sys
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect
with connect(sys.argv[1]) as flooder:
    flooder.recv(timeout=5)
    try:
        for _ in range(10_000):
            flooder.send('{"type":"ping"}')
        flooder.recv(timeout=5)
    except ConnectionClosedError as exc:
        print(exc.rcvd.code)
"""


def test_a_flooding_client_is_closed_while_a_reader_streams_at_full_rate() -> None:
    limits = InboundLimits(messages_per_s=20.0)
    server = WebSocketServer(HostPort("127.0.0.1", 0), HELLO, limits=limits)
    frames, period_s = 60, 0.04  # 25 frames a second (a camera's rate) for 2.4 s
    received: list[int] = []
    with (
        running(server),
        open_client(server, "") as reader,
        subprocess.Popen(
            [sys.executable, "-c", FLOODER, url(server)], stdout=subprocess.PIPE, text=True
        ) as flooder,
    ):
        receiver = threading.Thread(target=read_seqs, args=(reader, frames - 1, received))
        receiver.start()
        started_s = time.monotonic()
        for seq in range(frames):
            server.publish(json.dumps({"seq": seq}))
            time.sleep(max(0.0, started_s + (seq + 1) * period_s - time.monotonic()))
        receiver.join(RECV_TIMEOUT_S)
        flood_output, _ = flooder.communicate(timeout=RECV_TIMEOUT_S)
    assert flood_output.split() == [str(int(CloseCode.POLICY_VIOLATION))]
    # The reader keeps its stream: frames in order up to the last one, hardly any replaced
    # before it read them (a flood that held the loop would cost it most of them; a busy
    # machine may cost it one now and then, as the one-slot mailbox intends).
    assert received == sorted(set(received)) and received[-1] == frames - 1, received
    assert len(received) >= 0.9 * frames, f"the reader lost frames during the flood: {received}"


def read_seqs(client: ClientConnection, last: int, into: list[int]) -> None:
    while not into or into[-1] != last:
        into.append(json.loads(client.recv(timeout=RECV_TIMEOUT_S))["seq"])


# --- uploads -----------------------------------------------------------------------------------


def len_reply(data: bytes) -> str:
    return f"{len(data)} bytes"


def test_an_upload_is_answered_off_the_loop_while_frames_keep_coming() -> None:
    handling = threading.Event()

    def slow_reply(data: bytes) -> str:
        handling.set()
        assert threading.current_thread().name.startswith("mocap-upload")
        time.sleep(0.5)
        return len_reply(data)

    server = WebSocketServer(HostPort("127.0.0.1", 0), HELLO, on_upload=slow_reply)
    with running(server), open_client(server, "") as client:
        client.send(b"\x89PNG" + bytes(100))
        assert handling.wait(RECV_TIMEOUT_S)
        for seq in range(3):
            server.publish(json.dumps({"seq": seq}))
            assert json.loads(client.recv(timeout=RECV_TIMEOUT_S)) == {"seq": seq}
        assert client.recv(timeout=RECV_TIMEOUT_S) == "104 bytes"


# --- the access log ----------------------------------------------------------------------------


def test_the_access_log_names_connections_and_refusals_never_the_token(
    guarded: WebSocketServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mocap.publish.access")
    port = guarded.address.port
    with open_client(guarded, origin=f"http://127.0.0.1:{port}"):
        pass
    refused_status(guarded, "?token=wrong-guess")
    refused_status(guarded, f"?token={TOKEN}", origin="https://evil.example")
    wait_until(lambda: len(caplog.records) >= 4)
    lines = [
        record.getMessage() for record in caplog.records if record.name == "mocap.publish.access"
    ]
    assert any(
        line.startswith("connect client") and f"origin http://127.0.0.1:{port}" in line
        for line in lines
    )
    assert any(line.startswith("disconnect client") and "code 1000" in line for line in lines)
    assert any(
        "refused 127.0.0.1:" in line and "401 missing or wrong token" in line for line in lines
    )
    assert any("origin https://evil.example: 403 Origin not allowed" in line for line in lines)
    assert not any(TOKEN in line or "wrong-guess" in line for line in lines)


def test_the_access_log_is_appended_to_a_file(tmp_path: Path) -> None:
    log_file = tmp_path / "access.log"
    log_file.write_text("earlier line\n")
    with open_access_log(str(log_file)):
        logging.getLogger("mocap.publish.access").info("refused 127.0.0.1:1 origin -: 401 missing")
    lines = log_file.read_text().splitlines()
    assert lines[0] == "earlier line"
    assert lines[1].endswith(" refused 127.0.0.1:1 origin -: 401 missing")
    assert lines[1][:4].isdigit()  # it starts with the time
    missing_folder = tmp_path / "no" / "such" / "dir.log"
    with (
        pytest.raises(ConfigError, match="cannot open the access log"),
        open_access_log(str(missing_folder)),
    ):
        pass


# --- refused at start --------------------------------------------------------------------------


def test_a_bind_beyond_loopback_without_a_token_is_refused_at_start() -> None:
    result = run_mocap("run", "--demo", "--no-preview", "--ws", "0.0.0.0:0", timeout_s=60)
    assert result.returncode == 2, result.stderr
    assert (
        "--ws 0.0.0.0:0 exposes landmarks to the network: set a token with --token or "
        "MOCAP_TOKEN, or bind 127.0.0.1"
    ) in result.stderr
    assert "Traceback" not in result.stderr


def test_a_remote_osc_target_without_allow_remote_is_refused_at_start() -> None:
    result = run_mocap("run", "--demo", "--no-preview", "--osc", "192.0.2.7:9000", timeout_s=60)
    assert result.returncode == 2, result.stderr
    assert "192.0.2.7:9000 is not on this machine" in result.stderr
    assert "--allow-remote" in result.stderr
