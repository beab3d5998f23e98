"""Hostile input never ends in a traceback: bad config files, out-of-range numbers and flags,
unresolvable hosts, corrupt recordings, photos MediaPipe would abort on, and bugs of our own
(issue 12). Each ends in one line naming the problem and an exit code, or a skipped item."""

from __future__ import annotations

import gzip
import math
import typing
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import orjson
import pytest

from mocap.addresses import parse_endpoint
from mocap.cli import build_parser, config_from_args
from mocap.config import SECTIONS, Config, GuardConfig, ModelConfig, PhotoConfig, load, merge
from mocap.encode.recording import decode_frame_line, decode_header
from mocap.errors import ConfigError, FrameRefused
from mocap.frames import ImageArray, ImageSize
from mocap.photos.annotator import PhotoResult
from mocap.photos.checks import PhotoRefused, read_photo
from mocap.photos.uploads import PhotoUploads
from mocap.track.guards import check_size, prepare
from tests.photo_files import encoded, png_bytes
from tests.runs import DATA, REPO, MocapProcess, UdpCollector, osc_frames, run_mocap

RECORDING = DATA / "recording_thumbs_up.jsonl.gz"
PHOTO = DATA / "images" / "face_sergey.png"
WS_LINE = r"WebSocket on (ws://[^\s,]+)"


def assert_one_line_error(stderr: str, *words: str) -> None:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if "error" in line]
    assert len(errors) == 1, stderr
    for word in words:
        assert word in errors[0], stderr


# --- config files ------------------------------------------------------------------------------


def deeply_nested(depth: int) -> bytes:
    return b"[source]\ncamera = " + b"[" * depth + b"]" * depth + b"\n"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"[source]\ncamera = '\xff\xfe'\n", "is not UTF-8 text"),
        (deeply_nested(100_000), "nests its values too deeply"),
        (b'[run]\nrecord = "take\\u0000.jsonl"\n', "'run.record' must not contain a NUL"),
        (b'[source]\nvideo = "a\\u0000.mp4"\n', "'source.video' must not contain a NUL"),
        (b'[server]\nlog_file = "\\u0000"\n', "'server.log_file' must not contain a NUL"),
        (b'[outputs]\nosc = ["a\\u0000:9"]\n', "'outputs.osc' must not contain a NUL"),
        (b"#" * (2 << 20), "larger than 1 MiB"),
    ],
    ids=["not-utf8", "deep", "nul-record", "nul-video", "nul-log-file", "nul-list", "huge"],
)
def test_a_config_that_cannot_be_used_is_a_config_error_naming_the_file(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as refused:
        load(path)
    assert str(path) in str(refused.value) and reason in str(refused.value)


def test_config_from_a_device_reads_a_bounded_amount() -> None:
    with pytest.raises(ConfigError, match=r"/dev/zero is larger than 1 MiB"):
        load(Path("/dev/zero"))


@pytest.mark.parametrize(
    "content", [b"[run]\nframes = '\xff'\n", b'[run]\nrecord = "x\\u0000"\n', deeply_nested(10**5)]
)
def test_mocap_with_a_bad_config_is_one_line_and_exit_2(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    result = run_mocap("replay", RECORDING, "--config", path, "--osc", "127.0.0.1:9")
    assert result.returncode == 2, result.stderr
    assert_one_line_error(result.stderr, str(path))


def test_mocap_with_config_dev_zero_is_exit_2() -> None:
    result = run_mocap("replay", RECORDING, "--config", "/dev/zero", "--osc", "127.0.0.1:9")
    assert result.returncode == 2, result.stderr
    assert_one_line_error(result.stderr, "/dev/zero is larger than 1 MiB")


# --- numbers: finite and bounded ---------------------------------------------------------------


def numeric_keys() -> list[tuple[str, str, type[Any]]]:
    keys = []
    for section, cls in SECTIONS.items():
        for name, annotation in typing.get_type_hints(cls).items():
            if annotation in (int, float):
                keys.append((section, name, annotation))
    return keys


@pytest.mark.parametrize(
    ("section", "key", "annotation"), numeric_keys(), ids=lambda v: str(getattr(v, "__name__", v))
)
def test_every_numeric_key_refuses_infinity_nan_and_absurd_values(
    section: str, key: str, annotation: type[Any]
) -> None:
    absurd: list[Any] = [10**30, -(10**30)]
    if annotation is float:
        absurd += [math.inf, -math.inf, math.nan, 1e300]
    for value in absurd:
        with pytest.raises(ConfigError, match=f"'{section}.{key}' must"):
            merge(Config(), {section: {key: value}})


def test_retry_max_s_inf_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[source]\nretry_max_s = inf\n")
    with pytest.raises(ConfigError, match=r"'source.retry_max_s' must be > 0 and <= 600"):
        load(path)


@pytest.mark.parametrize(
    ("flags", "key"),
    [
        (["--fps", "inf"], "source.fps"),
        (["--fps", "nan"], "source.fps"),
        (["--duration", "1e300"], "run.duration_s"),
        (["--duration", "nan"], "run.duration_s"),
        (["--frames", "-1"], "run.frames"),
        (["--frames", str(10**20)], "run.frames"),
        (["--size", "99999999999x720"], "source.width"),
        (["--camera", "99999999999999999999"], "source.camera"),
    ],
)
def test_run_flags_out_of_range_are_refused_naming_the_key(flags: list[str], key: str) -> None:
    args = build_parser().parse_args(["run", *flags])
    with pytest.raises(ConfigError, match=f"command line: '{key}' must"):
        config_from_args(args)


def test_size_and_camera_flags_take_ascii_digits_only() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--size", "²x720"])
    args = build_parser().parse_args(["run", "--camera", "²"])
    assert config_from_args(args).source.camera == "²"  # a device name, not an index


def test_mocap_run_with_a_huge_camera_index_is_one_line_and_exit_2() -> None:
    result = run_mocap("run", "--camera", "99999999999999999999", "--no-preview")
    assert result.returncode == 2, result.stderr
    assert_one_line_error(result.stderr, "'source.camera' must be an index in [0, 1023]")


@pytest.mark.parametrize("speed", ["1e-12", "1000", "nan", "inf"])
def test_replay_speed_is_within_a_hundredth_and_a_hundred(speed: str) -> None:
    result = run_mocap("replay", RECORDING, "--speed", speed, "--osc", "127.0.0.1:9")
    assert result.returncode == 2, result.stderr
    assert_one_line_error(result.stderr, "--speed must be in [0.01, 100]")


# --- hosts the resolver would choke on ---------------------------------------------------------


@pytest.mark.parametrize("host", ["a" * 64 + ".example", "a..b", "." * 3])
def test_an_unresolvable_host_name_is_refused(host: str) -> None:
    with pytest.raises(ConfigError, match="has no valid host"):
        parse_endpoint(f"{host}:8765", what="outputs.ws")


def test_ws_with_a_64_character_label_is_exit_2() -> None:
    label = "a" * 64
    result = run_mocap("replay", RECORDING, "--ws", f"{label}.example:8765", "--token", "t" * 32)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "has no valid host" in result.stderr


# --- recordings --------------------------------------------------------------------------------


def recording_lines() -> list[bytes]:
    return gzip.decompress(RECORDING.read_bytes()).split(b"\n")[:-1]


def first_frame() -> dict[str, Any]:
    message: dict[str, Any] = orjson.loads(recording_lines()[1])
    return message


def with_value(path: tuple[str, ...], value: Any) -> bytes:
    message = first_frame()
    target = message
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return orjson.dumps(message)


def nested(depth: int) -> bytes:
    return b'{"type":"frame","seq":1,"t":0.1,"size":' + b"[" * depth + b"]" * depth + b"}"


HOSTILE_FRAME_LINES = {
    "size-1e300": with_value(("size",), [1e300, 1]),
    "size-negative": with_value(("size",), [-1, 720]),
    "size-float": with_value(("size",), [1280.5, 720]),
    "size-three": with_value(("size",), [1, 2, 3]),
    "seq-huge": with_value(("seq",), 2**63),
    "seq-float": with_value(("seq",), 1e300),
    "t-huge": with_value(("t",), 1e300),
    "pose-huge": with_value(("pose",), [[1e300, 0, 0, 0]] * 33),
    "pose-shape": with_value(("pose",), [[0.5, 0.5]] * 33),
    "pose-ragged": with_value(("pose",), [[0.5], [0.5, 0.5]]),
    "pose-strings": with_value(("pose",), [["x", 0, 0, 0]] * 33),
    "bones-huge": with_value(("bones", "Hips", "position"), [1e300, 0, 0]),
    "bone-huge": with_value(("bones", "Spine"), [1e300, 0, 0, 1]),
    "root-huge": with_value(("root", "position"), [0, 1e39, 0]),
    "blendshape-huge": with_value(("blendshapes", "Blink"), 1e300),
    "blendshapes-many": with_value(("blendshapes",), {f"x{i}": 0.0 for i in range(1000)}),
    "blendshapes-list": with_value(("blendshapes",), [1, 2]),
    "blendshape-name": with_value(("blendshapes",), {"x" * 1000: 0.0}),
    "nan-token": recording_lines()[1].replace(b'"t":', b'"t":NaN,"u":', 1),
    "huge-number-token": recording_lines()[1].replace(b'"t":', b'"t":1e999999,"u":', 1),
    "deep": nested(100_000),
}


@pytest.mark.parametrize("line", HOSTILE_FRAME_LINES.values(), ids=HOSTILE_FRAME_LINES.keys())
def test_a_hostile_frame_line_is_a_value_error(line: bytes) -> None:
    with pytest.raises(ValueError):  # every reason is the line's own
        decode_frame_line(line, 478)


@pytest.mark.parametrize("fps", [1e300, -1, "fast"])
def test_a_header_with_an_absurd_rate_is_not_a_recording(fps: Any) -> None:
    header = orjson.loads(recording_lines()[0])
    header["source"]["fps"] = fps
    with pytest.raises(ValueError, match="header is incomplete"):
        decode_header(orjson.dumps(header))


def test_many_bad_lines_are_a_few_warnings_and_a_count(tmp_path: Path) -> None:
    lines = recording_lines()
    header, good = lines[0], lines[1:]
    hostile = list(HOSTILE_FRAME_LINES.values())
    # the first frame line is a bad size: the WebSocket hello would be encoded from it
    body = [hostile[0], *good[:10], *hostile[1:], *good[10:], b"x" * (5 << 20)]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join([header, *body]) + b"\n")
    bad_lines = len(hostile) + 1
    with (
        UdpCollector() as osc,
        UdpCollector() as vmc,
        MocapProcess("replay", path, "--speed", "20", "--osc", f"127.0.0.1:{osc.port}",
                     "--vmc", f"127.0.0.1:{vmc.port}", "--ws", "127.0.0.1:0") as mocap,
    ):  # fmt: skip
        assert mocap.wait(60) == 0, mocap.stderr()
        osc.wait_for_count(len(good))
    stderr = mocap.stderr()
    assert "Traceback" not in stderr, stderr
    per_line = [line for line in stderr.splitlines() if f"{path} line " in line]
    assert len(per_line) == 5, stderr
    assert f"{path}: {bad_lines - 5} more bad lines skipped" in stderr
    assert f"{bad_lines} lines skipped" in stderr
    assert len(osc_frames(osc.datagrams)) == len(good)


# --- photos --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "reason"),
    [
        (ImageSize(64, 156_250), "too long"),
        (ImageSize(40_000, 64), "too long"),
        (ImageSize(64, 64 * 17), "too thin"),
        (ImageSize(2000, 100), "too thin"),
    ],
)
def test_extreme_sides_and_aspect_ratios_are_refused(size: ImageSize, reason: str) -> None:
    limits = PhotoConfig(max_pixels=10**9)
    with pytest.raises(FrameRefused) as refused:
        check_size(size, limits, "photos")
    assert refused.value.reason == reason


def test_a_photo_mediapipe_would_abort_on_is_refused_by_name_and_the_batch_goes_on(
    tmp_path: Path,
) -> None:
    strip = tmp_path / "strip.png"
    strip.write_bytes(png_bytes(64, 156_250))  # exactly 10 MP: within photos.max_pixels
    face = tmp_path / "face.png"
    face.write_bytes(PHOTO.read_bytes())
    result = run_mocap("image", strip, face)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{strip}: 64x156250 px; a side may be at most 32766 px" in result.stderr
    assert (tmp_path / "face.annotated.jpg").is_file()
    assert (tmp_path / "face.json").is_file()


def test_a_strip_photo_is_refused_before_decoding() -> None:
    with pytest.raises(PhotoRefused, match="at most 16 times"):
        read_photo(encoded(np.zeros((64, 2048, 3), np.uint8), ".png"), PhotoConfig(), "strip")


class FailingAnnotator:
    """An annotator whose model fails as MediaPipe or OpenCV can: with any exception."""

    instances = 0

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.closed = False
        FailingAnnotator.instances += 1

    def decode(self, data: bytes, name: str) -> ImageArray:
        return np.zeros((480, 640, 3), np.uint8)

    def annotate_image(self, image: ImageArray, name: str) -> PhotoResult:
        raise self.error

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    "error", [RuntimeError("graph failed"), cv2.error("remap"), MemoryError()], ids=type
)
def test_an_upload_whose_annotation_raises_is_refused_and_the_next_one_is_served(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    made: list[FailingAnnotator] = []

    def make(model: ModelConfig, limits: PhotoConfig) -> FailingAnnotator:
        made.append(FailingAnnotator(error))
        return made[-1]

    uploads = PhotoUploads(ModelConfig(), PhotoConfig(), make)
    photo = PHOTO.read_bytes()
    for _ in range(2):
        reply = orjson.loads(uploads(photo))
        assert reply == {"type": "photo_refused", "reason": "the photo could not be processed"}
    assert len(made) == 2 and all(annotator.closed for annotator in made)  # rebuilt after each
    warnings = [r for r in caplog.records if "a photo upload failed" in r.getMessage()]
    assert len(warnings) == 2 and all(r.exc_info is None for r in warnings)
    uploads.close()


# --- the CLI's outermost boundary --------------------------------------------------------------

FAULTY = REPO / "tests" / "faulty_mocap.py"


def run_faulty(path: Path, *args: str) -> tuple[int, str]:
    """mocap ARGS, where opening path raises a RuntimeError."""
    with MocapProcess(*args, launcher=[str(FAULTY), str(path), "--"]) as mocap:
        code = mocap.wait(60)
        return code, mocap.stderr()


@pytest.mark.parametrize("verbose", [[], ["--verbose"]], ids=["quiet", "verbose"])
def test_an_unexpected_exception_is_one_line_and_exit_1(tmp_path: Path, verbose: list[str]) -> None:
    recording = tmp_path / "take.jsonl"
    recording.write_bytes(b"\n".join(recording_lines()))
    code, stderr = run_faulty(recording, *verbose, "replay", str(recording), "--osc", "127.0.0.1:9")
    assert code == 1, stderr
    assert "internal error: RuntimeError: injected failure opening" in stderr
    assert "please report it with --verbose output" in stderr
    assert ("Traceback" in stderr) == bool(verbose), stderr


def test_run_verbose_still_parses_after_the_command() -> None:
    assert build_parser().parse_args(["run", "--verbose"]).verbose is True
    assert build_parser().parse_args(["--verbose", "run"]).verbose is True
    assert build_parser().parse_args(["run"]).verbose is False
    assert build_parser().parse_args(["--verbose", "image", "x.png"]).verbose is True


def test_a_video_frame_too_long_for_mediapipe_is_refused_not_fatal() -> None:
    frame = np.zeros((64, 40_000, 3), np.uint8)  # within guards.max_pixels
    with pytest.raises(FrameRefused, match="a side may be at most 32766 px"):
        prepare(frame, GuardConfig())
