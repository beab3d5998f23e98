"""Over time: tracking loss per limb (hold, then ease to rest), easing back in, legs only when seen,
the speed limit, sign continuity, and finite output whatever comes in."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mocap import skeleton
from mocap.config import SolverConfig
from mocap.frames import ImageSize, PoseFrame, absent, frozen
from mocap.solve import AvatarFrame, AvatarSolver, humanoid
from mocap.solve.face import EXPRESSIONS, EYES
from mocap.solve.humanoid import INDEX
from tests import synthetic
from tests.support import turned_deg
from tests.synthetic import posed, turn

Array = npt.NDArray[np.float64]
RATE_HZ = 30.0
TIMING = SolverConfig(mirror=False, hold_s=0.5, ease_s=0.5, max_bone_speed_dps=0.0)
GEOMETRY = SolverConfig(mirror=False, hold_s=0.0, ease_s=0.0)


ARM_RAISED = posed(LeftUpperArm=turn("z", -60))
KNEES_BENT = posed(
    LeftUpperLeg=turn("x", -60),
    LeftLowerLeg=turn("x", 80),
    RightUpperLeg=turn("x", -60),
    RightLowerLeg=turn("x", 80),
)


def at(frame: PoseFrame, time_s: float) -> PoseFrame:
    return dataclasses.replace(frame, timestamp_s=time_s)


def nothing(time_s: float) -> PoseFrame:
    return PoseFrame.empty(0, time_s, ImageSize(1280, 720), skeleton.FACE_POINTS_REFINED)


def is_rest(frame: AvatarFrame) -> bool:
    rotations_ok = np.allclose(np.abs(frame.local_rotations[:, 3]), 1.0)
    return rotations_ok and np.allclose(frame.local_positions, humanoid.REST_LOCAL_POSITIONS)


def test_a_lost_limb_is_held_then_eased_to_rest_and_eases_back_in() -> None:
    solver = AvatarSolver(TIMING)
    seen = synthetic.pose_frame(ARM_RAISED)
    times = np.arange(0.0, 4.0, 1.0 / RATE_HZ)
    # Seen until 1 s, lost until 3 s, seen again.
    shown = [
        turned_deg(solver(at(seen, t) if t < 1.0 or t >= 3.0 else nothing(t)), "LeftUpperArm")
        for t in times
    ]

    def angle(frame_index: int) -> float:
        return shown[frame_index]

    def time(frame_index: int) -> float:
        return float(times[frame_index])

    full = 60.0
    # Eases in from rest, even at the start: linearly in weight (the slerp keeps the axis).
    assert angle(0) == pytest.approx(0.0, abs=1e-6)
    assert angle(7) == pytest.approx(full * time(7) / 0.5, abs=0.5)
    assert angle(15) == pytest.approx(full, abs=0.5)
    last_seen = 29  # the last frame before 1 s
    held = shown[last_seen : last_seen + 16]  # hold_s = 0.5 s = 15 frames
    assert held == pytest.approx([full] * len(held), abs=0.5)
    fall = (time(last_seen + 22) - time(last_seen) - 0.5) / 0.5
    assert angle(last_seen + 22) == pytest.approx(full * (1 - fall), abs=0.5)
    assert max(shown[last_seen + 30 : 90]) < 1e-6  # at rest after hold_s + ease_s
    assert angle(90) == pytest.approx(0.0, abs=1e-6)  # back in view at 3 s: no snap
    assert angle(97) == pytest.approx(full * (time(97) - 3.0) / 0.5, abs=0.5)
    assert angle(105) == pytest.approx(full, abs=0.5)


def test_expressions_are_held_then_fade_with_the_face() -> None:
    solver = AvatarSolver(TIMING)
    face = np.array(synthetic.pose_frame().face)
    for _, _, lids in EYES:
        for upper, lower in lids:
            face[upper] = face[lower]
    blinking = dataclasses.replace(synthetic.pose_frame(), face=frozen(face, *face.shape))
    faceless = dataclasses.replace(blinking, face=absent(*face.shape))
    blinks = {
        round(t, 3): solver(at(blinking if t < 1.0 else faceless, t)).blendshapes["Blink"]
        for t in np.arange(0.0, 3.0, 1.0 / RATE_HZ)
    }
    assert blinks[0.5] == pytest.approx(1.0)
    assert blinks[1.433] == pytest.approx(1.0)  # held
    assert blinks[1.733] == pytest.approx(0.5, abs=0.05)  # fading
    assert blinks[2.5] == 0.0


def with_leg_visibility(frame: PoseFrame, visibility: float) -> PoseFrame:
    world, image = np.array(frame.pose_world), np.array(frame.pose)
    for block in (world, image):
        block[[25, 26, 27, 28, 29, 30, 31, 32], 3] = visibility
    return dataclasses.replace(frame, pose_world=frozen(world, 33, 4), pose=frozen(image, 33, 4))


@pytest.mark.parametrize(
    ("visibility", "upper_body_only", "moves"),
    [(0.9, False, True), (0.5, False, False), (0.9, True, False)],
)
def test_legs_move_only_when_really_seen(
    visibility: float, upper_body_only: bool, moves: bool
) -> None:
    config = dataclasses.replace(GEOMETRY, upper_body_only=upper_body_only)
    frame = AvatarSolver(config)(with_leg_visibility(synthetic.pose_frame(KNEES_BENT), visibility))
    assert (turned_deg(frame, "LeftLowerLeg") > 70.0) == moves
    assert bool(frame.local_positions[INDEX["Hips"], 1] < 0.8) == moves
    assert turned_deg(frame, "LeftUpperArm") < 1.0  # the arms are tracked all the same


def test_upper_body_only_never_moves_the_legs_over_time() -> None:
    solver = AvatarSolver(dataclasses.replace(TIMING, upper_body_only=True))
    frame = synthetic.pose_frame(KNEES_BENT)
    legs = [turned_deg(solver(at(frame, i / RATE_HZ)), "LeftLowerLeg") for i in range(30)]
    assert max(legs) == 0.0


def test_a_hand_far_from_its_wrist_is_someone_elses() -> None:
    """Holistic sometimes reports one hand as both hands: a hand is taken only when its wrist is
    where the pose puts that wrist."""
    fists = posed(
        **{f"Left{f}{p}": turn("z", 80) for f in ("Index", "Middle") for p in humanoid.PHALANGES}
    )
    frame = synthetic.pose_frame(fists)
    assert turned_deg(AvatarSolver(GEOMETRY)(frame), "LeftIndexIntermediate") > 70.0
    moved = np.array(frame.left_hand)
    moved[:, 0] += 0.3  # the whole hand, far across the image
    elsewhere = dataclasses.replace(frame, left_hand=frozen(moved, 21, 3))
    assert turned_deg(AvatarSolver(GEOMETRY)(elsewhere), "LeftIndexIntermediate") == 0.0


def test_nothing_found_is_the_rest_pose() -> None:
    frame = AvatarSolver(SolverConfig())(nothing(0.0))
    assert is_rest(frame)
    assert frame.bone_names == humanoid.BONES
    assert frame.blendshapes == dict.fromkeys(EXPRESSIONS, 0.0)
    np.testing.assert_array_equal(frame.root_position, [0, 0, 0])
    np.testing.assert_array_equal(frame.root_rotation, [0, 0, 0, 1])


def test_bones_turn_no_faster_than_the_limit() -> None:
    config = dataclasses.replace(GEOMETRY, max_bone_speed_dps=900.0)
    solver = AvatarSolver(config)
    solver(at(synthetic.pose_frame(), 0.0))
    flung = solver(at(synthetic.pose_frame(posed(LeftUpperArm=turn("z", -150))), 0.1))
    assert turned_deg(flung, "LeftUpperArm") == pytest.approx(90.0, abs=0.5)
    unlimited = AvatarSolver(GEOMETRY)
    unlimited(at(synthetic.pose_frame(), 0.0))
    flung = unlimited(at(synthetic.pose_frame(posed(LeftUpperArm=turn("z", -150))), 0.1))
    assert turned_deg(flung, "LeftUpperArm") == pytest.approx(150.0, abs=0.5)


def test_turning_around_keeps_every_quaternion_in_one_hemisphere() -> None:
    """A subject turning a full circle: each bone's quaternion passes w = 0 without changing
    side, so a receiver that interpolates components never spins a bone the long way."""
    solver = AvatarSolver(GEOMETRY)
    previous = None
    for step, yaw_deg in enumerate(range(0, 721, 15)):
        frame = solver(at(synthetic.pose_frame(posed(Hips=turn("y", yaw_deg))), step / RATE_HZ))
        if previous is not None:
            dots = (frame.local_rotations * previous).sum(axis=1)
            assert np.all(dots >= 0.0)
            assert np.all(2 * np.degrees(np.arccos(np.clip(dots, -1, 1))) <= 15.0 + 1e-6)
        previous = frame.local_rotations
    assert turned_deg(frame, "Hips") == pytest.approx(0.0, abs=1e-3)


def test_reset_forgets_the_past() -> None:
    solver = AvatarSolver(TIMING)
    for i in range(30):
        solver(at(synthetic.pose_frame(ARM_RAISED), i / RATE_HZ))
    solver.reset()
    assert turned_deg(solver(at(synthetic.pose_frame(ARM_RAISED), 5.0)), "LeftUpperArm") == 0.0


def parts(present: bool, shape: tuple[int, int]) -> st.SearchStrategy[npt.NDArray[np.float32]]:
    """Random values, repeated and degenerate points, and sometimes one NaN or infinity."""
    if not present:
        return st.just(absent(*shape))
    values = st.one_of(st.floats(-2.0, 2.0, width=32), st.just(0.0))
    blocks = hnp.arrays(np.float32, shape, elements=values)
    broken = st.one_of(st.none(), st.sampled_from([np.nan, np.inf, -np.inf]))
    rows = st.integers(0, shape[0] - 1)
    return st.builds(_broken, blocks, broken, rows)


def _broken(
    block: npt.NDArray[np.float32], value: float | None, row: int
) -> npt.NDArray[np.float32]:
    if value is not None:
        block = block.copy()
        block[row, 0] = value
    return frozen(block, *block.shape)


@st.composite
def any_frames(draw: st.DrawFn) -> PoseFrame:
    """Random landmarks (including repeated and degenerate points) and random absent parts."""
    present = draw(st.lists(st.booleans(), min_size=4, max_size=4))
    face_points = draw(st.sampled_from([468, 478]))
    pose = draw(parts(present[0], (33, 4)))
    return PoseFrame(
        index=0,
        timestamp_s=draw(st.floats(0.0, 100.0)),
        image_size=ImageSize(640, 480),
        pose=pose,
        pose_world=pose,
        face=draw(parts(present[1], (face_points, 3))),
        left_hand=draw(parts(present[2], (21, 3))),
        right_hand=draw(parts(present[3], (21, 3))),
    )


@settings(max_examples=60)
@given(st.lists(any_frames(), min_size=1, max_size=4), st.booleans())
def test_any_input_gives_finite_unit_rotations_and_weights_in_the_unit_interval(
    frames: list[PoseFrame], mirror: bool
) -> None:
    solver = AvatarSolver(SolverConfig(mirror=mirror))
    for frame in frames:
        shown = solver(frame)
        assert np.all(np.isfinite(shown.local_rotations))
        np.testing.assert_allclose(np.linalg.norm(shown.local_rotations, axis=1), 1.0, atol=1e-9)
        assert np.all(np.isfinite(shown.local_positions))
        assert all(0.0 <= weight <= 1.0 for weight in shown.blendshapes.values())
        assert list(shown.blendshapes) == list(EXPRESSIONS)
