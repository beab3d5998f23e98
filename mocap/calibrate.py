"""Calibration files and takes: `mocap calibrate`, `--calibration FILE`, and live recalibration.

The math and the file format are mocap.solve.calibration's (pure); this module reads and writes
the files, records takes (a camera, a video, the demo clip, or a recording's landmarks with no
model loaded) and runs live recalibration: the preview's `c` key or a WebSocket client's
{"type": "calibrate"} starts a countdown, then a short take of the frames the pipeline publishes;
its calibration is saved, applied to the solver, and answered to the clients that asked.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from mocap import __version__
from mocap.config import Config
from mocap.errors import FrameRefused, MocapError
from mocap.frames import ImageSize, PoseFrame
from mocap.publish.sinks import Published
from mocap.recording.reader import RecordingReader
from mocap.solve.calibration import Calibration, CalibrationError, decode, encode, measure

log = logging.getLogger("mocap")

Reply = Callable[[str], None]
"""Sends a text message to the client that asked (thread-safe)."""

DEFAULT_FILE_NAME = "calibration.json"


# --- files -------------------------------------------------------------------------------------


def default_calibration_path() -> Path:
    """calibration.json in the user's config folder: %APPDATA%\\mocap on Windows,
    $XDG_CONFIG_HOME/mocap (default ~/.config/mocap) elsewhere."""
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"])
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mocap" / DEFAULT_FILE_NAME


def load_calibration(path: Path) -> Calibration:
    """A calibration file; CalibrationError (exit 2) naming the file and what is wrong."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CalibrationError(
            f"cannot read the calibration file {path}: {exc.strerror} (make one with "
            "mocap calibrate)"
        ) from None
    try:
        return decode(data)
    except ValueError as exc:
        raise CalibrationError(f"{path} is not a mocap calibration file: {exc}") from None


def save_calibration(path: Path, calibration: Calibration) -> None:
    """Write the file whole or not at all (a temporary file renamed over it)."""
    created_utc = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    data = encode(calibration, version=__version__, created_utc=created_utc)
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as exc:
        raise CalibrationError(
            f"cannot write the calibration file {path}: {exc.strerror}"
        ) from None


def configured_calibration(config: Config) -> Calibration | None:
    """The calibration solver.calibration names (None when it names none)."""
    if not config.solver.calibration:
        return None
    path = Path(config.solver.calibration)
    calibration = load_calibration(path)
    log.info("calibration %s: %s", path, calibration.summary())
    return calibration


def calibration_target(config: Config) -> Path:
    """Where live recalibration saves: the calibration file in use, else the default path."""
    return (
        Path(config.solver.calibration) if config.solver.calibration else default_calibration_path()
    )


# --- `mocap calibrate` -------------------------------------------------------------------------


def calibrate(config: Config, recording: Path | None, seconds: float, output: Path) -> Calibration:
    """Record a take of seconds (from a recording's landmarks, else from the config's source
    through the model), measure it, save it to output."""
    if recording is not None:
        poses, source = recorded_take(recording, seconds), str(recording)
    else:
        poses, source = tracked_take(config, seconds)
    calibration = measure(poses, source)
    save_calibration(output, calibration)
    log.info("calibration saved to %s: %s", output, calibration.summary())
    return calibration


def recorded_take(path: Path, seconds: float) -> list[PoseFrame]:
    """The landmarks of a recording's first seconds (no model is loaded)."""
    reader = RecordingReader(path)

    def report(line_number: int, reason: str) -> None:
        log.warning("%s line %d: %s; skipped", path, line_number, reason)

    poses: list[PoseFrame] = []
    first_s: float | None = None
    for frame in reader.frames(report):
        first_s = frame.t_s if first_s is None else first_s
        if frame.t_s - first_s > seconds:
            break
        poses.append(frame.pose)
    return poses


def tracked_take(config: Config, seconds: float) -> tuple[list[PoseFrame], str]:
    """The landmarks of seconds of the config's source, through the model; and its name."""
    # mediapipe and OpenCV load in seconds: only for a take from a camera or video.
    from mocap.sources import open_source  # noqa: PLC0415
    from mocap.track import guards, open_tracker  # noqa: PLC0415
    from mocap.track.holistic import warm_up  # noqa: PLC0415

    stop = threading.Event()
    poses: list[PoseFrame] = []
    with (
        contextlib.closing(open_tracker(config.model)) as tracker,
        open_source(config.source) as source,
    ):
        warm_up(tracker)
        log.info(
            "calibrating on %s for %g s: stand or sit upright facing the camera, eyes open "
            "looking ahead, mouth relaxed",
            source.description,
            seconds,
        )
        first_s: float | None = None
        for video_frame in source.frames(stop):
            first_s = video_frame.timestamp_s if first_s is None else first_s
            if video_frame.timestamp_s - first_s > seconds:
                break
            try:
                image = guards.prepare(video_frame.image, config.guards)
            except FrameRefused:
                continue
            poses.append(
                tracker.process(
                    image,
                    index=video_frame.index,
                    timestamp_s=video_frame.timestamp_s,
                    source_size=ImageSize.of(video_frame.image),
                )
            )
        return poses, source.description


# --- live recalibration ------------------------------------------------------------------------


class LiveCalibration:
    """Recalibration while running, as a sink of the published frames.

    request() may be called from any thread (the main thread's `c` key, the WebSocket server's
    thread); step() runs on the main thread, which starts the countdown, and once the take is
    over measures it, saves it to path, applies it (apply: the solver's calibrate) and answers
    every client that asked; publish() runs on the pipeline thread and keeps the take's frames.
    """

    def __init__(
        self,
        path: Path,
        apply: Callable[[Calibration], None],
        countdown_s: float,
        take_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._apply = apply
        self._countdown_s = countdown_s
        self._take_s = take_s
        self._clock = clock
        self._lock = threading.Lock()
        self._requested = False
        self._waiting: list[Reply] = []  # clients to answer when the take in progress ends
        self._take_from_s = self._take_until_s = math.inf
        self._poses: list[PoseFrame] = []

    def request(self, reply: Reply | None = None) -> None:
        """Ask for a recalibration (one in progress answers this request too)."""
        with self._lock:
            self._requested = True
            if reply is not None:
                self._waiting.append(reply)

    def publish(self, frame: Published) -> None:
        now_s = self._clock()
        with self._lock:
            if self._take_from_s <= now_s < self._take_until_s:
                self._poses.append(frame.pose)

    def close(self) -> None:
        """Nothing to release: a take in progress is dropped with the run."""

    def step(self) -> None:
        """Start a requested take's countdown; finish a take that is over."""
        now_s = self._clock()
        with self._lock:
            if self._requested and self._take_until_s == math.inf:
                self._requested = False
                self._take_from_s = now_s + self._countdown_s
                self._take_until_s = self._take_from_s + self._take_s
                self._poses = []
                log.info(
                    "calibrating in %g s: stand or sit upright facing the camera, eyes open "
                    "looking ahead",
                    self._countdown_s,
                )
                return
            if now_s < self._take_until_s:
                return
            poses, waiting = self._poses, self._waiting
            self._poses, self._waiting = [], []
            self._take_from_s = self._take_until_s = math.inf
        self._finish(poses, waiting)

    def overlay(self) -> list[str]:
        """What the preview shows during a recalibration: the countdown, then the take."""
        now_s = self._clock()
        with self._lock:
            take_from_s, take_until_s = self._take_from_s, self._take_until_s
        if now_s < take_from_s < math.inf:
            return [f"CALIBRATING IN {math.ceil(take_from_s - now_s)}: stand upright, look ahead"]
        if now_s < take_until_s < math.inf:
            return ["CALIBRATING: hold still"]
        return []

    def _finish(self, poses: list[PoseFrame], waiting: list[Reply]) -> None:
        try:
            calibration = measure(poses, source="live recalibration")
            save_calibration(self.path, calibration)
        except MocapError as exc:
            log.warning("calibration failed: %s", exc)
            _answer(waiting, {"type": "calibration_failed", "reason": str(exc)})
            return
        self._apply(calibration)
        log.info("calibrated (saved to %s): %s", self.path, calibration.summary())
        _answer(
            waiting,
            {
                "type": "calibrated",
                "file": str(self.path),
                "camera_pitch_deg": round(calibration.camera_pitch_deg, 2),
                "camera_roll_deg": round(calibration.camera_roll_deg, 2),
                "face": calibration.face is not None,
                "frames": calibration.frames,
            },
        )


def _answer(replies: list[Reply], message: dict[str, object]) -> None:
    text = orjson.dumps(message).decode()
    for reply in replies:
        reply(text)


def live_calibration(config: Config, apply: Callable[[Calibration], None]) -> LiveCalibration:
    """Live recalibration for a run or replay, saved where calibration_target says."""
    return LiveCalibration(
        calibration_target(config),
        apply,
        config.solver.calibration_countdown_s,
        config.solver.calibration_take_s,
    )
