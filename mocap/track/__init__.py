"""Images -> landmarks: the Tracker interface the pipeline runs on, and its implementations
(holistic: MediaPipe, the only module that imports it; recorded: a recording's landmarks)."""

from __future__ import annotations

from typing import Protocol

from mocap.frames import ImageArray, ImageSize, PoseFrame


class Tracker(Protocol):
    face_points: int  # 468 or 478: what the stream's hello announces

    def process(
        self, image_bgr: ImageArray, *, index: int, timestamp_s: float, source_size: ImageSize
    ) -> PoseFrame:
        """The landmarks of image_bgr (possibly a downscaled copy of a source_size frame)."""
        ...

    def close(self) -> None: ...
