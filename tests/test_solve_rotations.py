"""The batched numpy primitives that build the rest-pose tables."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mocap.solve import rotations

Array = npt.NDArray[np.float64]

# Landmark-sized components, or exactly zero (a landmark repeated).
components = st.floats(-10, 10).map(lambda x: 0.0 if abs(x) < 1e-3 else x)
vectors = hnp.arrays(np.float64, (8, 3), elements=components)
seeds = st.integers(0, 2**31)


def dot(a: Array, b: Array) -> Array:
    products: Array = (a * b).sum(axis=-1)
    return products


@given(vectors)
def test_unit_scales_to_length_one_and_keeps_zero(a: Array) -> None:
    lengths = np.linalg.norm(a, axis=1)
    expected = np.where(lengths[:, None] > 0, a / np.maximum(lengths, 1e-300)[:, None], 0.0)
    np.testing.assert_allclose(rotations.unit(a), expected, atol=1e-12)


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
    normal_part = dot(frames[usable, :, 2], hints[usable])
    np.testing.assert_allclose(normal_part, 0.0, atol=1e-5)
    assert np.all(dot(frames[usable, :, 1], hints[usable]) >= 0.0)


def test_aim_frames_survive_parallel_and_zero_input() -> None:
    directions = np.array([[1.0, 0, 0], [0, 0, 0], [0, 3.0, 0]])
    hints = np.array([[2.0, 0, 0], [0, 0, 0], [0, -1.0, 0]])
    frames = rotations.aim_frames(directions, hints)
    assert np.all(np.isfinite(frames))
    real = [0, 2]  # a zero direction is merely finite
    np.testing.assert_allclose(np.linalg.det(frames[real]), 1.0, atol=1e-7)
