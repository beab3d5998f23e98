"""A tracker that finds, in each image it is given, the landmarks of a recording's next frame.

It loads no model: the loop runs on it exactly as on MediaPipe (its own tests do), and a
recording's landmarks can be fed through the rest of the pipeline (filters, solver, outputs).
The frame's index, time and size are the caller's, as they would be for a live tracker.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from mocap.frames import ImageArray, ImageSize, PoseFrame
from mocap.recording.reader import LineProblem, RecordingReader


class RecordedTracker:
    def __init__(self, path: Path, on_problem: LineProblem) -> None:
        reader = RecordingReader(path)
        self.face_points = reader.header.face_points
        self.blendshape_call_s: deque[float] = deque()  # the weights are the recording's
        self._frames: Iterator[PoseFrame] = (frame.pose for frame in reader.frames(on_problem))

    def process(
        self,
        image_bgr: ImageArray,
        *,
        index: int,
        timestamp_s: float,
        source_size: ImageSize,
        while_inferring: Callable[[], None] | None = None,
    ) -> PoseFrame:
        """The next recorded frame's landmarks; after the last one, a frame with no one in it."""
        del image_bgr  # the landmarks come from the recording
        if while_inferring is not None:
            while_inferring()
        recorded = next(self._frames, None)
        if recorded is None:
            return PoseFrame.empty(index, timestamp_s, source_size, self.face_points)
        return dataclasses.replace(
            recorded, index=index, timestamp_s=timestamp_s, image_size=source_size
        )

    def close(self) -> None:
        self._frames = iter(())
