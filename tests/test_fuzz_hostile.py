"""Fuzzing config files as raw bytes and recordings with hostile values: each ends in a
ConfigError, a skipped line, or a result every output can send; memory stays bounded."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocap.config import Config, load
from mocap.encode.frame_json import encode_hello
from mocap.encode.osc import encode_landmarks_bundle
from mocap.encode.recording import decode_frame_line, encode_frame_line
from mocap.encode.vmc import encode_vmc_frame
from mocap.encode.vmc_profiles import profile_named
from mocap.errors import ConfigError
from mocap.recording.reader import MAX_LINE_BYTES, RecordingReader
from tests.runs import DATA

FUZZ = settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
RECORDING_LINES = gzip.decompress((DATA / "recording_thumbs_up.jsonl.gz").read_bytes()).split(b"\n")
HEADER, FRAME = RECORDING_LINES[0], RECORDING_LINES[1]
TOML_PIECES = [
    b"[source]\n", b"[run]\n", b"camera = ", b"record = ", b'"', b"'", b"[", b"]", b"{", b"}",
    b"=", b"\n", b"\\u0000", b"\xff", b"\xc3", b"inf", b"nan", b"1e999",
]  # fmt: skip


# --- config files as bytes ---------------------------------------------------------------------

config_bytes = st.one_of(
    st.binary(max_size=2000),
    st.lists(st.sampled_from(TOML_PIECES), max_size=200).map(b"".join),
    st.tuples(st.sampled_from([b"[", b"{a=", b"x=["]), st.integers(1, 50_000)).map(
        lambda piece_count: piece_count[0] * piece_count[1]
    ),
)


@FUZZ
@given(config_bytes)
def test_any_config_bytes_give_a_config_or_a_config_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    try:
        assert isinstance(load(path), Config)
    except ConfigError as exc:
        assert str(path) in str(exc)


# --- recordings --------------------------------------------------------------------------------

hostile_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**64), 2**64),
    st.sampled_from([1e300, -1e300, 3.5e38, 1e39, 0, -1, 2**53, 2**63]),
)
hostile_values = st.recursive(
    st.one_of(hostile_numbers, st.none(), st.booleans(), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=20,
)
FIELDS = [("size",), ("seq",), ("t",), ("pose",), ("face",), ("left_hand",), ("blendshapes",),
          ("bones",), ("bones", "Hips"), ("bones", "Hips", "position"), ("bones", "Spine"),
          ("root",), ("root", "rotation"), ("blendshapes", "Blink")]  # fmt: skip


def with_value(path: tuple[str, ...], value: Any) -> bytes:
    message: dict[str, Any] = orjson.loads(FRAME)
    target = message
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(message).encode()  # json: integers past 64 bits too


def number_tokens(text: str) -> bytes:
    """The frame with its t replaced by a token no JSON encoder writes (NaN, 1e999, ...)."""
    return FRAME.replace(b'"t":', b'"t":' + text.encode() + b',"u":', 1)


frame_lines = st.one_of(
    st.builds(with_value, st.sampled_from(FIELDS), hostile_values),
    st.builds(with_value, st.just(("size",)), st.lists(hostile_numbers, min_size=2, max_size=2)),
    st.builds(number_tokens, st.sampled_from(["NaN", "Infinity", "-1e999", "1e999", "0x10"])),
    st.binary(max_size=300),
    st.integers(1, 5000).map(lambda depth: b'{"type":"frame","size":' + b"[" * depth),
)


def assert_sendable(line: bytes) -> None:
    """A line either is refused (ValueError) or decodes into a frame every output can send."""
    try:
        frame = decode_frame_line(line, 478)
    except ValueError:
        return
    encode_frame_line(frame.pose, frame.seq, frame.t_s, frame.avatar)
    encode_hello(frame.pose.image_size, 30.0, 478)
    encode_landmarks_bundle(frame.pose, frame.seq, frame.t_s)
    if frame.avatar is not None:
        encode_vmc_frame(frame.avatar, frame.t_s, profile_named("generic", vrm1_names=True))


@FUZZ
@given(frame_lines)
def test_a_frame_line_is_refused_or_sendable(line: bytes) -> None:
    assert_sendable(line)


def test_the_untouched_frame_is_sendable() -> None:
    assert decode_frame_line(FRAME, 478).avatar is not None
    assert_sendable(FRAME)


def problems_and_frames(path: Path) -> tuple[list[int], int]:
    lines: list[int] = []
    frames = sum(1 for _ in RecordingReader(path).frames(lambda number, _: lines.append(number)))
    return lines, frames


def endless(chunk_bytes: int, chunks: int) -> Iterator[bytes]:
    yield HEADER + b"\n" + FRAME + b"\n"
    for _ in range(chunks):
        yield b"7" * chunk_bytes
    yield b"\n" + FRAME + b"\n"


def test_an_endless_line_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "endless.jsonl"
    with path.open("wb") as file:
        file.writelines(endless(1 << 20, 64))  # a 64 MB line
    tracemalloc.start()
    try:
        lines, frames = problems_and_frames(path)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (lines, frames) == ([3], 2)
    assert peak_bytes < 4 * MAX_LINE_BYTES


@FUZZ
@given(st.lists(frame_lines, max_size=8))
def test_a_recording_of_hostile_lines_reads_to_its_end(tmp_path: Path, body: list[bytes]) -> None:
    path = tmp_path / "hostile.jsonl"
    lines = [line.replace(b"\n", b" ") for line in body]
    path.write_bytes(b"\n".join([HEADER, FRAME, *lines, FRAME]) + b"\n")
    problems, frames = problems_and_frames(path)
    assert frames + len(problems) == len(lines) + 2
    assert frames >= 2
