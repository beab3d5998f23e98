"""Images -> landmarks: the Tracker interface the pipeline runs on, and its implementations
(holistic: MediaPipe's legacy API; tasks: its Tasks API on mocap's own model bundle; the two
only modules that import mediapipe; recorded: a recording's landmarks), and blendshapes, the face
blendshape model the legacy tracker runs after Holistic for the ARKit weights."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from mocap.config import ModelConfig
from mocap.errors import ModelError
from mocap.frames import ImageArray, ImageSize, PoseFrame

TASKS_MEDIAPIPE_MAJOR = 1


class Tracker(Protocol):
    face_points: int  # 468 or 478: what the stream's hello announces
    # The durations (s) of the recent separate blendshape model calls, for the benchmark: empty
    # where the tracker's own graph gives the ARKit weights (tasks) or nothing computes them.
    blendshape_call_s: deque[float]

    def process(
        self,
        image_bgr: ImageArray,
        *,
        index: int,
        timestamp_s: float,
        source_size: ImageSize,
        while_inferring: Callable[[], None] | None = None,
    ) -> PoseFrame:
        """The landmarks of image_bgr (possibly a downscaled copy of a source_size frame).

        while_inferring, when given, is called once before this returns: while the model
        computes on its own threads, or first where nothing computes (a recording). The
        pipeline publishes the previous frame in it."""
        ...

    def close(self) -> None: ...


def legacy_installed() -> bool:
    """Whether the installed mediapipe has the legacy `mp.solutions` API (0.10.x, Python < 3.13),
    asked of the package's files so that mediapipe is not loaded to find out."""
    spec = importlib.util.find_spec("mediapipe")
    return (
        spec is not None
        and spec.origin is not None
        and (Path(spec.origin).parent / "python" / "solutions" / "holistic.py").is_file()
    )


def tasks_supported() -> bool:
    """Whether the installed mediapipe runs the tasks backend: 1.x. (0.10.21 has the Tasks API's
    HolisticLandmarker too, but its Python binding aborts the process on any frame where a part,
    a hand say, is not found.)"""
    try:
        major = int(importlib.metadata.version("mediapipe").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return major >= TASKS_MEDIAPIPE_MAJOR


def chosen_backend(config: ModelConfig) -> str:
    if config.backend != "auto":
        return config.backend
    return "legacy" if legacy_installed() else "tasks"


def open_tracker(config: ModelConfig, *, photo_mode: bool = False) -> Tracker:
    """The tracker of the configured backend; only its own module loads mediapipe."""
    if chosen_backend(config) == "tasks":
        if not tasks_supported():
            raise ModelError(
                "the tasks backend needs mediapipe 1.x (Python 3.13 and newer: pip install "
                "'mediapipe>=1.2.3'); use --backend legacy with mediapipe 0.10.21"
            )
        from mocap.track.tasks import TasksTracker  # noqa: PLC0415 (loads mediapipe)

        return TasksTracker(config, photo_mode=photo_mode)
    if not legacy_installed():
        raise ModelError(
            "the legacy backend needs mediapipe 0.10.21 (Python 3.10-3.12); "
            "use --backend tasks with the installed mediapipe"
        )
    from mocap.track.holistic import HolisticTracker  # noqa: PLC0415 (loads mediapipe)

    return HolisticTracker(config, photo_mode=photo_mode)
