"""`mocap run --record`, `mocap replay` and `mocap export` end to end: real video, real model,
real files (killed mid-write too), real sockets, and an independent BVH reader."""

from __future__ import annotations

import itertools
import json
import signal
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from bvh import Bvh
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage

from mocap.encode.recording import RecordedFrame
from mocap.recording.bvh import to_bvh_space
from mocap.recording.reader import RecordingReader
from mocap.solve.humanoid import BONES, INDEX, forward_kinematics
from tests.bvh_fk import joint_world
from tests.runs import VIDEO, MocapProcess, UdpCollector, osc_frames, receive_all, run_mocap
from tests.support import angle_deg

FRAMES = 30
FPS = 25.0
WS_LINE = r"WebSocket on (ws://[^\s,]+)"
TIMING_TOLERANCE_S = 0.005
DECIMALS_ERROR = 5e-6  # the recording keeps five decimals
PARTS = {
    "/mocap/pose": "pose", "/mocap/pose_world": "pose_world", "/mocap/face": "face",
    "/mocap/hand/left": "left_hand", "/mocap/hand/right": "right_hand",
}  # fmt: skip


@dataclass
class Recorded:
    """What one `mocap run --record` wrote, and what its outputs sent while it did."""

    path: Path
    stderr: str
    osc: list[dict[str, list[Any]]]
    ws_hello: dict[str, Any]
    ws_frames: list[dict[str, Any]]

    def frames(self) -> list[RecordedFrame]:
        return list(RecordingReader(self.path).frames(_no_problem))


def _no_problem(line_number: int, reason: str) -> None:
    raise AssertionError(f"line {line_number}: {reason}")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    path = tmp_path_factory.mktemp("recording") / "take.jsonl"
    with (
        UdpCollector() as udp,
        MocapProcess("run", "--video", VIDEO, "--no-realtime", "--no-preview", "--solve",
                     "--frames", str(FRAMES), "--osc", f"127.0.0.1:{udp.port}",
                     "--ws", "127.0.0.1:0", "--record", path) as mocap,
    ):  # fmt: skip
        messages = receive_all(mocap.wait_for_line(WS_LINE).group(1))
        assert mocap.wait(90) == 0, mocap.stderr()
        udp.wait_for_count(FRAMES)
        return Recorded(path, mocap.stderr(), osc_frames(udp.datagrams), messages[0], messages[1:])


def assert_rounded_alike(recorded: npt.NDArray[np.float32], sent: npt.NDArray[np.float32]) -> None:
    """recorded is sent rounded to five decimals in float32 (numpy's round scales, rounds and
    scales back, each step within a float32 step of the value): within 5e-6 plus two float32
    steps (a world z of 3.9 m has steps of 2.4e-7)."""
    error = np.abs(recorded.astype(np.float64) - sent.astype(np.float64))
    allowed = DECIMALS_ERROR + 2 * np.spacing(np.abs(sent)).astype(np.float64)
    assert np.all((error <= allowed) | np.isnan(sent)), float(np.nanmax(error - allowed))


def as_float32(values: list[Any]) -> npt.NDArray[np.float32]:
    return np.array(values, dtype=np.float32)


def without(message: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in message.items() if key not in keys}


# --- recording ---------------------------------------------------------------------------------


def test_the_recording_holds_what_the_run_sent(recorded: Recorded) -> None:
    reader = RecordingReader(recorded.path)
    header = reader.header
    assert VIDEO.name in header.source_description and not header.source_live
    assert header.source_fps == FPS and header.face_points == 478
    assert header.settings["solver"] is not None and header.settings["model"]["complexity"] == 1
    frames = recorded.frames()
    assert [frame.seq for frame in frames] == list(range(FRAMES))
    assert [frame.t_s for frame in frames] == pytest.approx([i / FPS for i in range(FRAMES)])
    assert all(frame.avatar is not None for frame in frames)
    # every landmark the run sent over OSC is in the recording, up to the five-decimal rounding
    for frame, osc in zip(frames, recorded.osc, strict=True):
        for address, part in PARTS.items():
            block = frame.pose.parts()[part]
            if address not in osc:
                assert np.isnan(block).all()
                continue
            sent = np.array(osc[address], dtype=np.float32).reshape(block.shape)
            assert_rounded_alike(block, sent)
    # and a recorded line is the WebSocket frame the run sent, but for latency_ms (and the root)
    lines = [json.loads(line) for line in recorded.path.read_text().splitlines()[1:]]
    assert len(recorded.ws_frames) >= 5
    for message in recorded.ws_frames:
        assert without(lines[message["seq"]], "root") == without(message, "latency_ms")
    assert "recording to " in recorded.stderr
    assert f"recording: {FRAMES} frames in {recorded.path}" in recorded.stderr


def test_an_offline_recording_run_shows_progress(recorded: Recorded) -> None:
    progress = [line for line in recorded.stderr.splitlines() if "frames" in line and "[" in line]
    assert progress, recorded.stderr  # stderr is a pipe here: plain lines, no \r
    assert progress[-1].startswith(f"mocap: [{'#' * 24}] {FRAMES}/{FRAMES} frames 100% |")
    assert "\r" not in recorded.stderr


def test_a_full_disk_stops_the_recording_not_the_run() -> None:
    with UdpCollector() as udp:
        result = run_mocap("run", "--video", VIDEO, "--no-realtime", "--no-preview", "--frames",
                           "5", "--osc", f"127.0.0.1:{udp.port}",
                           "--record", "/dev/full")  # fmt: skip
        udp.wait_for_count(5)
    assert result.returncode == 0, result.stderr
    notice = "recording stopped, cannot write /dev/full (No space left on device)"
    assert result.stderr.count(notice) == 1
    assert "recording: stopped after 0 frames" in result.stderr
    assert "Traceback" not in result.stderr


def complete_frame_lines(path: Path) -> tuple[int, bool]:
    """How many whole frame lines a (possibly cut) file holds, decompressing what can be; and
    whether a partial line follows them."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = zlib.decompressobj(wbits=31).decompress(data)
    return data.count(b"\n") - 1, not data.endswith(b"\n")


def test_a_killed_recording_reads_back_and_replays(tmp_path: Path) -> None:
    """SIGKILL in mid-run, plain and gzip: every complete frame plays, the cut is reported with
    its line number (gzip always has one: its stream never got its end), and replay exits 0."""
    paths = [tmp_path / "take.jsonl", tmp_path / "take.jsonl.gz"]
    runs = [
        MocapProcess("run", "--video", VIDEO, "--no-realtime", "--no-preview", "--osc",
                     "127.0.0.1:9", "--record", path)
        for path in paths
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not all(path.exists() and complete_frame_lines(path)[0] >= 8 for path in paths):
            assert time.monotonic() < deadline and all(r.process.poll() is None for r in runs)
            time.sleep(0.05)
        for run in runs:
            run.process.send_signal(signal.SIGKILL)
            run.wait(10)
    finally:
        for run in runs:
            run.__exit__(None, None, None)
    for path in paths:
        whole, partial = complete_frame_lines(path)
        with UdpCollector() as udp:
            result = run_mocap("replay", path, "--osc", f"127.0.0.1:{udp.port}",
                               "--speed", "8")  # fmt: skip
            udp.wait_for_count(whole)
            frames = osc_frames(udp.datagrams)
        assert result.returncode == 0, result.stderr
        assert len(frames) == whole and f"replayed {whole} frames" in result.stderr
        warnings = [line for line in result.stderr.splitlines() if f"{path} line " in line]
        if partial or path.suffix == ".gz":
            assert warnings == [warnings[0]] and f"{path} line {whole + 2}: " in warnings[0]
        else:
            assert warnings == []


# --- replay ------------------------------------------------------------------------------------


def assert_on_time(arrivals_s: list[float], offsets_s: list[float]) -> None:
    """The frames arrived at their offsets on one timeline: nearly all within the tolerance of
    it, none far off. A drift (relative timing) or a wrong speed puts most frames off; a busy
    machine may delay a few, and a late frame must not delay the ones after it."""
    late_s = np.array(arrivals_s) - np.array(offsets_s)
    late_s -= np.median(late_s)  # the timeline's start, as the frames place it
    shown = np.round(late_s * 1000, 1).tolist()
    assert np.mean(np.abs(late_s) <= TIMING_TOLERANCE_S) >= 0.8, shown
    assert np.abs(late_s).max() <= 20 * TIMING_TOLERANCE_S, shown


def test_replay_sends_the_recorded_frames_on_time(recorded: Recorded) -> None:
    with UdpCollector() as udp:
        result = run_mocap("replay", recorded.path, "--osc", f"127.0.0.1:{udp.port}")
        udp.wait_for_count(FRAMES)
    assert result.returncode == 0, result.stderr
    frames = recorded.frames()
    osc = osc_frames(udp.datagrams)
    assert len(osc) == FRAMES
    for sent, frame in zip(osc, frames, strict=True):
        assert sent["/mocap/frame"] == [frame.seq, pytest.approx(frame.t_s, abs=1e-6)]
        for address, part in PARTS.items():
            block = frame.pose.parts()[part]
            assert (address in sent) == (not np.isnan(block).all())
            if address in sent:  # the recorded float32 values themselves
                replayed = np.array(sent[address], dtype=np.float32).reshape(block.shape)
                assert np.array_equal(replayed, block, equal_nan=True)
    # the same landmarks as the live run's, to the recording's rounding
    for sent, live in zip(osc, recorded.osc, strict=True):
        for address in PARTS:
            if address in live:
                assert_rounded_alike(as_float32(sent[address]), as_float32(live[address]))
    assert_on_time(udp.arrivals_s, [frame.t_s - frames[0].t_s for frame in frames])


def test_a_websocket_client_cannot_tell_a_replay_from_the_run(recorded: Recorded) -> None:
    with MocapProcess("replay", recorded.path, "--ws", "127.0.0.1:0") as mocap:
        messages = receive_all(mocap.wait_for_line(WS_LINE).group(1))
        assert mocap.wait(60) == 0, mocap.stderr()
    hello, ws_frames = messages[0], messages[1:]
    source_size = ("width", "height")  # known once the first frame is out: timing-dependent
    assert without(hello, "source") == without(recorded.ws_hello, "source")
    assert without(hello["source"], *source_size) == without(
        recorded.ws_hello["source"], *source_size
    )
    live = {message["seq"]: without(message, "latency_ms") for message in recorded.ws_frames}
    common = [message for message in ws_frames if message["seq"] in live]
    assert len(common) >= 5
    for message in common:
        assert without(message, "latency_ms") == live[message["seq"]]
        assert 0.0 <= message["latency_ms"] < 100.0


def test_replay_at_double_speed_halves_the_offsets(recorded: Recorded) -> None:
    with UdpCollector() as udp:
        result = run_mocap("replay", recorded.path, "--osc", f"127.0.0.1:{udp.port}",
                           "--speed", "2")  # fmt: skip
        udp.wait_for_count(FRAMES)
    assert result.returncode == 0, result.stderr
    recorded_t = [frame.t_s for frame in recorded.frames()]
    offsets_s = [(t - recorded_t[0]) / 2 for t in recorded_t]
    assert_on_time(udp.arrivals_s, offsets_s)
    sent_t = [frame["/mocap/frame"][1] for frame in osc_frames(udp.datagrams)]
    assert sent_t == pytest.approx([recorded_t[0] + offset for offset in offsets_s], abs=1e-5)


def vmc_times(datagrams: list[bytes]) -> list[float]:
    return [
        float(OscMessage(datagram).params[0])
        for datagram in datagrams
        if datagram.startswith(b"/VMC/Ext/T\x00")
    ]


def vmc_bone_rotations(datagrams: list[bytes]) -> Iterator[dict[str, list[float]]]:
    for datagram in datagrams:
        if datagram.startswith(b"#bundle"):
            bones = {
                item.params[0]: item.params[4:8]
                for item in OscBundle(datagram)
                if isinstance(item, OscMessage) and item.address == "/VMC/Ext/Bone/Pos"
            }
            if bones:
                yield bones


def test_a_looping_replay_keeps_time_rising_until_stopped(recorded: Recorded) -> None:
    with (
        UdpCollector() as udp,
        UdpCollector() as vmc,
        MocapProcess("replay", recorded.path, "--loop", "--speed", "3", "--osc",
                     f"127.0.0.1:{udp.port}", "--vmc", f"127.0.0.1:{vmc.port}") as mocap,
    ):  # fmt: skip
        udp.wait_for_count(2 * FRAMES + 5, timeout_s=30)
        mocap.process.send_signal(signal.SIGINT)
        assert mocap.wait(20) == 130
        assert "replayed" in mocap.stderr() and "Traceback" not in mocap.stderr()
    osc = osc_frames(udp.datagrams)
    assert [frame["/mocap/frame"][0] for frame in osc] == list(range(len(osc)))
    times = [frame["/mocap/frame"][1] for frame in osc]
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    step = 1 / FPS / 3
    assert times[FRAMES] - times[FRAMES - 1] == pytest.approx(step, abs=1e-4)  # across the loop
    assert osc[FRAMES]["/mocap/face"] == osc[0]["/mocap/face"]  # the same frame again
    vmc_t = vmc_times(vmc.datagrams)
    assert len(vmc_t) >= 2 * FRAMES and vmc_t == sorted(vmc_t) and len(set(vmc_t)) == len(vmc_t)
    # bones go out as recorded
    first = next(vmc_bone_rotations(vmc.datagrams))
    avatar = recorded.frames()[0].avatar
    assert avatar is not None
    for name in ("Head", "LeftUpperArm", "RightHand"):
        assert first[name] == pytest.approx(avatar.local_rotations[INDEX[name]], abs=1e-5)


def stripped_of_bones(recorded: Path, folder: Path) -> Path:
    """The recording as a run without the solver would have written it."""
    lines = [json.loads(line) for line in recorded.read_text().splitlines()]
    lines[0]["settings"]["solver"] = None
    for line in lines[1:]:
        for key in ("bones", "blendshapes", "root"):
            del line[key]
    path = folder / "landmarks-only.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.parametrize("no_solve", [False, True])
def test_a_recording_without_bones_is_solved_for_vmc(
    recorded: Recorded, tmp_path: Path, no_solve: bool
) -> None:
    path = stripped_of_bones(recorded.path, tmp_path)
    with UdpCollector() as vmc:
        result = run_mocap("replay", path, "--vmc", f"127.0.0.1:{vmc.port}", "--speed", "4",
                           *(["--no-solve"] if no_solve else []))  # fmt: skip
        if not no_solve:
            vmc.wait_for_count(FRAMES * 5)
        datagrams = vmc.datagrams
    assert result.returncode == 0, result.stderr
    if no_solve:
        assert datagrams == [] and "--no-solve is set: VMC gets none" in result.stderr
        return
    assert "solving them from its landmarks" in result.stderr
    assert len(vmc_times(datagrams)) == FRAMES
    solved = list(vmc_bone_rotations(datagrams))[-1]
    avatar = recorded.frames()[-1].avatar  # what the run's own solver made of the same frames
    assert avatar is not None
    for name in ("Head", "LeftLowerArm", "RightUpperArm"):
        assert solved[name] == pytest.approx(avatar.local_rotations[INDEX[name]], abs=1e-3)


def test_corrupt_and_cut_lines_are_reported_and_the_rest_plays(
    recorded: Recorded, tmp_path: Path
) -> None:
    lines = recorded.path.read_bytes().split(b"\n")[:-1]
    lines[4] = lines[4].replace(b'"pose"', b'"pose\x00', 1)  # line 5, the frame with seq 3
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(b"\n".join(lines)[:-500])  # the last line (31) cut, as a kill leaves it
    with UdpCollector() as udp:
        result = run_mocap("replay", damaged, "--osc", f"127.0.0.1:{udp.port}",
                           "--speed", "4")  # fmt: skip
        udp.wait_for_count(FRAMES - 2)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if f"{damaged} line" in line]
    assert len(warnings) == 2, result.stderr
    assert f"{damaged} line 5: not JSON" in warnings[0]
    assert f"{damaged} line {FRAMES + 1}: cut short" in warnings[1]
    osc = osc_frames(udp.datagrams)
    assert [frame["/mocap/frame"][0] for frame in osc] == list(range(FRAMES - 2))  # seq from 0
    assert "2 lines skipped" in result.stderr


@pytest.mark.parametrize("content", [None, b"frame,x,y\n1,0.5,0.5\n"])
def test_a_file_that_is_not_a_recording_is_exit_2(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "take.jsonl"
    if content is not None:
        path.write_bytes(content)
    result = run_mocap("replay", path, "--osc", "127.0.0.1:9")
    assert result.returncode == 2
    reason = "is not a mocap recording" if content is not None else "No such file"
    assert "mocap: error: " in result.stderr and reason in result.stderr
    assert "Traceback" not in result.stderr


# --- export ------------------------------------------------------------------------------------

# (bone, its child): the bones whose directions are compared
CHAINS = [
    ("LeftUpperArm", "LeftLowerArm"), ("LeftLowerArm", "LeftHand"),
    ("RightUpperArm", "RightLowerArm"), ("RightLowerArm", "RightHand"), ("Spine", "Chest"),
    ("Neck", "Head"), ("LeftIndexProximal", "LeftIndexIntermediate"),
    ("RightThumbProximal", "RightThumbIntermediate"), ("Head", "LeftEye"),
]  # fmt: skip


def assert_bvh_matches(path: Path, frames: list[RecordedFrame]) -> None:
    mocap = Bvh(path.read_text())
    assert len(mocap.get_joints_names()) == len(BONES) == 55
    assert len(mocap.search("End", "Site")) == 15
    assert mocap.nframes == len(mocap.frames) == FRAMES
    assert mocap.frame_time == pytest.approx(1 / FPS, abs=1e-6)
    for number, frame in enumerate(frames):
        assert frame.avatar is not None
        avatar = frame.avatar
        positions_m, _ = forward_kinematics(
            avatar.local_rotations, avatar.root_position, avatar.root_rotation,
            avatar.local_positions,
        )  # fmt: skip
        world = joint_world(mocap, number)
        for bone, child in CHAINS:
            expected = to_bvh_space(positions_m[INDEX[child]] - positions_m[INDEX[bone]])
            found = world[child][0] - world[bone][0]
            assert angle_deg(found, expected) < 1.0, (number, bone)
        hips = to_bvh_space(positions_m[INDEX["Hips"]])
        assert world["Hips"][0] == pytest.approx(hips, abs=0.01)


def test_export_writes_the_recorded_motion_as_bvh(recorded: Recorded, tmp_path: Path) -> None:
    output = tmp_path / "take.bvh"
    result = run_mocap("export", recorded.path, "-o", output)
    assert result.returncode == 0, result.stderr
    assert f"wrote {output}: {FRAMES} frames" in result.stderr
    assert_bvh_matches(output, recorded.frames())


def test_export_solves_a_recording_without_bones(recorded: Recorded, tmp_path: Path) -> None:
    output = tmp_path / "take.bvh"
    result = run_mocap("export", stripped_of_bones(recorded.path, tmp_path), "-o", output)
    assert result.returncode == 0, result.stderr
    assert "solving them from its landmarks" in result.stderr
    assert_bvh_matches(output, recorded.frames())  # the run's own solution, found again
