"""`mocap cameras`: the cameras on this machine and the sizes each accepts."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2

from mocap.frames import ImageSize
from mocap.sources.camera import camera_api
from mocap.sources.capture import Capture, opencv_quiet

_PROBED_SIZES = (
    ImageSize(320, 240),
    ImageSize(640, 480),
    ImageSize(1280, 720),
    ImageSize(1920, 1080),
    ImageSize(3840, 2160),
)


@dataclass(frozen=True)
class CameraInfo:
    index: int
    name: str
    device: str  # the device path (/dev/video0), or "" where cameras have none
    resolutions: list[ImageSize]


def list_cameras(max_index: int = 10) -> list[CameraInfo]:
    """The cameras that open, with the sizes each accepts (indices below max_index)."""
    cameras = []
    for index, device, name in _camera_candidates(max_index):
        with opencv_quiet():
            capture = cv2.VideoCapture(device or index, camera_api())
        if not capture.isOpened():
            continue
        try:
            resolutions = _accepted_sizes(capture)
        finally:
            capture.release()
        cameras.append(CameraInfo(index, name, device, resolutions))
    return cameras


def _camera_candidates(max_index: int) -> list[tuple[int, str, str]]:
    """(index, device path, name) of each camera that may exist, without opening any."""
    if not sys.platform.startswith("linux"):
        return [(index, "", f"camera {index}") for index in range(max_index)]
    candidates = []
    for device in Path("/dev").glob("video*"):
        number = device.name.removeprefix("video")
        if number.isdigit() and int(number) < max_index:
            candidates.append((int(number), str(device), _v4l2_name(device.name)))
    return sorted(candidates)


def _v4l2_name(device_name: str) -> str:
    try:
        return Path("/sys/class/video4linux", device_name, "name").read_text().strip()
    except OSError:
        return device_name


def _accepted_sizes(capture: Capture) -> list[ImageSize]:
    """The common sizes the camera switches to when asked, and the size it opened with."""
    sizes = {_current_size(capture)}
    for size in _PROBED_SIZES:
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, size.width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size.height)
        if _current_size(capture) == size:
            sizes.add(size)
    return sorted(sizes)


def _current_size(capture: Capture) -> ImageSize:
    return ImageSize(
        int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    )
