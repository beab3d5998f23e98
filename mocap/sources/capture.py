"""Frames read through OpenCV in a capture thread: what every camera, file and stream source
shares (the behaviour the package's docstring describes: one-slot newest-frame buffers for live
sources, reconnection with back-off, decoding ahead for files read frame by frame)."""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import threading
import time
import typing
from abc import abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

import cv2

from mocap.config import SourceConfig
from mocap.errors import SourceError
from mocap.frames import ImageArray, VideoFrame
from mocap.sources.base import Source
from mocap.threads import LatestSlot, lower_this_thread_priority

# FFmpeg prints its own line for each failed read or reconnection attempt ("Connection refused",
# "error while decoding MB"); the messages here say what matters, once. OpenCV reads this when it
# first uses FFmpeg (at the first capture, not at import). Set it yourself to see FFmpeg's lines.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET

logger = logging.getLogger("mocap.sources")

_RETRY_FIRST_S = 0.1  # first wait before reopening a lost camera or stream; doubles each time
_POLL_S = 0.05  # how often a waiting frames() looks at stop and close()
_JOIN_TIMEOUT_S = 2.0  # close() waits this long for the capture thread
_DECODE_AHEAD_FRAMES = 4  # non-realtime files: decoded frames waiting for the consumer
_ASSUMED_FPS = 30.0  # a file that reports neither timestamps nor a frame rate
_OPENCV_LOG_SILENT = 0
# The log level functions: at the top in OpenCV 4, in cv2.utils.logging in OpenCV 5 (which
# mediapipe 1.x brings).
_opencv_logging: typing.Any = getattr(cv2.utils, "logging", cv2)

Capture = cv2.VideoCapture


class Reader(Protocol):
    """What the capture thread uses of a capture: a cv2.VideoCapture, or mocap's own MJPEG
    reader (mocap.sources.mjpeg)."""

    def read(self) -> tuple[bool, cv2.typing.MatLike]: ...

    def get(self, property_id: int, /) -> float: ...

    def release(self) -> None: ...


AnyReader = TypeVar("AnyReader", bound=Reader)
Opener = Callable[[], tuple[Reader, ImageArray]]
"""Opens a capture and reads its first frame, or raises SourceError(at_start=True)."""


def open_at_background_priority(
    opener: Callable[[], tuple[AnyReader, ImageArray]],
) -> tuple[AnyReader, ImageArray]:
    """Run opener on a thread at the capture thread's background priority.

    FFmpeg starts its decoder threads when a capture opens, and threads inherit the priority of
    the thread that starts them: opened on the main thread, they would decode at normal
    priority, taking the cores from inference instead of filling the gaps that it leaves.
    (Reopening happens on the capture thread, which already runs at that priority.)
    """
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="open capture", initializer=lower_this_thread_priority
    ) as opening:
        return opening.submit(opener).result()


def first_frame(capture: AnyReader, failure: str) -> tuple[AnyReader, ImageArray]:
    image = read_image(capture)
    if image is None:
        capture.release()
        raise SourceError(failure)
    return capture, image


def read_image(capture: Reader) -> ImageArray | None:
    """The next frame as OpenCV decodes it (uint8 BGR), or None when there is none."""
    ok, image = capture.read()
    # The stubs allow any Mat; a capture with its default RGB conversion yields uint8 BGR.
    return typing.cast(ImageArray, image) if ok else None


@contextmanager
def opencv_quiet() -> Iterator[None]:
    """OpenCV warns on stderr for every failed open; the SourceError says it once, and better."""
    previous_level = _opencv_logging.getLogLevel()
    _opencv_logging.setLogLevel(_OPENCV_LOG_SILENT)
    try:
        yield
    finally:
        _opencv_logging.setLogLevel(previous_level)


def fps_of(capture: Reader) -> float:
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    return fps if fps > 0 else 0.0


def container_time_s(capture: Reader, frame_number: int, fps: float) -> float:
    """The frame just read's time in its file: its PTS, or frame_number/fps when there is none."""
    position_ms = float(capture.get(cv2.CAP_PROP_POS_MSEC))
    if position_ms > 0 or frame_number == 0:
        return position_ms / 1000.0
    return frame_number / (fps or _ASSUMED_FPS)


# --- the thread every source reads in ----------------------------------------------------------


class _ThreadedSource(Source):
    """A capture owned by one reading thread, started by the first frames() call.

    Only the thread touches the capture once it runs (it releases it on the way out); close()
    releases it itself only when no thread was ever started.
    """

    def __init__(
        self, description: str, capture: Reader, *, live: bool, nominal_fps: float
    ) -> None:
        super().__init__(description, live=live, nominal_fps=nominal_fps)
        self._capture = capture
        self._closing = threading.Event()
        self._lifecycle_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._origin_monotonic_s = 0.0
        self._failure: SourceError | None = None
        self._reconnects = 0

    @property
    def reconnects(self) -> int:
        return self._reconnects

    def close(self) -> None:
        with self._lifecycle_lock:
            if self._closing.is_set():
                return
            self._closing.set()
            thread = self._thread
        if thread is None:
            self._capture.release()
            return
        thread.join(timeout=_JOIN_TIMEOUT_S)
        if thread.is_alive():
            logger.debug(
                "%s: the capture thread is still reading after %.0f s; leaving it to finish",
                self.description,
                _JOIN_TIMEOUT_S,
            )

    def _start_reading(self) -> bool:
        """Start the reading thread once; False if the source is already closed."""
        with self._lifecycle_lock:
            if self._closing.is_set():
                return False
            if self._thread is None:
                self._origin_monotonic_s = time.monotonic()
                self._thread = threading.Thread(
                    target=self._read_until_done, name=f"capture {self.description}", daemon=True
                )
                self._thread.start()
            return True

    def _read_until_done(self) -> None:
        lower_this_thread_priority()  # decoding fills the gaps that inference leaves
        try:
            self._read_loop()
        except SourceError as exc:
            self._failure = SourceError(str(exc), at_start=False)
        except Exception as exc:  # the thread's boundary: the consumer must hear of it
            logger.exception("%s: reading failed", self.description)
            self._failure = SourceError(f"{self.description} failed: {exc}", at_start=False)
        finally:
            self._capture.release()
            self._finish()

    @abstractmethod
    def _read_loop(self) -> None:
        """Read self._capture (it may replace it) until the end, a failure, or closing."""

    @abstractmethod
    def _finish(self) -> None:
        """Tell the consumer that no more frames will come."""


# --- live sources: the newest frame only -------------------------------------------------------


class _LatestFrameSource(_ThreadedSource):
    """A live source: the reading thread overwrites a one-slot buffer; frames() takes from it."""

    def __init__(
        self,
        description: str,
        capture: Reader,
        *,
        nominal_fps: float,
        lost_after_s: float | None,
    ) -> None:
        super().__init__(description, capture, live=True, nominal_fps=nominal_fps)
        self._lost_after_s = lost_after_s
        self._newest: LatestSlot[VideoFrame] = LatestSlot()
        self._next_index = 0
        self._last_frame_monotonic_s = 0.0
        self._ended = threading.Event()

    @property
    def dropped(self) -> int:
        return self._newest.dropped

    def frame_waiting(self) -> bool:
        return self._newest.filled()

    def frames(self, stop: threading.Event) -> Iterator[VideoFrame]:
        if not self._start_reading():
            return
        while True:
            frame = self._take_newest(stop)
            if frame is None:
                return
            yield frame

    def _take_newest(self, stop: threading.Event) -> VideoFrame | None:
        """Wait for a frame not yet yielded; None when stopping or at the end."""
        while not (stop.is_set() or self._closing.is_set()):
            ended = self._ended.is_set()  # before taking: the last frame comes before the end
            frame = self._newest.take(0.0 if ended else _POLL_S)
            if frame is not None:
                return frame
            if ended and self._failure is not None:
                raise self._failure
            if ended:
                return None
            self._raise_if_lost()
        return None

    def _raise_if_lost(self) -> None:
        if self._lost_after_s is None:
            return
        silent_since_s = max(self._last_frame_monotonic_s, self._origin_monotonic_s)
        if time.monotonic() - silent_since_s > self._lost_after_s:
            raise SourceError(
                f"{self.description} gave no frame for {self._lost_after_s:g} s; giving up",
                at_start=False,
            )

    def _offer(self, image: ImageArray, timestamp_s: float, captured_monotonic_s: float) -> None:
        self._newest.put(VideoFrame(self._next_index, timestamp_s, image, captured_monotonic_s))
        self._next_index += 1
        self._last_frame_monotonic_s = captured_monotonic_s

    def _finish(self) -> None:
        self._ended.set()


class DeviceSource(_LatestFrameSource):
    """A camera or stream: frames stamped with the monotonic clock; reopened when it stops."""

    def __init__(
        self, description: str, capture: Reader, reopen: Opener, config: SourceConfig
    ) -> None:
        super().__init__(
            description,
            capture,
            nominal_fps=fps_of(capture),
            lost_after_s=config.lost_after_s,
        )
        self._reopen = reopen
        self._retry_max_s = config.retry_max_s

    def _read_loop(self) -> None:
        while not self._closing.is_set():
            image = read_image(self._capture)
            captured_s = time.monotonic()
            if image is not None:
                self._offer(image, captured_s - self._origin_monotonic_s, captured_s)
            elif not self._reconnect():
                return

    def _reconnect(self) -> bool:
        """Reopen with exponential back-off until it works (True) or the source closes."""
        self._capture.release()
        lost_monotonic_s = time.monotonic()
        logger.warning("%s stopped delivering frames; reconnecting", self.description)
        wait_s = _RETRY_FIRST_S
        while not self._closing.wait(wait_s):
            try:
                self._capture, _probe_image = self._reopen()
            except SourceError:
                wait_s = min(2 * wait_s, self._retry_max_s)
                continue
            self._reconnects += 1
            logger.warning(
                "%s is back after %.1f s", self.description, time.monotonic() - lost_monotonic_s
            )
            return True
        return False


class RealtimeFileSource(_LatestFrameSource):
    """A file played at its own rate, like a camera; looped (time still rising) if asked."""

    def __init__(
        self,
        description: str,
        capture: Capture,
        first_image: ImageArray,
        reopen: Opener,
        *,
        loop: bool,
    ) -> None:
        super().__init__(description, capture, nominal_fps=fps_of(capture), lost_after_s=None)
        self._first_image: ImageArray | None = first_image
        self._reopen = reopen
        self._loop = loop

    def _read_loop(self) -> None:
        frame_period_s = 1.0 / (self.nominal_fps or _ASSUMED_FPS)
        loop_start_s = 0.0  # where the current pass through the file starts on the timeline
        frame_number = 0  # in the current pass
        image = self._first_image
        self._first_image = None  # the thread owns it now
        while image is not None:
            timestamp_s = loop_start_s + container_time_s(
                self._capture, frame_number, self.nominal_fps
            )
            due_monotonic_s = self._origin_monotonic_s + timestamp_s
            if self._closing.wait(max(0.0, due_monotonic_s - time.monotonic())):
                return
            self._offer(image, timestamp_s, time.monotonic())
            image = read_image(self._capture)
            frame_number += 1
            if image is None and self._loop:
                self._capture.release()
                self._capture, image = self._reopen()
                loop_start_s = timestamp_s + frame_period_s
                frame_number = 0


# --- non-realtime files: every frame, decoded ahead --------------------------------------------

_END = None  # queued after the last frame


class FileSource(_ThreadedSource):
    """A file read as fast as the consumer takes frames: every frame, in order, none dropped."""

    def __init__(self, description: str, capture: Capture, first_image: ImageArray) -> None:
        super().__init__(description, capture, live=False, nominal_fps=fps_of(capture))
        self.total_frames = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        self._first_image: ImageArray | None = first_image
        self._decoded: queue.Queue[VideoFrame | None] = queue.Queue(_DECODE_AHEAD_FRAMES)
        self._exhausted = False

    @property
    def dropped(self) -> int:
        return 0  # the decoder waits for the consumer

    def frame_waiting(self) -> bool:
        return not self._decoded.empty()

    def frames(self, stop: threading.Event) -> Iterator[VideoFrame]:
        if not self._start_reading():
            return
        while not (stop.is_set() or self._closing.is_set() or self._exhausted):
            try:
                frame = self._decoded.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if frame is _END:
                self._exhausted = True
                if self._failure is not None:
                    raise self._failure
                return
            yield frame

    def _read_loop(self) -> None:
        image = self._first_image
        self._first_image = None  # the thread owns it now
        frame_number = 0
        while image is not None:
            timestamp_s = container_time_s(self._capture, frame_number, self.nominal_fps)
            frame = VideoFrame(frame_number, timestamp_s, image, time.monotonic())
            if not self._put(frame):
                return
            image = read_image(self._capture)
            frame_number += 1

    def _put(self, frame: VideoFrame | None) -> bool:
        """Queue a frame, waiting for room; False if the source closed meanwhile."""
        while not self._closing.is_set():
            try:
                self._decoded.put(frame, timeout=_POLL_S)
            except queue.Full:
                continue
            return True
        return False

    def _finish(self) -> None:
        self._put(_END)
