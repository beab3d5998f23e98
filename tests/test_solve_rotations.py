"""The solver's batched numpy rotation primitives against scipy's Rotation, the reference."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.transform import Rotation

from mocap.solve import rotations

Array = npt.NDArray[np.float64]

# Landmark-sized components, or exactly zero (a landmark repeated).
components = st.floats(-10, 10).map(lambda x: 0.0 if abs(x) < 1e-3 else x)
vectors = hnp.arrays(np.float64, (8, 3), elements=components)
seeds = st.integers(0, 2**31)


def random_rotations(seed: int, count: int = 16) -> Rotation:
    """Random rotations, plus the awkward ones: identity and half turns about each axis."""
    special = Rotation.from_rotvec(np.vstack((np.zeros(3), np.pi * np.eye(3))))
    return Rotation.concatenate((Rotation.random(count, random_state=seed), special))


def same_rotation(a: Array, b: Array) -> bool:
    """Quaternions equal up to sign (q and -q are one rotation)."""
    return bool(np.allclose(np.abs(rotations.dot(a, b)), 1.0, atol=1e-9))


@given(vectors, vectors)
def test_cross_dot_and_unit_match_numpy(a: Array, b: Array) -> None:
    np.testing.assert_allclose(rotations.cross(a, b), np.cross(a, b), atol=1e-9)
    np.testing.assert_allclose(rotations.dot(a, b), (a * b).sum(axis=1), atol=1e-9)
    lengths = np.linalg.norm(a, axis=1)
    expected = np.where(lengths[:, None] > 0, a / np.maximum(lengths, 1e-300)[:, None], 0.0)
    np.testing.assert_allclose(rotations.unit(a), expected, atol=1e-12)


@settings(max_examples=30)
@given(seeds, st.floats(-2.0, 2.0))
def test_products_inverses_and_powers_match_scipy(seed: int, fraction: float) -> None:
    a, b = random_rotations(seed), random_rotations(seed + 1)
    product = rotations.multiply(a.as_quat(), b.as_quat())
    assert all(map(same_rotation, product, (a * b).as_quat()))
    inverse = rotations.conjugate(a.as_quat())
    assert all(map(same_rotation, inverse, a.inv().as_quat()))
    powered = rotations.power(a.as_quat(), fraction)
    expected = Rotation.from_rotvec(a.as_rotvec() * fraction).as_quat()
    assert all(map(same_rotation, powered, expected))


@given(vectors, st.floats(-7.0, 7.0))
def test_axis_angles_match_scipy(axes: Array, angle_rad: float) -> None:
    axes = rotations.unit(axes + 1e-3)
    quaternions = rotations.axis_angles(axes, np.full(len(axes), angle_rad))
    expected = Rotation.from_rotvec(axes * angle_rad).as_quat()
    assert all(map(same_rotation, quaternions, expected))


@given(vectors, vectors)
def test_aim_frames_are_rotations_along_their_direction(directions: Array, hints: Array) -> None:
    frames = rotations.aim_frames(directions, hints)
    assert np.all(np.isfinite(frames))
    real = np.linalg.norm(directions, axis=1) > 0  # a zero direction is merely finite
    identities = np.broadcast_to(np.eye(3), frames[real].shape)
    # (A hint parallel to its direction costs some precision: orthonormal to ~1e-9.)
    np.testing.assert_allclose(frames[real].swapaxes(1, 2) @ frames[real], identities, atol=1e-7)
    np.testing.assert_allclose(np.linalg.det(frames[real]), 1.0, atol=1e-7)
    np.testing.assert_allclose(frames[real, :, 0], rotations.unit(directions[real]), atol=1e-9)
    # A usable hint lies in the plane of columns 0 and 1, on column 1's side.
    usable = real & (np.linalg.norm(np.cross(rotations.unit(directions), hints), axis=1) > 1e-3)
    normal_part = rotations.dot(frames[usable, :, 2], hints[usable])
    np.testing.assert_allclose(normal_part, 0.0, atol=1e-5)
    assert np.all(rotations.dot(frames[usable, :, 1], hints[usable]) >= 0.0)


def test_aim_frames_survive_parallel_and_zero_input() -> None:
    directions = np.array([[1.0, 0, 0], [0, 0, 0], [0, 3.0, 0]])
    hints = np.array([[2.0, 0, 0], [0, 0, 0], [0, -1.0, 0]])
    frames = rotations.aim_frames(directions, hints)
    assert np.all(np.isfinite(frames))
    real = [0, 2]  # a zero direction is merely finite
    np.testing.assert_allclose(np.linalg.det(frames[real]), 1.0, atol=1e-7)


@settings(max_examples=30)
@given(seeds, st.floats(0.01, 3.0))
def test_limited_steps_cap_the_turn_and_pass_small_ones(seed: int, max_step_rad: float) -> None:
    previous, targets = random_rotations(seed), random_rotations(seed + 7)
    limited = rotations.limited_steps(targets.as_quat(), previous.as_quat(), max_step_rad)
    step_rad = (previous.inv() * Rotation.from_quat(limited)).magnitude()
    wanted_rad = (previous.inv() * targets).magnitude()
    np.testing.assert_allclose(step_rad, np.minimum(wanted_rad, max_step_rad), atol=1e-6)
    # Where it is capped, it moved toward the target: the rest of the way is what was left.
    left_rad = (Rotation.from_quat(limited).inv() * targets).magnitude()
    np.testing.assert_allclose(left_rad, np.maximum(wanted_rad - max_step_rad, 0.0), atol=1e-6)


@given(seeds)
def test_hemisphere_alignment_keeps_the_rotation_and_the_side(seed: int) -> None:
    quaternions = random_rotations(seed).as_quat()
    references = random_rotations(seed + 1).as_quat()
    aligned = rotations.hemisphere_aligned(quaternions, references)
    assert np.all(rotations.dot(aligned, references) >= 0.0)
    assert all(map(same_rotation, aligned, quaternions))


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_power_of_identity_and_extremes(fraction: float) -> None:
    quaternions = np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, -1.0], [1.0, 0.0, 0.0, 0.0]])
    powered = rotations.power(quaternions, fraction)
    assert np.all(np.isfinite(powered))
    expected = quaternions if fraction else np.tile(rotations.IDENTITY_QUATERNION, (3, 1))
    assert all(map(same_rotation, powered, expected))
