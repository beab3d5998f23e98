"""MediaPipe Holistic behind one small class: the ONLY module that imports mediapipe.

Results leave as our own PoseFrame (float32 arrays, absent parts all-NaN); no MediaPipe object
travels further. The legacy `mp.solutions.holistic` graph releases the GIL while it computes, so
the other threads (capture, preview, WebSocket) run during inference, and so can the caller's
own work (`while_inferring`): the frame is handed to the graph and waited for in two steps.
"""

from __future__ import annotations

import dataclasses
import os
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mocap import skeleton
from mocap.config import ModelConfig
from mocap.errors import ModelError
from mocap.frames import ImageArray, ImageSize, PoseFrame
from mocap.track import Tracker
from mocap.track.blendshapes import BlendshapeModel
from mocap.track.landmarks import pose_frame

# Quiet the C++ logging (glog/absl INFO and WARNING lines on every start) unless the user asked
# for it; this must happen before mediapipe is imported.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import mediapipe as mp  # after the logging environment above

# The pose landmark model of each complexity, relative to the mediapipe package. Only "full"
# (complexity 1) is in the 0.10.21 wheel: mediapipe downloads the others at construction time,
# which this project never lets happen.
POSE_MODEL_FILES = {
    0: "modules/pose_landmark/pose_landmark_lite.tflite",
    1: "modules/pose_landmark/pose_landmark_full.tflite",
    2: "modules/pose_landmark/pose_landmark_heavy.tflite",
}
MODEL_DOWNLOAD_URL = "https://storage.googleapis.com/mediapipe-assets/"

# The time step SolutionBase.process gives each packet (it simulates 30 fps).
SIMULATED_FRAME_US = 33333


def mediapipe_dir() -> Path:
    return Path(mp.__file__).parent


def check_model_installed(complexity: int) -> None:
    """Refuse a complexity whose model file is missing, before mediapipe would download it."""
    model_path = mediapipe_dir() / POSE_MODEL_FILES[complexity]
    if model_path.is_file():
        return
    raise ModelError(
        f"model complexity {complexity} needs {model_path.name}, which is not installed "
        f"(looked for {model_path}); mocap never downloads models. Copy the file there from "
        f"{MODEL_DOWNLOAD_URL}{model_path.name} on a machine with internet access, "
        "or use complexity 1, which ships with mediapipe"
    )


class HolisticTracker:
    """One Holistic graph, then the face blendshape model on the face it found (when the config
    asks for the ARKit weights). Video mode tracks between frames; photo mode treats each image
    alone."""

    def __init__(self, config: ModelConfig, *, photo_mode: bool = False) -> None:
        check_model_installed(config.complexity)
        self.face_points = skeleton.face_points(config.refine_face)
        try:
            self._graph = mp.solutions.holistic.Holistic(
                static_image_mode=photo_mode,
                model_complexity=config.complexity,
                smooth_landmarks=True,
                refine_face_landmarks=config.refine_face,
                min_detection_confidence=config.min_detection_confidence,
                min_tracking_confidence=config.min_tracking_confidence,
            )
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"cannot start MediaPipe Holistic: {exc}") from None
        self._blendshapes = BlendshapeModel() if config.arkit_runs() else None
        self.blendshape_call_s = (
            self._blendshapes.call_s if self._blendshapes is not None else deque[float]()
        )

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
        rgb.flags.writeable = False  # lets mediapipe wrap the buffer without a copy
        self._start(rgb)
        try:
            if while_inferring is not None:
                while_inferring()
        finally:  # also when the caller's work failed: the graph must finish this frame
            found = self._landmark_lists()
        frame = pose_frame(
            {name: None if lists is None else lists.landmark for name, lists in found.items()},
            index=index,
            timestamp_s=timestamp_s,
            source_size=source_size,
            face_points=self.face_points,
        )
        if self._blendshapes is None:
            return frame
        # The landmarks are fractions of the image Holistic saw: its pixels give the model the
        # aspect ratio (a downscaled copy has the source's, and the model ignores the scale).
        arkit = self._blendshapes.weights(frame.face, ImageSize.of(image_bgr))
        return dataclasses.replace(frame, arkit=arkit)

    # SolutionBase.process (mediapipe 0.10.21, pinned), cut in two at its wait so that the caller
    # works while the graph computes; `Holistic.process` only adds clearing the pose landmarks'
    # `presence`, which mocap does not read. A test checks it against `Holistic.process`.
    def _start(self, rgb: Any) -> None:
        """Hand the image to the graph, which computes on its own threads."""
        solution: Any = self._graph
        solution._graph_outputs.clear()
        solution._simulated_timestamp += SIMULATED_FRAME_US
        packet = solution._make_packet(solution._input_stream_type_info["image"], rgb)
        solution._graph.add_packet_to_input_stream(
            stream="image", packet=packet.at(solution._simulated_timestamp)
        )

    def _landmark_lists(self) -> dict[str, Any]:
        """Wait for the graph; each part's landmark list, None where it found none."""
        solution: Any = self._graph
        solution._graph.wait_until_idle()
        outputs, types = solution._graph_outputs, solution._output_stream_type_info
        found = {}
        for name in skeleton.PART_NAMES:
            stream = f"{name}_landmarks"
            packet = outputs.get(stream)
            found[name] = (
                None if packet is None else solution._get_packet_content(types[stream], packet)
            )
        return found

    def close(self) -> None:
        self._graph.close()

    def __enter__(self) -> HolisticTracker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def warm_up(tracker: Tracker) -> None:
    """Run one blank frame so the first real frame does not pay for graph start-up."""
    blank = np.zeros((256, 256, 3), dtype=np.uint8)
    tracker.process(blank, index=-1, timestamp_s=0.0, source_size=ImageSize(256, 256))
