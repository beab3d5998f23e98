"""Video files, played like a camera (realtime) or every frame in order; the bundled demo clip."""

from __future__ import annotations

from pathlib import Path

import cv2

from mocap.errors import SourceError
from mocap.frames import ImageArray
from mocap.sources.base import Source
from mocap.sources.capture import (
    Capture,
    FileSource,
    RealtimeFileSource,
    first_frame,
    open_at_background_priority,
    opencv_quiet,
)


def demo_video_path() -> Path:
    """The short clip bundled with mocap: a person's face and hands, 640x360, 25 fps, 7.8 s."""
    return Path(__file__).resolve().parent.parent / "data" / "demo.mp4"


def open_video(path: Path, *, realtime: bool, loop: bool = False) -> Source:
    """A video file: paced like a camera (looped if asked) when realtime, else every frame once."""
    description = f"video {path}"

    def open_capture() -> tuple[Capture, ImageArray]:
        return _open_video_capture(path, description)

    capture, first_image = open_at_background_priority(open_capture)
    if realtime:
        return RealtimeFileSource(description, capture, first_image, open_capture, loop=loop)
    return FileSource(description, capture, first_image)


def _open_video_capture(path: Path, description: str) -> tuple[Capture, ImageArray]:
    try:
        with path.open("rb"):
            pass
    except FileNotFoundError:
        raise SourceError(f"{description} not found: no such file") from None
    except OSError as exc:
        raise SourceError(f"cannot read {description}: {exc.strerror}") from None
    with opencv_quiet():
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        raise SourceError(
            f"{description} is not a video that can be decoded "
            "(corrupt, truncated, or another kind of file)"
        )
    return first_frame(
        capture, f"{description} has no frame that can be decoded (corrupt or empty?)"
    )
