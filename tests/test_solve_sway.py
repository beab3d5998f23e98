"""Hip sway (solver.hip_sway_m): the avatar's hips follow the body's motion in the image, bounded,
on the right side, and not at all by default. The person comes from tests/human.py (nothing of
the solver's own), moved in the image as a step to the side moves them."""

from __future__ import annotations

import dataclasses

import numpy as np

from mocap.config import SolverConfig
from mocap.frames import PoseFrame, frozen
from mocap.solve import AvatarSolver
from mocap.solve.humanoid import INDEX
from tests.human import CAMERA_DISTANCE_M, FOCAL_PX, IMAGE, Pose, pose_frame

FPS = 30.0
STILL_FRAMES, MOVED_FRAMES = 30, 6


def stepped(frame: PoseFrame, to_their_left_m: float) -> PoseFrame:
    """The frame of the same person standing to_their_left_m further to their own left: image
    right (MediaPipe's world landmarks, centred on the hips, do not change)."""
    shift = FOCAL_PX * to_their_left_m / CAMERA_DISTANCE_M / IMAGE.width
    pose = frame.pose.copy()
    pose[:, 0] += shift
    return dataclasses.replace(frame, pose=frozen(pose, 33, 4))


def hips_x_after_a_step(config: SolverConfig, step_m: float) -> tuple[float, float]:
    """The Hips' x before the step (after standing still) and right after it."""
    solver = AvatarSolver(config)
    still = pose_frame(Pose())
    before = 0.0
    for index in range(STILL_FRAMES):
        frame = dataclasses.replace(still, index=index, timestamp_s=index / FPS)
        before = float(solver(frame).local_positions[INDEX["Hips"], 0])
    after = before
    for index in range(STILL_FRAMES, STILL_FRAMES + MOVED_FRAMES):
        frame = dataclasses.replace(stepped(still, step_m), index=index, timestamp_s=index / FPS)
        after = float(solver(frame).local_positions[INDEX["Hips"], 0])
    return before, after


def test_the_hips_stay_on_their_spot_by_default() -> None:
    before, after = hips_x_after_a_step(SolverConfig(mirror=False), 0.05)
    assert before == after == 0.0


def test_a_small_sway_moves_the_hips_to_the_subjects_own_side() -> None:
    before, after = hips_x_after_a_step(SolverConfig(mirror=False, hip_sway_m=0.1), 0.04)
    assert before == 0.0
    # Unity +X is the subject's right (unmirrored): a step to their left is -X, nearly whole
    # (the centre has followed for 0.2 s of its 2 s; the bound is far).
    assert -0.04 < after < -0.03


def test_a_mirrored_avatar_sways_to_the_other_side() -> None:
    _, unmirrored = hips_x_after_a_step(SolverConfig(mirror=False, hip_sway_m=0.1), 0.04)
    _, mirrored = hips_x_after_a_step(SolverConfig(mirror=True, hip_sway_m=0.1), 0.04)
    assert np.isclose(mirrored, -unmirrored)


def test_a_big_step_is_bounded() -> None:
    _, after = hips_x_after_a_step(SolverConfig(mirror=False, hip_sway_m=0.05), 0.5)
    assert -0.05 < after < -0.045
