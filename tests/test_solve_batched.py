"""mocap.solve.batched against scipy's Rotation, row by row: products, turns, log and exp."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from mocap.solve import batched

ROWS = 55
Array = npt.NDArray[np.float64]


def quaternions(seed: int) -> Array:
    rotations: Array = Rotation.random(ROWS, random_state=seed).as_quat()
    return rotations


def same_rotations(a: Array, b: Array) -> bool:
    """Row by row the same rotation (q and -q alike)."""
    return bool(np.all(np.abs((a * b).sum(axis=1)) > 1.0 - 1e-12))


def test_multiply_is_scipys_composition() -> None:
    a, b = quaternions(1), quaternions(2)
    expected = (Rotation.from_quat(a) * Rotation.from_quat(b)).as_quat()
    assert same_rotations(batched.multiply(a, b), expected)


def test_multiply_broadcasts_one_rotation_over_many() -> None:
    a, b = quaternions(3)[:1], quaternions(4)
    expected = (Rotation.from_quat(np.repeat(a, ROWS, axis=0)) * Rotation.from_quat(b)).as_quat()
    assert same_rotations(batched.multiply(a, b), expected)


def test_turn_from_takes_a_to_b() -> None:
    a, b = quaternions(5), quaternions(6)
    expected = (Rotation.from_quat(a).inv() * Rotation.from_quat(b)).as_quat()
    turn = batched.turn_from(a, b)
    assert same_rotations(turn, expected)
    assert same_rotations(batched.multiply(a, turn), b)


def test_log_and_exp_are_scipys_rotation_vectors() -> None:
    q = quaternions(7)
    vectors = batched.log(q)
    assert np.allclose(vectors, Rotation.from_quat(q).as_rotvec(), atol=1e-12)
    assert np.allclose(batched.log(-q), vectors, atol=1e-12)  # the shortest way round
    assert same_rotations(batched.exp(vectors), q)
    assert np.allclose(batched.angles_rad(vectors), Rotation.from_quat(q).magnitude())


def test_log_and_exp_of_the_identity_are_exact() -> None:
    identity = np.tile([0.0, 0.0, 0.0, 1.0], (3, 1))
    assert np.array_equal(batched.log(identity), np.zeros((3, 3)))
    assert np.array_equal(batched.exp(np.zeros((3, 3))), identity)


def test_near_puts_each_row_in_the_references_hemisphere() -> None:
    q, reference = quaternions(8), quaternions(9)
    near = batched.near(q, reference)
    assert same_rotations(near, q)
    assert np.all((near * reference).sum(axis=1) >= 0.0)
