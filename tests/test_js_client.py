"""The JavaScript client (clients/js): its module's own tests (node --test); subscribe.js with
Node's `ws` package against a live `mocap replay` (it retries until the server is up, prints the
hello and one line per frame, reconnects when the server restarts, stops after --frames) and
against mocap's server sending frames with ARKit weights; and example.html drawing the stream
and its ARKit bar chart in headless Chromium with the browser's own WebSocket."""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mocap.addresses import parse_origin
from mocap.skeleton import ARKIT_NAMES
from tests import chromium
from tests.live_replay import (
    TOKEN,
    ClientProcess,
    looped_frame,
    publishing,
    replay,
    stop_replay,
    stream_frames,
)
from tests.runs import REPO
from tests.support import free_port

JS = REPO / "clients" / "js"
NODE = shutil.which("node")
FRAMES = 20
HELLO = (
    "hello schema=mocap.frame/1 source=1280x720@25.0fps "
    "parts=pose:33,pose_world:33,face:478,left_hand:21,right_hand:21"
)
# The hello a client gets when it connects before the server's first frame: only a frame tells
# the source's size (README: the hello's size is null until then). A client retrying every 0.5 s
# lands in that window now and then.
HELLO_BEFORE_FIRST_FRAME = HELLO.replace("1280x720", "nullxnull")
FRAME_LINE = re.compile(
    r"^frame seq=(?P<seq>\d+) t=(?P<t>[\d.]+) fps=(?P<fps>[\d.]+|-) latency=[\d.]+ms "
    r"parts=(?P<parts>\S+) nose=\((?P<nose_x>[\d.]+),(?P<nose_y>[\d.]+)\)"
    r"(?: right_wrist=\([\d.]+,[\d.]+\))? bones=(?P<bones>\d+) Joy=[\d.]+$"
)
ARKIT_FIELD = re.compile(
    r"^frame seq=(?P<seq>\d+) .* arkit=(?P<name>[a-zA-Z]+):(?P<weight>[\d.]+)$"
)


@pytest.fixture(scope="module")
def node() -> str:
    if NODE is None:
        pytest.fail("the JavaScript client's tests need Node.js 18 or newer (`node`)")
    if not (JS / "node_modules" / "ws").is_dir():
        pytest.fail("clients/js/node_modules is missing: run `npm ci` in clients/js (.ci/run does)")
    return NODE


def test_module_tests(node: str) -> None:
    result = subprocess.run(
        [node, "--test"], cwd=JS, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^# fail 0$", result.stdout, re.MULTILINE), result.stdout


def test_subscribe_receives_frames_retries_and_reconnects(node: str) -> None:
    port = free_port()
    command = [node, str(JS / "subscribe.js"), "--port", str(port), "--frames", str(FRAMES)]
    # Started before the server, so its first attempts fail; the token comes from the environment.
    with ClientProcess(command, env={"MOCAP_TOKEN": TOKEN}) as client:
        with replay(port) as first:
            client.wait_for_lines(r"^frame ", count=5)
            stop_replay(first)
        client.wait_for_lines(r"^disconnected \(code 1001")
        with replay(port):
            code = client.wait(timeout_s=60)
    output = client.output()
    assert code == 0, output
    lines = output.splitlines()
    assert any(re.match(r"disconnected \(code 1006, connect ECONNREFUSED", line) for line in lines)
    assert lines.count("connected") == 2, output
    hellos = [line for line in lines if line.startswith("hello ")]
    assert len(hellos) == 2, output  # one per connection
    assert all(hello in (HELLO, HELLO_BEFORE_FIRST_FRAME) for hello in hellos), output

    frames = [FRAME_LINE.match(line) for line in lines if line.startswith("frame ")]
    assert len(frames) == FRAMES, output
    for frame in frames:
        assert frame, output
        assert set(frame["parts"].split(",")) >= {"pose", "pose_world", "face"}
        assert 0 < float(frame["nose_x"]) < 1 and 0 < float(frame["nose_y"]) < 1
        assert frame["bones"] == "55"


def test_subscribe_prints_the_strongest_arkit_weight(node: str) -> None:
    frames = stream_frames(bones=False)  # the last of every four has no face
    with publishing(frames, token=TOKEN) as port:
        command = [node, str(JS / "subscribe.js"), "--port", str(port), "--frames", "12"]
        with ClientProcess(command, env={"MOCAP_TOKEN": TOKEN}) as client:
            code = client.wait(timeout_s=60)
    output = client.output()
    assert code == 0, output
    lines = [line for line in output.splitlines() if line.startswith("frame ")]
    assert len(lines) == 12, output
    for line in lines:
        seq = int(line.split()[1].removeprefix("seq="))
        weights = looped_frame(frames, seq)["arkit"]
        shown = ARKIT_FIELD.match(line)
        if weights is None:
            assert shown is None and "bones=" not in line, line
            continue
        assert shown, line
        strongest = max(weights, key=weights.__getitem__)
        assert shown["name"] == strongest, (line, strongest)
        assert float(shown["weight"]) == round(weights[strongest], 3), line


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log lines in the tests' output."""


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Static files of folder over HTTP on 127.0.0.1; yields the origin."""
    handler = functools.partial(QuietFiles, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as site:
        thread = threading.Thread(target=site.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{site.server_address[1]}"
        finally:
            site.shutdown()
            thread.join(timeout=10)


def test_example_page_draws_the_stream_in_a_browser(node: str, tmp_path: Path) -> None:
    if not chromium.available():
        pytest.fail("the browser example's test needs Chromium: apt-get install chromium")
    port = free_port()
    with serve_folder(JS) as origin:
        # The server takes browsers only from origins it is told to allow.
        config = tmp_path / "allow.toml"
        config.write_text(f'[server]\nallowed_origins = ["{origin}"]\n')
        with (
            replay(port, "--config", config),
            chromium.Chromium(tmp_path / "profile") as browser,
        ):
            page = browser.new_page(f"{origin}/example.html?port={port}&token={TOKEN}")
            page.wait_for("window.mocapSeen && window.mocapSeen.frames >= 10")
            seen = page.evaluate(
                "({hello: mocapSeen.hello.parts, states: mocapSeen.states,"
                " pose: mocapSeen.lastFrame.pose.length, face: mocapSeen.lastFrame.face.length,"
                " bones: Object.keys(mocapSeen.lastFrame.bones).length,"
                " status: document.getElementById('status').textContent,"
                " drawn: document.getElementById('view').height})"
            )
    assert seen["hello"] == {
        "pose": 33, "pose_world": 33, "face": 478, "left_hand": 21, "right_hand": 21,
    }  # fmt: skip
    assert seen["states"][:2] == ["connecting", "open"]
    assert (seen["pose"], seen["face"], seen["bones"]) == (33, 478, 55)
    assert re.match(r"frame \d+, t [\d.]+ s: pose, pose_world, face", seen["status"])
    assert seen["drawn"] == 360  # the 640x480 canvas took the source's 16:9 shape


# What the chart shows, with the seq of the frame it shows, read in one go (a wait_for condition
# that stores it the moment it holds: the next frame may come before another evaluate).
ARKIT_CHART = """(() => {
  const meters = [...document.querySelectorAll("#arkit-bars meter")];
  return {
    seq: mocapSeen.lastFrame.seq,
    names: meters.map((m) => m.dataset.name),
    values: meters.map((m) => m.value),
    stale: document.getElementById("arkit").classList.contains("stale"),
    note: document.getElementById("arkit-note").textContent,
  };
})()"""


def test_example_page_charts_the_arkit_weights(node: str, tmp_path: Path) -> None:
    if not chromium.available():
        pytest.fail("the browser example's test needs Chromium: apt-get install chromium")
    frames = stream_frames(bones=False)
    with serve_folder(JS) as origin:
        allowed = parse_origin(origin)
        assert allowed is not None, origin
        with (
            publishing(frames, token=TOKEN, origins=(allowed,)) as port,
            chromium.Chromium(tmp_path / "profile") as browser,
        ):
            page = browser.new_page(f"{origin}/example.html?port={port}&token={TOKEN}")
            seen = "window.mocapSeen && mocapSeen.lastFrame"
            page.wait_for(f"{seen} && mocapSeen.lastFrame.arkit && (window.face = {ARKIT_CHART})")
            page.wait_for(
                f"{seen} && mocapSeen.lastFrame.arkit === null && (window.none = {ARKIT_CHART})"
            )
            with_face, without_face = page.evaluate("[window.face, window.none]")
    # One bar per ARKit name, in the stream's order, at the weights of the frame last drawn.
    assert with_face["names"] == list(ARKIT_NAMES)
    weights = looped_frame(frames, with_face["seq"])["arkit"]
    assert with_face["values"] == pytest.approx([weights[n] for n in ARKIT_NAMES], abs=1e-9)
    assert not with_face["stale"] and with_face["note"] == ""
    # A frame without a face greys the chart out and says why; the bars keep their values.
    assert without_face["stale"]
    assert without_face["note"] == "(no face in this frame, or the server sends none)"
    assert len(without_face["values"]) == len(ARKIT_NAMES)
