"""Frame-size and frame-sanity checks, and the downscale before inference. Pure.

A refused frame raises FrameRefused (counted and skipped by the pipeline, never fatal). The
landmarks MediaPipe returns are normalised to the image it saw, so downscaling here changes
nothing for consumers: they are still fractions of the source frame.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from mocap.config import MAX_IMAGE_SIDE_PX, GuardConfig
from mocap.errors import FrameRefused
from mocap.frames import ImageArray, ImageSize

GRAY, BGR, BGRA = 1, 3, 4
# Longest side over shortest. MediaPipe itself survives thinner strips (1:512 was tried) as long
# as each side is at most MAX_IMAGE_SIDE_PX, but no person can be found in one: its detector
# letterboxes to a square, leaving a 16:1 image a 14 px wide band.
MAX_ASPECT_RATIO = 16


class SizeLimits(Protocol):
    """The size keys that [guards] (video frames) and [photos] share."""

    @property
    def min_side_px(self) -> int: ...

    @property
    def max_pixels(self) -> int: ...


def check_size(size: ImageSize, limits: SizeLimits, section: str = "guards") -> None:
    """Refuse images too small to find anyone in, or too large to process safely.

    section: the config section limits come from, named in the message.
    """
    if min(size) < limits.min_side_px:
        raise FrameRefused(
            "too small",
            f"{size.width}x{size.height} px; the short side must be at least "
            f"{limits.min_side_px} px ({section}.min_side_px)",
        )
    if size.width * size.height > limits.max_pixels:
        raise FrameRefused(
            "too large",
            f"{size.width}x{size.height} px is over {limits.max_pixels:,} pixels "
            f"({section}.max_pixels)",
        )
    _check_shape(size)


def _check_shape(size: ImageSize) -> None:
    """Refuse a side OpenCV's remap inside MediaPipe cannot take (it aborts the whole process:
    an assertion, not an exception) and strips too thin to find anyone in."""
    if max(size) > MAX_IMAGE_SIDE_PX:
        raise FrameRefused(
            "too long",
            f"{size.width}x{size.height} px; a side may be at most {MAX_IMAGE_SIDE_PX} px",
        )
    if max(size) > MAX_ASPECT_RATIO * min(size):
        raise FrameRefused(
            "too thin",
            f"{size.width}x{size.height} px; the long side may be at most "
            f"{MAX_ASPECT_RATIO} times the short side",
        )


def as_bgr(image: npt.NDArray[np.generic]) -> ImageArray:
    """An 8-bit BGR view or copy of a gray, BGR or BGRA frame; anything else is refused."""
    if image.dtype != np.uint8:
        raise FrameRefused("malformed", f"pixels of type {image.dtype}, expected uint8")
    pixels = image.astype(np.uint8, copy=False)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2] if pixels.ndim == 3 else 0
    if channels == BGR:
        return pixels
    if channels == GRAY:
        return np.asarray(cv2.cvtColor(pixels.reshape(pixels.shape[:2]), cv2.COLOR_GRAY2BGR))
    if channels == BGRA:
        return np.asarray(cv2.cvtColor(pixels, cv2.COLOR_BGRA2BGR))
    raise FrameRefused("malformed", f"array of shape {image.shape}, expected HxW, HxWx3 or HxWx4")


def fit_for_inference(image: ImageArray, max_long_side_px: int) -> ImageArray:
    """Downscale (area interpolation, aspect kept) so the long side is at most max_long_side_px."""
    size = ImageSize.of(image)
    long_side = max(size)
    if long_side <= max_long_side_px:
        return image
    scale = max_long_side_px / long_side
    target = (max(1, round(size.width * scale)), max(1, round(size.height * scale)))
    return np.asarray(cv2.resize(image, target, interpolation=cv2.INTER_AREA))


def prepare(image: npt.NDArray[np.generic], guards: GuardConfig) -> ImageArray:
    """Check a source frame and return the BGR image to run inference on."""
    if image.ndim not in (2, 3) or image.size == 0:
        raise FrameRefused("malformed", f"array of shape {image.shape}, expected an image")
    check_size(ImageSize.of(image), guards)
    return fit_for_inference(as_bgr(image), guards.max_long_side_px)
