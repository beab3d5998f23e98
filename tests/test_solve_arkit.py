"""The face's ARKit weights through the solver: on the avatar's own sides, absent when the frame
has none, and carried by the filtered solver that runs and replays use and by the paced sends."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mocap.config import FilterConfig
from mocap.frames import PoseFrame, absent_weights
from mocap.recording.reader import RecordingReader
from mocap.skeleton import ARKIT_NAMES
from mocap.solve import AvatarSolver
from mocap.solve.filter import FilteredSolver
from mocap.solve.predict import Predictor
from tests.runs import DATA
from tests.support import PLAIN_SOLVER

RECORDING = DATA / "recording_thumbs_up.jsonl.gz"
# Every weight distinct, so that any exchange of two shows.
WEIGHTS = np.linspace(0.01, 0.99, len(ARKIT_NAMES))
INDEX = {name: i for i, name in enumerate(ARKIT_NAMES)}
# Pairs a mirror image exchanges, written out (not derived from the names' suffixes).
MIRROR_PAIRS = [
    ("eyeBlinkLeft", "eyeBlinkRight"), ("jawLeft", "jawRight"), ("mouthLeft", "mouthRight"),
    ("eyeLookInLeft", "eyeLookInRight"), ("mouthSmileLeft", "mouthSmileRight"),
    ("browOuterUpLeft", "browOuterUpRight"), ("noseSneerLeft", "noseSneerRight"),
]  # fmt: skip
UNSIDED = ["browInnerUp", "cheekPuff", "jawOpen", "jawForward", "mouthClose", "mouthFunnel",
           "mouthPucker", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
           "mouthShrugUpper"]  # fmt: skip


@pytest.fixture(scope="module")
def face_frame() -> PoseFrame:
    first = next(RecordingReader(RECORDING).frames(lambda number, reason: pytest.fail(reason)))
    pose = first.pose
    weights = WEIGHTS.astype(np.float32)
    weights.flags.writeable = False
    return dataclasses.replace(pose, arkit=weights)


def test_without_the_mirror_the_weights_pass_as_measured(face_frame: PoseFrame) -> None:
    arkit = AvatarSolver(PLAIN_SOLVER)(face_frame).arkit
    assert arkit is not None
    np.testing.assert_allclose(arkit, WEIGHTS, rtol=1e-6)


def test_the_mirror_exchanges_left_and_right(face_frame: PoseFrame) -> None:
    mirrored = AvatarSolver(dataclasses.replace(PLAIN_SOLVER, mirror=True))(face_frame).arkit
    assert mirrored is not None
    for left, right in MIRROR_PAIRS:
        assert mirrored[INDEX[left]] == pytest.approx(WEIGHTS[INDEX[right]])
        assert mirrored[INDEX[right]] == pytest.approx(WEIGHTS[INDEX[left]])
    for name in UNSIDED:
        assert mirrored[INDEX[name]] == pytest.approx(WEIGHTS[INDEX[name]])
    assert sorted(mirrored) == pytest.approx(sorted(WEIGHTS.tolist()))


def test_a_frame_without_weights_has_none(face_frame: PoseFrame) -> None:
    without = dataclasses.replace(face_frame, arkit=absent_weights(len(ARKIT_NAMES)))
    assert AvatarSolver(PLAIN_SOLVER)(without).arkit is None


def test_the_filtered_solver_carries_them(face_frame: PoseFrame) -> None:
    solver = FilteredSolver(PLAIN_SOLVER, FilterConfig())
    for i in range(3):
        arkit = solver(dataclasses.replace(face_frame, timestamp_s=i / 30)).arkit
        assert arkit is not None
        np.testing.assert_allclose(arkit, WEIGHTS, rtol=1e-6)


def test_paced_sends_carry_the_last_frame_s_weights(face_frame: PoseFrame) -> None:
    solver, predictor = AvatarSolver(PLAIN_SOLVER), Predictor()
    predictor.add(0.0, solver(face_frame))
    without = dataclasses.replace(face_frame, arkit=absent_weights(len(ARKIT_NAMES)))
    predictor.add(0.04, solver(dataclasses.replace(without, timestamp_s=0.04)))
    assert predictor.at(0.05).arkit is None  # the face's weights were lost: none are invented
    predictor.add(0.08, solver(dataclasses.replace(face_frame, timestamp_s=0.08)))
    arkit = predictor.at(0.09).arkit
    assert arkit is not None
    np.testing.assert_allclose(arkit, WEIGHTS, rtol=1e-6)
