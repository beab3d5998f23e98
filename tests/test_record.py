"""Recordings: the line format (pure), the writer and the reader (real files), replay's timeline."""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from mocap import skeleton
from mocap.config import Config, merge
from mocap.encode.frame_json import encode_frame
from mocap.encode.recording import (
    SCHEMA,
    NotARecording,
    RecordedFrame,
    RecordingHeader,
    decode_frame_line,
    decode_header,
    encode_frame_line,
    encode_header,
    mean_frame_interval_s,
    recording_settings,
)
from mocap.errors import ConfigError
from mocap.frames import PoseFrame
from mocap.publish.sinks import Published
from mocap.recording.reader import RecordingReader
from mocap.recording.replay import Timeline
from mocap.recording.writer import RecordSink
from mocap.solve import AvatarFrame
from mocap.solve.humanoid import BONES, INDEX, REST_LOCAL_POSITIONS
from tests.conftest import synthetic_pose_frame

ROUNDING = 5.1e-6  # values are written with five decimals (and read back as float32)


def header(solver: bool = True) -> RecordingHeader:
    config = merge(Config(), {"solver": {"enabled": solver}})
    return RecordingHeader(
        source_description="video take.mp4",
        source_live=False,
        source_fps=25.0,
        face_points=478,
        settings=recording_settings(config),
        mocap_version="0.1.0",
        started_utc="2025-01-02T03:04:05+00:00",
    )


def avatar(seed: int) -> AvatarFrame:
    positions = REST_LOCAL_POSITIONS.copy()
    positions[INDEX["Hips"]] = [0.0, 0.81, 0.0]
    return AvatarFrame(
        bone_names=BONES,
        local_positions=positions,
        local_rotations=Rotation.random(len(BONES), random_state=seed).as_quat(),
        root_position=np.array([0.1, 0.0, -0.2]),
        root_rotation=Rotation.from_euler("y", 30, degrees=True).as_quat(),
        blendshapes={"Blink": 0.25, "A": 0.5, "Joy": 0.0},
    )


def assert_same_frame(got: RecordedFrame, pose: PoseFrame, solved: AvatarFrame | None) -> None:
    for name, block in pose.parts().items():
        decoded = got.pose.parts()[name]
        assert decoded.dtype == np.float32 and decoded.shape == block.shape
        assert np.array_equal(np.isnan(decoded), np.isnan(block)), name
        assert np.nanmax(np.abs(decoded - block), initial=0.0) <= ROUNDING, name
    assert got.pose.image_size == pose.image_size
    assert got.pose.arkit.dtype == np.float32
    assert np.array_equal(np.isnan(got.pose.arkit), np.isnan(pose.arkit))
    assert np.nanmax(np.abs(got.pose.arkit - pose.arkit), initial=0.0) <= 5.1e-5  # 4 decimals
    if solved is None:
        assert got.avatar is None
        return
    assert got.avatar is not None
    assert got.avatar.bone_names == BONES
    assert np.abs(got.avatar.local_rotations - solved.local_rotations).max() <= ROUNDING
    assert np.abs(got.avatar.local_positions - solved.local_positions).max() <= ROUNDING
    assert np.abs(got.avatar.root_rotation - solved.root_rotation).max() <= ROUNDING
    assert np.abs(got.avatar.root_position - solved.root_position).max() <= ROUNDING
    assert list(got.avatar.blendshapes) == list(solved.blendshapes)


# --- the line format ---------------------------------------------------------------------------


@pytest.mark.parametrize("solved", [True, False])
@pytest.mark.parametrize("hands", [True, False])
def test_a_frame_line_round_trips_within_rounding(solved: bool, hands: bool) -> None:
    pose = synthetic_pose_frame(hands=hands, arkit=hands)
    body = avatar(1) if solved else None
    line = encode_frame_line(pose, 12, 0.48, body)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    got = decode_frame_line(line, 478)
    assert (got.seq, got.t_s) == (12, 0.48)
    assert_same_frame(got, pose, body)


def test_a_frame_line_is_the_stream_frame_message_plus_the_root() -> None:
    pose, body = synthetic_pose_frame(), avatar(2)
    line = json.loads(encode_frame_line(pose, 3, 0.12, body))
    root = line.pop("root")
    stream = json.loads(encode_frame(pose, 3, 0.12))
    assert {key: line[key] for key in stream} == stream
    assert set(line) - set(stream) == {"bones", "blendshapes"}
    assert set(line["bones"]) == set(BONES) and set(line["bones"]["Hips"]) == {
        "rotation", "position",
    }  # fmt: skip
    assert root["rotation"] == pytest.approx(body.root_rotation.tolist(), abs=ROUNDING)


def test_the_header_round_trips() -> None:
    line = encode_header(header())
    message = json.loads(line)
    assert message["type"] == "header" and message["schema"] == SCHEMA == "mocap.recording/1"
    assert message["parts"] == {
        "pose": 33, "pose_world": 33, "face": 478, "left_hand": 21, "right_hand": 21,
    }  # fmt: skip
    assert message["source"] == {"description": "video take.mp4", "live": False, "fps": 25.0}
    assert set(message["settings"]) == {"model", "smoothing", "solver"}
    assert decode_header(line) == header()
    assert json.loads(encode_header(header(solver=False)))["settings"]["solver"] is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", "not JSON"),
        (b"PK\x03\x04 a zip file", "not JSON"),
        (b'{"type": "frame", "seq": 0}', "not a mocap recording header"),
        (b'{"type": "header", "schema": "mocap.recording/2"}', "this mocap reads mocap.rec"),
        (b'{"type": "header", "schema": "other"}', "names the schema 'other'"),
        (b'{"type": "header", "schema": "mocap.recording/1"}', "header is incomplete"),
    ],
)
def test_what_is_not_a_recording_header(line: bytes, reason: str) -> None:
    with pytest.raises(NotARecording, match=reason):
        decode_header(line)


def test_a_line_without_arkit_weights_has_none() -> None:
    """Recordings made before the weights existed, and frames without a face."""
    message = json.loads(encode_frame_line(synthetic_pose_frame(arkit=True), 0, 0.0, None))
    del message["arkit"]
    assert np.isnan(decode_frame_line(json.dumps(message).encode(), 478).pose.arkit).all()


def corrupted(change: str) -> bytes:
    message = json.loads(encode_frame_line(synthetic_pose_frame(arkit=True), 0, 0.0, avatar(3)))
    if change == "pose shape":
        message["pose"] = message["pose"][:-1]
    elif change == "no face":
        del message["face"]
    elif change == "text in a block":
        message["left_hand"][0][0] = "x"
    elif change == "a bone missing":
        del message["bones"]["LeftHand"]
    elif change == "a NaN bone":
        message["bones"]["Head"][0] = None
    elif change == "seq":
        message["seq"] = "7"
    elif change == "arkit above 1":
        message["arkit"]["jawOpen"] = 1.5
    elif change == "arkit name missing":
        del message["arkit"]["jawOpen"]
    elif change == "arkit text":
        message["arkit"]["jawOpen"] = "0.5"
    elif change == "arkit list":
        message["arkit"] = [0.5] * 51
    return json.dumps(message).encode()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (encode_frame_line(synthetic_pose_frame(), 0, 0.0, None)[:-500], "not JSON"),
        (b'{"type": "photo"}', "not a frame"),
        (corrupted("pose shape"), r"expected a \(33, 4\) landmark block"),
        (corrupted("no face"), "no 'face'"),
        (corrupted("text in a block"), "could not convert"),
        (corrupted("a bone missing"), "no 'LeftHand'"),
        (corrupted("a NaN bone"), "not a finite number"),
        (corrupted("seq"), "seq or t is not a number"),
        (corrupted("arkit above 1"), "an arkit weight is not in 0..1"),
        (corrupted("arkit name missing"), "not a table of the 51 ARKit weights"),
        (corrupted("arkit text"), "an arkit weight is not a number"),
        (corrupted("arkit list"), "not a table of the 51 ARKit weights"),
    ],
)
def test_a_corrupt_frame_line_says_what_is_wrong(line: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        decode_frame_line(line, 478)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=8,
)
FIELDS = [
    "type", "seq", "t", "size", "pose", "pose_world", "face", "left_hand", "right_hand", "bones",
    "blendshapes", "root", "bones.Hips", "bones.Head", "root.rotation", "blendshapes.A", "arkit",
    "arkit.jawOpen",
]  # fmt: skip
VALID_LINE = json.loads(encode_frame_line(synthetic_pose_frame(arkit=True), 4, 0.16, avatar(4)))


@settings(max_examples=300)
@given(field=st.sampled_from(FIELDS), value=JSON_VALUES)
def test_any_value_in_any_field_is_a_frame_or_a_reason(field: str, value: object) -> None:
    """Whatever a corrupt file holds, decoding returns a frame or raises ValueError: never another
    exception, which would stop a replay."""
    message = json.loads(json.dumps(VALID_LINE))
    *parents, key = field.split(".")
    target = message
    for parent in parents:
        target = target[parent]
    target[key] = value
    with contextlib.suppress(ValueError):
        decode_frame_line(json.dumps(message).encode(), 478)


def test_mean_frame_interval() -> None:
    assert mean_frame_interval_s(0.0, 1.0, 26, 30.0) == pytest.approx(0.04)
    assert mean_frame_interval_s(0.5, 0.5, 1, 30.0) == pytest.approx(1 / 30)
    assert mean_frame_interval_s(0.0, 0.0, 1, 0.0) == pytest.approx(1 / 30)


# --- writing and reading files -----------------------------------------------------------------


def write_recording(path: Path, frames: int = 6) -> list[tuple[PoseFrame, AvatarFrame]]:
    sink = RecordSink(path, header(), wait_when_full=True)
    sent = []
    for seq in range(frames):
        pose = synthetic_pose_frame(seed=seq, hands=seq % 2 == 0, arkit=seq % 3 != 0)
        body = avatar(seq)
        sink.publish(Published(seq, seq * 0.04, pose, body, time.monotonic()))
        sent.append((pose, body))
    sink.close()
    assert sink.frames_written == frames and not sink.failure
    assert sink.summary().startswith(f"recording: {frames} frames in {path} (")
    return sent


def read_all(path: Path) -> tuple[list[RecordedFrame], list[tuple[int, str]]]:
    problems: list[tuple[int, str]] = []
    frames = list(RecordingReader(path).frames(lambda n, why: problems.append((n, why))))
    return frames, problems


@pytest.mark.parametrize("name", ["take.jsonl", "take.jsonl.gz"])
def test_a_recording_reads_back_whole(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    sent = write_recording(path)
    if name.endswith(".gz"):
        text = gzip.decompress(path.read_bytes())  # a complete gzip stream, trailer and all
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    else:
        text = path.read_bytes()
    assert text.count(b"\n") == len(sent) + 1 and text.endswith(b"\n")
    assert RecordingReader(path).header == header()
    frames, problems = read_all(path)
    assert problems == []
    assert [frame.seq for frame in frames] == list(range(len(sent)))
    for frame, (pose, body) in zip(frames, sent, strict=True):
        assert_same_frame(frame, pose, body)


def test_a_recording_cut_mid_line_plays_up_to_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "take.jsonl"
    write_recording(path, frames=5)
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 300])  # 300 bytes of line 6
    frames, problems = read_all(path)
    assert len(frames) == 4
    assert problems == [(6, "cut short (the recording ends mid-line, as a killed run leaves it)")]


def test_a_gzip_recording_cut_anywhere_plays_every_complete_line(tmp_path: Path) -> None:
    path = tmp_path / "take.jsonl.gz"
    write_recording(path, frames=5)
    data = path.read_bytes()
    for cut in (len(data) - 8, len(data) - 600, len(data) // 2):
        path.write_bytes(data[:cut])
        expected = zlib.decompressobj(wbits=31).decompress(data[:cut]).count(b"\n") - 1
        frames, problems = read_all(path)
        assert len(frames) == expected
        assert len(problems) == 1 and problems[0][0] == expected + 2  # the line after the last
        assert "cut short" in problems[0][1] or "unfinished" in problems[0][1]


def test_corrupt_lines_in_the_middle_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "take.jsonl"
    write_recording(path, frames=6)
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2][:100] + b"\x00garbage" + lines[2][100:]  # line 3: the second frame
    lines[4] = b"x" * (5 << 20)  # line 5: a huge line without a frame
    line = json.loads(lines[6])  # line 7: the sixth frame, with weights out of range
    line["arkit"] = dict.fromkeys(skeleton.ARKIT_NAMES, -0.5)
    lines[6] = json.dumps(line).encode()
    path.write_bytes(b"\n".join(lines))
    frames, problems = read_all(path)
    assert [frame.seq for frame in frames] == [0, 2, 4]
    assert [number for number, _ in problems] == [3, 5, 7]
    assert "not JSON" in problems[0][1] and "longer than 4 MB" in problems[1][1]
    assert "arkit weight is not in 0..1" in problems[2][1]


@pytest.mark.parametrize(
    "content", [b"", b"hello\n", b'{"type": "frame"}\n', gzip.compress(b"no header here\n")]
)
def test_a_file_that_is_not_a_recording_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="is not a mocap recording") as refused:
        RecordingReader(path)
    assert refused.value.exit_code == 2


def test_a_missing_folder_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot write") as refused:
        RecordSink(tmp_path / "no" / "take.jsonl", header(), wait_when_full=True)
    assert refused.value.exit_code == 2


@pytest.mark.parametrize("name", ["full.jsonl", "full.jsonl.gz"])
def test_a_full_disk_stops_the_recording_not_the_caller(
    tmp_path: Path, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / name
    path.symlink_to("/dev/full")  # every write fails with ENOSPC
    sink = RecordSink(path, header(), wait_when_full=False)
    with caplog.at_level(logging.WARNING, logger="mocap.recording"):
        for seq in range(20):
            sink.publish(Published(seq, seq / 25, synthetic_pose_frame(), None, time.monotonic()))
        sink.close()
    assert "No space left on device" in sink.failure
    assert sink.summary().startswith("recording: stopped after 0 frames: cannot write")
    assert len(caplog.records) == 1  # said once
    assert "the run goes on without it" in caplog.records[0].getMessage()


# --- replay's timeline -------------------------------------------------------------------------


def test_the_timeline_keeps_recorded_offsets_and_scales_them_by_speed() -> None:
    for speed in (1.0, 2.0, 0.5):
        timeline = Timeline(speed)
        offsets = [timeline.offset_s(t) for t in (0.7, 0.74, 0.78, 1.7)]
        assert offsets == pytest.approx([0.0, 0.04 / speed, 0.08 / speed, 1.0 / speed])
        assert timeline.sent_t_s(offsets[1]) == pytest.approx(0.7 + 0.04 / speed)


def test_loops_continue_the_timeline() -> None:
    timeline = Timeline(2.0)
    first = [timeline.offset_s(t) for t in (1.0, 1.5, 2.0)]
    timeline.next_pass(2.0, interval_s=0.5)
    second = [timeline.offset_s(t) for t in (1.0, 1.5, 2.0)]
    assert first == pytest.approx([0.0, 0.25, 0.5])
    assert second == pytest.approx([0.75, 1.0, 1.25])  # one interval after the last frame
    timeline.next_pass(2.0, interval_s=0.5)
    assert timeline.offset_s(1.0) == pytest.approx(1.5)
