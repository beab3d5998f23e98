"""Frame guards: too small, too large, malformed, gray and BGRA, and the downscale."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from mocap.config import GuardConfig
from mocap.errors import FrameRefused
from mocap.frames import ImageSize
from mocap.track.guards import prepare

GUARDS = GuardConfig()


def test_a_normal_frame_passes_untouched() -> None:
    image = np.zeros((720, 1280, 3), np.uint8)
    assert prepare(image, GUARDS) is image


@pytest.mark.parametrize(
    ("shape", "reason"),
    [((10, 10, 3), "too small"), ((8000, 8000, 3), "too large"), ((720, 63, 3), "too small")],
)
def test_size_refusals(shape: tuple[int, ...], reason: str) -> None:
    # np.empty keeps the 8000x8000 case cheap: the guard must refuse before touching pixels.
    with pytest.raises(FrameRefused) as refused:
        prepare(np.empty(shape, np.uint8), GUARDS)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    "image",
    [np.zeros((100, 100, 2), np.uint8), np.zeros((100, 100, 3), np.float32),
     np.zeros((100,), np.uint8), np.zeros((0, 0, 3), np.uint8)],
    ids=["two-channels", "float", "1-d", "empty"],
)  # fmt: skip
def test_malformed_frames_are_refused(image: npt.NDArray[Any]) -> None:
    with pytest.raises(FrameRefused, match="malformed"):
        prepare(image, GUARDS)


def test_gray_and_bgra_become_bgr() -> None:
    gray = np.full((100, 120), 77, np.uint8)
    assert prepare(gray, GUARDS).shape == (100, 120, 3)
    assert prepare(gray[..., None], GUARDS)[0, 0].tolist() == [77, 77, 77]
    bgra = np.zeros((100, 120, 4), np.uint8)
    bgra[..., 2] = 200
    assert prepare(bgra, GUARDS)[0, 0].tolist() == [0, 0, 200]


def test_long_side_is_downscaled_keeping_aspect() -> None:
    image = np.zeros((1080, 1920, 3), np.uint8)
    assert ImageSize.of(prepare(image, GUARDS)) == ImageSize(1280, 720)
    portrait = np.zeros((2000, 1000, 3), np.uint8)
    assert ImageSize.of(prepare(portrait, GuardConfig(max_long_side_px=500))) == ImageSize(250, 500)
