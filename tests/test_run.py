"""`mocap run` end to end, as a user runs it: real video, real sockets, real clients."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap.preview.draw import FACE_COLOUR, POSE_COLOUR
from tests.mjpeg_server import MjpegServer
from tests.runs import (
    VIDEO,
    VIDEO_FRAMES,
    MocapProcess,
    UdpCollector,
    osc_frames,
    receive_all,
    run_mocap,
)
from tests.support import free_port
from tests.xserver import XServer, wait_for_colours, xdotool

WS_LINE = r"WebSocket on (ws://[^\s,]+)"


def outputs(udp: UdpCollector) -> list[str]:
    """OSC to the test's socket and a WebSocket server on a free port."""
    return ["--osc", f"127.0.0.1:{udp.port}", "--ws", "127.0.0.1:0"]


@pytest.fixture
def udp() -> Iterator[UdpCollector]:
    with UdpCollector() as collector:
        yield collector


def share(frames: list[dict[str, list[object]]], *addresses: str) -> float:
    return sum(any(a in frame for a in addresses) for frame in frames) / len(frames)


def test_video_reaches_a_udp_socket_and_a_websocket_client(udp: UdpCollector) -> None:
    with MocapProcess(
        "run", "--video", VIDEO, "--no-realtime", "--no-preview",
        "--osc", f"127.0.0.1:{udp.port}", "--ws", "127.0.0.1:0",
    ) as mocap:  # fmt: skip
        url = mocap.wait_for_line(WS_LINE).group(1)
        messages = receive_all(url)
        assert mocap.wait(90) == 0, mocap.stderr()
        stderr = mocap.stderr()

    frames = osc_frames(udp.datagrams)
    assert len(frames) == VIDEO_FRAMES
    assert [frame["/mocap/frame"][0] for frame in frames] == list(range(VIDEO_FRAMES))
    times = [frame["/mocap/frame"][1] for frame in frames]
    assert times[0] == 0.0 and times[-1] == pytest.approx(194 / 25, abs=0.01)  # the file's clock
    assert share(frames, "/mocap/pose") >= 0.95
    assert share(frames, "/mocap/face") >= 0.95
    assert share(frames, "/mocap/hand/left", "/mocap/hand/right") >= 0.75
    for frame in frames:
        lengths = {address: len(values) for address, values in frame.items()}
        assert lengths.get("/mocap/pose", 132) == 132
        assert lengths.get("/mocap/pose_world", 132) == 132
        assert lengths.get("/mocap/face", 1434) == 1434
        assert lengths.get("/mocap/hand/left", 63) == lengths.get("/mocap/hand/right", 63) == 63

    hello, ws_frames = messages[0], messages[1:]
    assert hello["type"] == "hello"
    assert hello["parts"] == {
        "pose": 33, "pose_world": 33, "face": 478, "left_hand": 21, "right_hand": 21,
    }  # fmt: skip
    seqs = [frame["seq"] for frame in ws_frames]
    assert seqs == sorted(set(seqs))
    # The client connects a moment after the start; from its first frame on it gets most of them.
    # Not all: the server's thread runs at background priority and gives each client the newest
    # frame, so on a loaded machine (a busy core beside the run) it skipped a third of them.
    assert seqs and seqs[0] < VIDEO_FRAMES / 4, "the client had frames from early on"
    assert len(seqs) >= 0.5 * (VIDEO_FRAMES - seqs[0])
    for frame in ws_frames:
        assert frame["size"] == [1280, 720]
        if frame["face"] is not None:
            assert np.array(frame["face"]).shape == (478, 3)
        if frame["pose"] is not None:
            assert np.array(frame["pose"]).shape == (33, 4)
    assert "refused" not in stderr


def open_silent_client(url: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads a byte."""
    host, port = url.removeprefix("ws://").rsplit(":", 1)
    raw = socket.create_connection((host, int(port)))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.sendall(
        b"GET / HTTP/1.1\r\nHost: " + host.encode() + b"\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    return raw


def test_a_client_that_never_reads_does_not_slow_the_others(udp: UdpCollector) -> None:
    with MocapProcess(
        "run", "--video", VIDEO, "--no-realtime", "--no-preview", "--frames", "120",
        "--osc", f"127.0.0.1:{udp.port}", "--ws", "127.0.0.1:0",
    ) as mocap:  # fmt: skip
        url = mocap.wait_for_line(WS_LINE).group(1)
        with open_silent_client(url):
            messages = receive_all(url)
        assert mocap.wait(90) == 0, mocap.stderr()
    udp.wait_for_count(120)  # all sent; the collector's thread may still be reading them
    frames = messages[1:]
    assert len(udp.datagrams) == 120
    # The reading client kept up to the end (it has the newest frames) and got most of those
    # sent while it was connected: the silent one stalled nobody. (Counted from its first frame:
    # how many went out before it connected depends on the machine's load, and under load it
    # drops some itself, newest-only, as a slow reader should.)
    assert frames[-1]["seq"] >= 115
    assert len(frames) >= 0.5 * (frames[-1]["seq"] - frames[0]["seq"] + 1)


def test_stats_lines_and_summary(tmp_path: Path) -> None:
    result = run_mocap("run", "--demo", "--no-preview", "--duration", "2.5", "--stats",
                       "--config", write_config(tmp_path, "[stats]\ninterval_s = 1.0\n"), "--osc",
                       "127.0.0.1:9", "--ws", "127.0.0.1:0")  # fmt: skip
    assert result.returncode == 0, result.stderr
    stats_lines = [line for line in result.stderr.splitlines() if "latency p50" in line]
    assert len(stats_lines) >= 1
    assert "inference" in stats_lines[0] and "clients 0" in stats_lines[0]
    assert "latency capture-to-send: p50" in result.stderr


def write_config(folder: Path, text: str) -> Path:
    path = folder / "config.toml"
    path.write_text(text)
    return path


# --- bad input: one clear line, the right exit code, no traceback ------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--camera", "7"], 2, "camera 7 not found; `mocap cameras` lists the cameras here"),
        (["--video", "/nonexistent/clip.mp4"], 2, "/nonexistent/clip.mp4"),
        (["--complexity", "2"], 2, "never downloads models"),
        (["--osc", "nonsense"], 2, "is not HOST:PORT"),
        (["--bogus"], 2, "unrecognized arguments: --bogus"),
        (["--config", "/nonexistent.toml"], 2, "config file /nonexistent.toml not found"),
    ],
)
def test_bad_input_is_one_clear_line(args: list[str], code: int, message: str) -> None:
    result = run_mocap("run", "--no-preview", *args)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_url_that_does_not_answer_fails_fast() -> None:
    result = run_mocap("run", "--no-preview", "--camera", f"http://127.0.0.1:{free_port()}/")
    assert result.returncode == 2
    assert "stream http://127.0.0.1" in result.stderr and "Traceback" not in result.stderr


def test_a_config_typo_names_the_key(tmp_path: Path) -> None:
    result = run_mocap("run", "--config", write_config(tmp_path, "[source]\ncamra = 1\n"))
    assert result.returncode == 2
    assert "unknown key 'source.camra'" in result.stderr and "Traceback" not in result.stderr


def test_a_text_file_named_mp4_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n")
    result = run_mocap("run", "--no-preview", "--video", fake)
    assert result.returncode == 2 and "notes.mp4" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_busy_port_is_exit_1() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_mocap("run", "--demo", "--no-preview", "--ws", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def tiny_video(path: Path, size: tuple[int, int], frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 25.0, size)
    for index in range(frames):
        writer.write(np.full((size[1], size[0], 3), index * 10 % 255, np.uint8))
    writer.release()
    return path


def test_tiny_frames_are_refused_counted_and_the_run_goes_on(
    tmp_path: Path, udp: UdpCollector
) -> None:
    video = tiny_video(tmp_path / "tiny.mp4", (16, 16), 12)
    result = run_mocap("run", "--video", video, "--no-realtime", "--no-preview",
                       "--osc", f"127.0.0.1:{udp.port}", "--ws", "127.0.0.1:0")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("refused, too small: 16x16 px") == 1
    assert "refused frames: 12 too small" in result.stderr
    assert udp.datagrams == []


# --- stopping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_stop_cleanly(udp: UdpCollector, signum: int, code: int) -> None:
    with MocapProcess("run", "--demo", "--no-preview", "--osc", f"127.0.0.1:{udp.port}",
                      "--ws", "127.0.0.1:0") as mocap:  # fmt: skip
        udp.wait_for_count(3)
        mocap.process.send_signal(signum)
        assert mocap.wait(20) == code
        assert "frames:" in mocap.stderr()  # the summary was printed: a clean stop
        assert "Traceback" not in mocap.stderr()


# --- a network camera: a local MJPEG server going away and coming back -------------------------


def test_a_stream_that_drops_out_is_retried_and_resumes(udp: UdpCollector) -> None:
    with (
        MjpegServer(size=(640, 360), fps=20.0, video=VIDEO) as server,
        MocapProcess("run", "--camera", server.url, "--no-preview", "--duration", "12",
                     *outputs(udp)) as mocap,
    ):  # fmt: skip
        udp.wait_for_count(10)
        server.stop()
        mocap.wait_for_line("stopped delivering", timeout_s=10)
        time.sleep(1.0)
        before = len(udp.datagrams)
        server.start()
        mocap.wait_for_line("is back", timeout_s=10)
        udp.wait_for_count(before + 10, timeout_s=10)
        assert mocap.wait(30) == 0, mocap.stderr()
    frames = osc_frames(udp.datagrams)
    assert share(frames, "/mocap/pose") >= 0.9


def test_a_stream_gone_for_good_ends_the_run_with_exit_1(tmp_path: Path, udp: UdpCollector) -> None:
    config = write_config(tmp_path, "[source]\nlost_after_s = 2.0\n")
    with (
        MjpegServer(size=(320, 240), fps=20.0) as server,
        MocapProcess("run", "--camera", server.url, "--no-preview", "--config", config,
                     *outputs(udp)) as mocap,
    ):  # fmt: skip
        udp.wait_for_count(5)
        server.stop()
        assert mocap.wait(30) == 1
        assert "gave no frame for 2 s; giving up" in mocap.stderr()
        assert "Traceback" not in mocap.stderr()


# --- the preview window ------------------------------------------------------------------------


def test_the_preview_window_shows_landmarks_and_quits_on_q(
    xvfb: XServer, udp: UdpCollector
) -> None:
    with MocapProcess("run", "--demo", *outputs(udp), display=xvfb.display) as mocap:
        window_id = wait_for_window(xvfb, mocap)
        udp.wait_for_count(10)
        counts = wait_for_colours(
            xvfb, window_id, [POSE_COLOUR, FACE_COLOUR], pixels=30, timeout_s=20
        )
        assert min(counts) >= 30, f"the pose and face colours on the screen: {counts} px"
        xdotool(xvfb, "key", "--window", window_id, "q")
        assert mocap.wait(20) == 0, mocap.stderr()
        assert "no display" not in mocap.stderr()


def test_without_a_display_the_run_goes_on_headless_after_one_notice(udp: UdpCollector) -> None:
    result = run_mocap("run", "--video", VIDEO, "--no-realtime", "--frames", "5", *outputs(udp))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("no display for the preview window; running headless") == 1
    udp.wait_for_count(5)  # all sent; the collector's thread may still be reading them
    assert len(udp.datagrams) == 5


def wait_for_window(server: XServer, mocap: MocapProcess) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = xdotool(server, "search", "--name", "mocap").stdout.split()
        if found:
            return found[0]
        assert mocap.process.poll() is None, mocap.stderr()
        time.sleep(0.2)
    raise AssertionError("no window named mocap appeared")
