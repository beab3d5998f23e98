"""MediaPipe Holistic through the Tasks API (mediapipe 0.10.21 and 1.x), on the bundle shipped
in mocap/models: the backend for Python 3.13 and newer, where the legacy API does not exist.

Results leave as our own PoseFrame, exactly as from the legacy tracker (holistic.py). A stream
runs one landmarker in VIDEO mode, which tracks between frames and needs strictly increasing
timestamps. Photos get a fresh IMAGE-mode landmarker each: IMAGE mode keeps state between calls
(the pose graph reuses the last region and smooths), so reusing one would let the previous photo
move the next one's landmarks.

A stream's frames are read from the C result of mediapipe 1.x's landmarker straight into numpy
(_CResultReader): its Python API first builds a dataclass per landmark (~600 a frame), which
with our reading of them took 1.2 ms a frame of the pipeline thread, against ~0.1 ms this way.
Photos, and a mediapipe without that C API, go through the Python API.
"""

from __future__ import annotations

import ctypes
import importlib
import os
from collections import deque
from collections.abc import Callable
from threading import Event
from typing import Any

import cv2
import numpy as np

from mocap import skeleton
from mocap.config import ModelConfig
from mocap.errors import ModelError
from mocap.frames import FloatArray, ImageArray, ImageSize, PoseFrame, absent, frozen
from mocap.models import HOLISTIC_BUNDLE
from mocap.track.landmarks import arkit_weights, pose_frame

# Quiet the C++ logging unless the user asked for it; this must happen before mediapipe loads.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import mediapipe as mp  # after the logging environment above
from mediapipe.tasks.python import BaseOptions, vision
from mediapipe.tasks.python.vision import holistic_landmarker

# mediapipe 1.x's C result struct, and its C status codes as exceptions (absent from 0.10.21,
# whose Tasks API is pybind).
_RESULT_C: Any = getattr(holistic_landmarker, "MpHolisticLandmarkerResultC", None)
_C_UTILS: Any = (
    importlib.import_module("mediapipe.tasks.python.core.mediapipe_c_utils")
    if _RESULT_C is not None
    else None
)

BUNDLED_COMPLEXITY = 1  # the bundle carries the full pose landmark model only


def landmarker_options(config: ModelConfig, mode: Any) -> Any:
    return vision.HolisticLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(HOLISTIC_BUNDLE)),
        running_mode=mode,
        min_pose_detection_confidence=config.min_detection_confidence,
        min_face_detection_confidence=config.min_detection_confidence,
        min_pose_landmarks_confidence=config.min_tracking_confidence,
        min_face_landmarks_confidence=config.min_tracking_confidence,
        min_hand_landmarks_confidence=config.min_tracking_confidence,
        # The face blendshape model inside the graph, on the face it found: one inference.
        output_face_blendshapes=config.arkit_runs(),
    )


def check_config(config: ModelConfig) -> None:
    if config.complexity != BUNDLED_COMPLEXITY:
        raise ModelError(
            f"model complexity {config.complexity} is not in the tasks backend's bundle "
            f"(only {BUNDLED_COMPLEXITY}); mocap never downloads models"
        )
    if not HOLISTIC_BUNDLE.is_file():
        raise ModelError(f"the model bundle {HOLISTIC_BUNDLE} is missing: reinstall mocap")


# mediapipe 1.x runs each call of a task on an executor thread. At exit Python shuts executors
# down before mediapipe's own exit hook turns the calls into no-ops, so a photo thread that is
# still at work in between gets RuntimeError from every call: close() and the task's __del__
# too, which would print a traceback. A task that could not be closed is kept here until the
# process ends (and frees it).
_UNCLOSED_AT_EXIT: list[Any] = []


def _close_or_keep(landmarker: Any) -> None:
    try:
        landmarker.close()
    except RuntimeError:
        _UNCLOSED_AT_EXIT.append(landmarker)
        raise


_LANDMARK_COLUMNS = ("x", "y", "z", "visibility")


def _landmark_record(struct: Any) -> np.dtype[Any]:
    """A C landmark struct's x, y, z, visibility and has_visibility as a numpy record over the
    same bytes (offsets and size from the struct's own ctypes declaration)."""
    names = [*_LANDMARK_COLUMNS, "has_visibility"]
    return np.dtype(
        {
            "names": names,
            "formats": [np.float32] * len(_LANDMARK_COLUMNS) + [np.bool_],
            "offsets": [getattr(struct, name).offset for name in names],
            "itemsize": ctypes.sizeof(struct),
        }
    )


class _CResultReader:
    """One VIDEO-mode detection through mediapipe 1.x's C API, its result read into numpy."""

    def __init__(self, landmarker: Any, face_points: int) -> None:
        self._landmarker = landmarker
        self._shapes = skeleton.part_shapes(face_points)
        declared = dict(_RESULT_C._fields_)
        # Each part's list struct points at its landmark struct (normalized or world).
        self._records = {
            name: _landmark_record(declared[f"{name}_landmarks"]._fields_[0][1]._type_)
            for name in skeleton.PART_NAMES
        }

    @staticmethod
    def available(landmarker: Any) -> bool:
        dispatcher = getattr(landmarker, "_lib", None)
        return (
            _RESULT_C is not None
            and hasattr(landmarker, "_handle")
            and all(hasattr(dispatcher, name) for name in ("_lib", "_executor"))
        )

    def detect(
        self, image: Any, timestamp_ms: int, while_inferring: Callable[[], None] | None
    ) -> tuple[dict[str, FloatArray], FloatArray]:
        """Each part's block (as landmarks.landmark_block makes it) and the ARKit weights."""
        result = _RESULT_C()
        library = self._landmarker._lib
        detecting = library._executor.submit(
            self._detect_on_dispatch_thread, image, timestamp_ms, result, started := Event()
        )
        detecting.add_done_callback(lambda _: started.set())  # never left waiting
        started.wait()  # the GIL is then the caller's again as soon as the C call begins
        try:
            if while_inferring is not None:
                while_inferring()
        finally:  # also when the caller's work failed: the result must be freed
            detecting.result()  # the C call's own error: it then allocated nothing
            try:  # every block is a copy: closing the result frees the C arrays
                blocks = {
                    name: self._block(getattr(result, f"{name}_landmarks"), name)
                    for name in skeleton.PART_NAMES
                }
                arkit = self._arkit(result.face_blendshapes)
            finally:
                library.MpHolisticLandmarkerCloseResult(ctypes.byref(result))
        return blocks, arkit

    def _detect_on_dispatch_thread(
        self, image: Any, timestamp_ms: int, result: Any, started: Event
    ) -> None:
        """What the landmarker's own DetectForVideo does, on the one thread mediapipe calls its
        C library from (SerialDispatcher's), told apart only by the event: set as the call is
        about to begin, it lets the caller work while the model computes (ctypes releases the
        GIL during the call)."""
        dispatcher = self._landmarker._lib
        error = ctypes.c_char_p()
        started.set()
        status = dispatcher._lib.MpHolisticLandmarkerDetectForVideo(
            self._landmarker._handle, image._image_ptr, None, timestamp_ms,
            ctypes.byref(result), ctypes.byref(error),
        )  # fmt: skip
        try:
            _C_UTILS.handle_status(status, error)
        finally:
            if error.value is not None:
                dispatcher._lib.MpErrorFree(error)

    def _block(self, landmarks: Any, name: str) -> FloatArray:
        count, channels = self._shapes[name]
        found = landmarks.landmarks_count
        if found == 0:
            return absent(count, channels)
        record = self._records[name]
        first = ctypes.addressof(landmarks.landmarks.contents)
        raw = (ctypes.c_char * (found * record.itemsize)).from_address(first)
        rows = np.frombuffer(raw, record)[:count]
        columns = [rows[column] for column in _LANDMARK_COLUMNS[:channels]]
        if channels == 4:  # a point without a visibility has none (as the Python API's None)
            columns[3] = np.where(rows["has_visibility"], rows["visibility"], np.float32(np.nan))
        return frozen(np.stack(columns, axis=1), count, channels)

    @staticmethod
    def _arkit(categories: Any) -> FloatArray:
        scored = (categories.categories[i] for i in range(categories.categories_count))
        return arkit_weights({c.category_name.decode(): c.score for c in scored})


class TasksTracker:
    """HolisticLandmarker. Video mode tracks between frames; photo mode treats each image alone
    (a fresh IMAGE-mode landmarker per image)."""

    def __init__(self, config: ModelConfig, *, photo_mode: bool = False) -> None:
        check_config(config)
        self.face_points = skeleton.face_points(config.refine_face)
        self.blendshape_call_s: deque[float] = deque()  # the graph scores them with the face
        self._config = config
        self._photo_mode = photo_mode
        self._last_timestamp_ms = -1
        # Photo mode opens one landmarker per photo; this one checks the bundle loads at start.
        self._landmarker = self._open(vision.RunningMode.VIDEO)
        self._reader: _CResultReader | None = None
        if photo_mode:
            _close_or_keep(self._landmarker)
        elif _CResultReader.available(self._landmarker):
            self._reader = _CResultReader(self._landmarker, self.face_points)

    def _open(self, mode: Any) -> Any:
        try:
            return vision.HolisticLandmarker.create_from_options(
                landmarker_options(self._config, mode)
            )
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"cannot start MediaPipe HolisticLandmarker: {exc}") from None

    def _next_timestamp_ms(self, timestamp_s: float) -> int:
        """The frame's own time in ms, made strictly increasing as VIDEO mode requires (a warm-up
        frame, a restarted file or a camera clock that steps back must not stop the run)."""
        timestamp_ms = max(round(timestamp_s * 1000), self._last_timestamp_ms + 1)
        self._last_timestamp_ms = timestamp_ms
        return timestamp_ms

    def _detect(self, image: Any, timestamp_s: float) -> Any:
        if not self._photo_mode:
            return self._landmarker.detect_for_video(image, self._next_timestamp_ms(timestamp_s))
        landmarker = self._open(vision.RunningMode.IMAGE)
        try:
            return landmarker.detect(image)
        finally:
            _close_or_keep(landmarker)

    def process(
        self,
        image_bgr: ImageArray,
        *,
        index: int,
        timestamp_s: float,
        source_size: ImageSize,
        while_inferring: Callable[[], None] | None = None,
    ) -> PoseFrame:
        """Find the person in image_bgr (possibly a downscaled copy of a source_size frame)."""
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        if self._reader is not None:
            timestamp_ms = self._next_timestamp_ms(timestamp_s)
            blocks, arkit = self._reader.detect(image, timestamp_ms, while_inferring)
            return PoseFrame(
                index=index, timestamp_s=timestamp_s, image_size=source_size, arkit=arkit, **blocks
            )
        if while_inferring is not None:
            while_inferring()  # mediapipe's Python API computes and waits in one call
        results = self._detect(image, timestamp_s)
        return pose_frame(
            {name: getattr(results, f"{name}_landmarks") for name in skeleton.PART_NAMES},
            index=index,
            timestamp_s=timestamp_s,
            source_size=source_size,
            face_points=self.face_points,
            blendshapes=results.face_blendshapes,
        )

    def close(self) -> None:
        _close_or_keep(self._landmarker)  # closing twice (photo mode) is harmless

    def __enter__(self) -> TasksTracker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
