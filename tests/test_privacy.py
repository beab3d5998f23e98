"""Issue 12's privacy promises: where landmarks may go, who may read the files, what log lines
show, which tokens work, how many refusal lines a flood writes, and that a native crash speaks."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from mocap.addresses import HostPort
from mocap.config import Config, merge
from mocap.errors import ConfigError
from mocap.outputs import assess_exposure, open_outputs
from mocap.publish.access import AccessRules
from mocap.publish.access_log import open_access_log
from mocap.publish.exposure import on_this_machine
from mocap.publish.sinks import OscLandmarkSink
from mocap.publish.static import load_viewer
from mocap.publish.udp import Destination, resolve
from mocap.publish.websocket import WebSocketServer
from mocap.sources.stream import without_password
from tests import chromium
from tests.chromium import Chromium
from tests.runs import VIDEO, MocapProcess, UdpCollector, mocap_env, run_mocap


def config(**tables: Mapping[str, object]) -> Config:
    return merge(Config(), tables)


# --- 1. multicast and broadcast targets ---------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "target", "shown"),
    [
        ("--osc", "239.1.2.3:9000", "239.1.2.3:9000"),
        ("--vmc", "255.255.255.255:39539", "255.255.255.255:39539"),
        ("--osc", "[ff05::1]:9000", "[ff05::1]:9000"),
    ],
)
def test_a_multicast_or_broadcast_target_needs_allow_remote(
    flag: str, target: str, shown: str
) -> None:
    result = run_mocap("run", "--demo", "--no-preview", "--frames", "5", flag, target)
    assert result.returncode == 2, result.stderr
    assert f"{shown} is not on this machine" in result.stderr
    assert "--allow-remote" in result.stderr


def _subnet_broadcast_addresses() -> list[str]:
    """The broadcast address of every IPv4 subnet this machine is on, as `ip` lists them (.ci/run
    installs iproute2; a failing `ip` fails the test)."""
    listing = subprocess.run(
        ["ip", "-j", "-4", "addr"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    interfaces: list[dict[str, list[dict[str, str]]]] = json.loads(listing)
    return [
        info["broadcast"]
        for interface in interfaces
        for info in interface.get("addr_info", [])
        if "broadcast" in info
    ]


def _resolves_ipv6() -> bool:
    try:
        socket.getaddrinfo("::1", 9000, type=socket.SOCK_DGRAM)
    except socket.gaierror:
        return False
    return True


@pytest.mark.parametrize("host", ["224.0.0.1", "239.1.2.3", "255.255.255.255", "ff02::1"])
def test_group_addresses_are_off_this_machine(host: str) -> None:
    if ":" in host and not _resolves_ipv6():
        pytest.skip("this machine resolves no IPv6 address at all")
    assert not on_this_machine(resolve(HostPort(host, 9000)))


def test_a_subnet_s_broadcast_address_is_off_this_machine() -> None:
    broadcasts = _subnet_broadcast_addresses()
    if not broadcasts:
        pytest.skip("no IPv4 subnet with a broadcast address here")
    for host in broadcasts:
        assert not on_this_machine(resolve(HostPort(host, 9000))), host


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_the_unspecified_address_is_refused_as_a_target(host: str) -> None:
    with pytest.raises(ConfigError, match=r"not an address to send to.*127\.0\.0\.1"):
        assess_exposure(config(outputs={"osc": [f"[{host}]:9000"], "ws": "", "allow_remote": True}))


def test_the_outputs_send_to_the_address_that_was_checked() -> None:
    # A name that no resolver knows, checked as 127.0.0.1: were it looked up again when the
    # outputs open, the run would fail (or, with a changing DNS answer, go elsewhere).
    with UdpCollector() as collector, ExitStack() as cleanup:
        target = HostPort("checked-name.invalid", collector.port)
        checked = Destination(target, socket.AF_INET, ("127.0.0.1", collector.port))
        outputs = open_outputs(
            config(outputs={"osc": [str(target)], "ws": ""}),
            cleanup,
            {target: checked},
            source_fps=30.0,
            face_points=478,
        )
        [sink] = outputs.sinks
        assert isinstance(sink, OscLandmarkSink)
        sink.sender.send(b"landmarks")
        collector.wait_for_count(1, timeout_s=10)
    assert collector.datagrams == [b"landmarks"]


# --- 2. files readable by their owner only -----------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask a user might have: what the files get must not depend on it."""
    previous = os.umask(0o000)
    yield None
    os.umask(previous)


@pytest.mark.parametrize("name", ["new.jsonl", "new.jsonl.gz", "existing.jsonl"])
def test_a_recording_is_readable_by_its_owner_only(tmp_path: Path, name: str) -> None:
    recording = tmp_path / name
    if name.startswith("existing"):
        recording.write_text("an older file anyone could read\n")
        recording.chmod(0o644)
    result = run_mocap(
        "run", "--video", VIDEO, "--no-preview", "--frames", "2", "--osc", "127.0.0.1:9",
        "--record", recording,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert _mode(recording) == 0o600


@pytest.mark.usefixtures("open_umask")
@pytest.mark.parametrize("existing", [False, True])
def test_the_access_log_is_readable_by_its_owner_only(tmp_path: Path, existing: bool) -> None:
    log_file = tmp_path / "access.log"
    if existing:
        log_file.write_text("earlier line\n")
        log_file.chmod(0o644)
    with open_access_log(str(log_file)):
        logging.getLogger("mocap.publish.access").info("refused 127.0.0.1:1 origin -: 401")
    assert _mode(log_file) == 0o600
    assert log_file.read_text().splitlines()[-1].endswith("refused 127.0.0.1:1 origin -: 401")


# --- 3. stream URLs in log lines -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        ("rtsp://user:p@ss@cam.lan/live", "rtsp://user:***@cam.lan/live"),
        ("http://user:pw@cam.lan:8080/video", "http://user:***@cam.lan:8080/video"),
        ("http://user:a:b:c@cam.lan/", "http://user:***@cam.lan/"),
        ("http://cam.lan/video?token=abc&fps=30", "http://cam.lan/video?token=***&fps=30"),
        (
            "http://cam.lan/v?Password=x&pass=y&secret=z&key=k&apikey=q&AUTH=w&access_token=t",
            "http://cam.lan/v?Password=***&pass=***&secret=***&key=***&apikey=***&AUTH=***"
            "&access_token=***",
        ),
        ("http://u:p@cam.lan/v?api-key=1&x=2", "http://u:***@cam.lan/v?api-key=***&x=2"),
        ("http://cam.lan/video?fps=30&size=640", "http://cam.lan/video?fps=30&size=640"),
        ("http://user@cam.lan/video", "http://user@cam.lan/video"),
    ],
)
def test_a_stream_url_is_logged_without_its_secrets(url: str, logged: str) -> None:
    assert without_password(url) == logged


def test_a_stream_that_fails_to_open_is_named_without_its_secrets() -> None:
    with socket.socket() as closed:  # a port nobody listens on: refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"http://viewer:hunter2@word@127.0.0.1:{port}/video?token=s3cret-value&fps=30"
    result = run_mocap("run", "--camera", url, "--no-preview", "--frames", "1")
    assert result.returncode == 2, result.stderr
    assert f"viewer:***@127.0.0.1:{port}/video?token=***&fps=30" in result.stderr
    assert "hunter2" not in result.stderr
    assert "word@" not in result.stderr
    assert "s3cret-value" not in result.stderr


# --- 4. tokens -----------------------------------------------------------------------------------

# What `openssl rand -base64 24` gives: letters, digits, "+", "/" and "=" padding.
BASE64_TOKEN = "q+8/xZ0mR2+Vk/9dLw3=Ab+/"
HELLO = '{"type":"hello","schema":"mocap.frame/1"}'
TIMEOUT_S = 10.0


@pytest.fixture
def base64_guarded() -> Iterator[WebSocketServer]:
    server = WebSocketServer(
        HostPort("127.0.0.1", 0), HELLO, access=AccessRules(token=BASE64_TOKEN), pages=load_viewer()
    )
    server.start()
    yield server
    server.close()


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("", {"Authorization": f"Bearer {BASE64_TOKEN}"}),
        (f"?token={quote(BASE64_TOKEN, safe='')}", {}),  # what the clients send
        (f"?token={BASE64_TOKEN}", {}),  # pasted as it is: "+" is a plus, never a space
    ],
)
def test_a_base64_token_admits_a_client(
    base64_guarded: WebSocketServer, query: str, headers: dict[str, str]
) -> None:
    port = base64_guarded.address.port
    with connect(
        f"ws://127.0.0.1:{port}/{query}", additional_headers=headers, open_timeout=TIMEOUT_S
    ) as client:
        assert client.recv(timeout=TIMEOUT_S) == HELLO


def test_a_token_with_a_space_where_its_plus_was_is_refused(
    base64_guarded: WebSocketServer,
) -> None:
    port = base64_guarded.address.port
    spaced = quote(BASE64_TOKEN.replace("+", " "), safe="")
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://127.0.0.1:{port}/?token={spaced}", open_timeout=TIMEOUT_S)
    assert refused.value.response.status_code == 401


@pytest.mark.parametrize("url_token", [BASE64_TOKEN, quote(BASE64_TOKEN, safe="")])
def test_the_viewer_connects_with_a_base64_token(tmp_path: Path, url_token: str) -> None:
    if not chromium.available():
        pytest.fail("the viewer tests need Chromium: apt-get install chromium (.ci/run does)")
    with (
        MocapProcess(
            "run", "--demo", "--no-preview", "--ws", "127.0.0.1:0", "--token", BASE64_TOKEN
        ) as mocap,
        Chromium(tmp_path / "profile") as browser,
    ):
        port = int(mocap.wait_for_line(r"WebSocket on ws://127\.0\.0\.1:(\d+)").group(1))
        page = browser.new_page(f"http://127.0.0.1:{port}/?token={url_token}")
        page.wait_for("window.mocapViewer && window.mocapViewer.frames > 3")


@pytest.mark.parametrize("token", ["caf\u00e9-token-long-enough", "with space", "a&b", "50%off"])
def test_a_token_outside_the_allowed_characters_is_refused_at_start(token: str) -> None:
    result = run_mocap("run", "--demo", "--no-preview", "--frames", "1", "--token", token)
    assert result.returncode == 2, result.stderr
    assert "letters, digits and - . _ ~ + / =" in result.stderr
    assert token not in result.stderr  # the refusal does not echo the secret


def test_a_short_token_guarding_the_network_is_warned_about() -> None:
    short = config(outputs={"ws": "0.0.0.0:8765", "osc": []}, server={"token": "fifteen-chars15"})
    assert any("shorter than 16" in notice for notice in assess_exposure(short).notices)
    long = config(outputs={"ws": "0.0.0.0:8765", "osc": []}, server={"token": BASE64_TOKEN})
    assert not any("shorter than 16" in notice for notice in assess_exposure(long).notices)
    loopback = config(outputs={"ws": "127.0.0.1:8765", "osc": []}, server={"token": "short"})
    assert assess_exposure(loopback).notices == []


# --- 5. refusals in the access log are rate-limited --------------------------------------------

BURST_REQUESTS = 2000


def _refused_request(port: int) -> int:
    """One plain request under a foreign Host (a DNS-rebinding page would send it): 421."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        connection.request("GET", "/", headers={"Host": "evil.example"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_burst_of_refused_requests_writes_a_few_lines_with_the_count(tmp_path: Path) -> None:
    log_file = tmp_path / "access.log"
    server = WebSocketServer(HostPort("127.0.0.1", 0), HELLO, pages=load_viewer())
    with open_access_log(str(log_file)):
        server.start()
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                statuses = list(pool.map(_refused_request, [server.address.port] * BURST_REQUESTS))
        finally:
            server.close()
    assert statuses == [421] * BURST_REQUESTS
    lines = log_file.read_text().splitlines()
    assert 2 <= len(lines) <= 10, lines
    one_by_one = [line for line in lines if re.search(r"refused 127\.0\.0\.1:\d+ ", line)]
    counts = [
        int(match.group(1))
        for line in lines
        if (
            match := re.search(
                r"(\d+) more refusals \(421\) from 127\.0\.0\.1 in the last \d+ s", line
            )
        )
    ]
    assert one_by_one and counts, lines
    assert len(one_by_one) + sum(counts) == BURST_REQUESTS


# --- 6. a native crash with the native log lines hidden ----------------------------------------

NATIVE_CRASH = """
import faulthandler, os, sys
from mocap.cli import hide_native_logs
hide_native_logs()
os.write(2, b"native log line\\n")  # what MediaPipe's C++ writes: hidden
faulthandler._sigsegv() if sys.argv[1] == "segv" else os.abort()
"""


@pytest.mark.parametrize("crash", ["segv", "abort"])
def test_a_native_crash_still_says_so_on_the_real_stderr(crash: str) -> None:
    env = {k: v for k, v in mocap_env().items() if k != "PYTHONFAULTHANDLER"}
    result = subprocess.run(
        [sys.executable, "-c", NATIVE_CRASH, crash],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode < 0, result.stderr  # killed by the signal
    assert "native log line" not in result.stderr
    assert "Fatal Python error" in result.stderr
