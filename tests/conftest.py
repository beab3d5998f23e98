"""Shared fixtures: real media copied into tests/data, and small generated pose frames."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import settings

from mocap import skeleton
from mocap.frames import FloatArray, ImageSize, PoseFrame, absent, absent_weights, frozen
from tests import chromium
from tests.chromium import Chromium
from tests.xserver import XServer, xvfb_server

if TYPE_CHECKING:  # mediapipe loads only in the modules that use the tracker
    from mocap.track import Tracker

DATA = Path(__file__).parent / "data"

# Property tests check results, not speed: hypothesis's default 200 ms deadline per example
# fails them on a loaded machine (a first call slower than a repeat reads as flaky).
settings.register_profile("mocap", deadline=None)
settings.load_profile("mocap")


def synthetic_pose_frame(
    *,
    seed: int = 0,
    face_points: int = 478,
    hands: bool = True,
    index: int = 7,
    arkit: bool = False,
) -> PoseFrame:
    """A frame with every part present (or hands absent), values in plausible ranges; with arkit,
    random ARKit weights in 0..1 (else all-NaN, as without the model)."""
    rng = np.random.default_rng(seed)

    def block(count: int, channels: int) -> FloatArray:
        return rng.uniform(-1.0, 1.0, (count, channels)).astype(np.float32)

    pose = block(skeleton.POSE_POINTS, 4)
    pose[:, 3] = rng.uniform(0, 1, skeleton.POSE_POINTS)
    world = block(skeleton.POSE_POINTS, 4)
    world[:, 3] = pose[:, 3]
    hand_points = skeleton.HAND_POINTS
    weights = (
        rng.uniform(0.0, 1.0, skeleton.ARKIT_COUNT)
        if arkit
        else absent_weights(skeleton.ARKIT_COUNT)
    )
    return PoseFrame(
        index=index,
        timestamp_s=1.25,
        image_size=ImageSize(1280, 720),
        pose=frozen(pose, skeleton.POSE_POINTS, 4),
        pose_world=frozen(world, skeleton.POSE_POINTS, 4),
        face=frozen(block(face_points, 3), face_points, 3),
        left_hand=frozen(block(hand_points, 3), hand_points, 3)
        if hands
        else absent(hand_points, 3),
        right_hand=frozen(block(hand_points, 3), hand_points, 3)
        if hands
        else absent(hand_points, 3),
        arkit=np.asarray(weights, dtype=np.float32),
    )


@pytest.fixture
def pose_frame() -> PoseFrame:
    return synthetic_pose_frame()


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="module")
def xvfb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XServer]:
    """A real X server (Xvfb) for this module's window tests."""
    # -noreset, as on a desktop, where the window manager stays connected: otherwise Xvfb resets
    # each time its last client leaves (a test's window, xdotool) and refuses connections
    # meanwhile, so the next test's window could find no display.
    with xvfb_server(tmp_path_factory.mktemp("xvfb"), "-noreset") as server:
        yield server


@pytest.fixture(scope="module")
def photo_tracker() -> Iterator[Tracker]:
    """MediaPipe Holistic in photo mode (each image on its own), shared by a module's tests: the
    backend this interpreter's mediapipe has by default (legacy, else tasks)."""
    from mocap.config import ModelConfig  # noqa: PLC0415 - with the tracker, below
    from mocap.track import open_tracker  # noqa: PLC0415 - mediapipe: only when used

    tracker = open_tracker(ModelConfig(), photo_mode=True)
    yield tracker
    tracker.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """Headless Chromium for a module's viewer tests (a real browser, never skipped)."""
    if not chromium.available():
        pytest.fail("the viewer tests need Chromium: apt-get install chromium (.ci/run does)")
    with Chromium(tmp_path_factory.mktemp("chromium-profile")) as started:
        yield started
