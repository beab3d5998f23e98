"""Cameras by index or device path (V4L2 on Linux)."""

from __future__ import annotations

import sys

import cv2

from mocap.config import SourceConfig
from mocap.errors import SourceError
from mocap.frames import ImageArray
from mocap.sources.base import Source
from mocap.sources.capture import (
    Capture,
    DeviceSource,
    first_frame,
    open_at_background_priority,
    opencv_quiet,
)
from mocap.sources.stream import STREAM_SCHEMES

CAMERAS_HINT = "`mocap cameras` lists the cameras here"


def open_camera_source(camera: int | str, config: SourceConfig) -> Source:
    description = f"camera {camera}"

    def open_camera() -> tuple[Capture, ImageArray]:
        with opencv_quiet():
            capture = cv2.VideoCapture(camera, camera_api())
        if not capture.isOpened():
            raise SourceError(
                f"{description} not found{_camera_syntax_hint(camera)}; {CAMERAS_HINT}"
            )
        _request_camera_format(capture, config)
        return first_frame(
            capture, f"{description} opened but gave no frame (is another program using it?)"
        )

    capture, _probe_image = open_at_background_priority(open_camera)
    return DeviceSource(description, capture, open_camera, config)


def camera_api() -> int:
    return cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY


def _camera_syntax_hint(camera: int | str) -> str:
    """For a camera setting that is neither an index nor a device path: say what is expected."""
    if isinstance(camera, int) or camera.startswith("/dev/"):
        return ""
    schemes = ", ".join(STREAM_SCHEMES)
    return f" (a camera is an index, a device path such as /dev/video0, or a URL: {schemes})"


def _request_camera_format(capture: Capture, config: SourceConfig) -> None:
    """Ask for the configured format; the camera may pick the nearest it supports."""
    # The pixel format first: on V4L2 the sizes and rates on offer depend on it.
    if config.mjpg:
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
    if config.width:
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, config.width)
    if config.height:
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, config.height)
    if config.fps:
        capture.set(cv2.CAP_PROP_FPS, config.fps)
