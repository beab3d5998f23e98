"""The solver's plain-float rotation math against scipy's Rotation and the batched numpy code."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.transform import Rotation

from mocap.solve import rotations, scalar

Array = npt.NDArray[np.float64]

# Landmark-sized components, or exactly zero (a landmark repeated).
components = st.floats(-10, 10).map(lambda x: 0.0 if abs(x) < 1e-3 else x)
vectors = hnp.arrays(np.float64, (3,), elements=components)
seeds = st.integers(0, 2**31)


def random_rotations(seed: int, count: int = 16) -> Rotation:
    """Random rotations, plus the awkward ones: identity and half turns about each axis (where a
    matrix's trace is -1 and Shepperd's method must take another diagonal)."""
    special = Rotation.from_rotvec(np.vstack((np.zeros(3), np.pi * np.eye(3))))
    return Rotation.concatenate((Rotation.random(count, random_state=seed), special))


def same_rotation(a: npt.ArrayLike, b: npt.ArrayLike) -> bool:
    """Quaternions equal up to sign (q and -q are one rotation)."""
    return bool(np.isclose(abs(float(np.dot(a, b))), 1.0, atol=1e-9))


@given(vectors, vectors)
def test_vector_operations_match_numpy(a: Array, b: Array) -> None:
    a_floats, b_floats = a.tolist(), b.tolist()  # the scalar code takes plain floats
    np.testing.assert_allclose(scalar.cross(a_floats, b_floats), np.cross(a, b), atol=1e-9)
    np.testing.assert_allclose(scalar.dot(a_floats, b_floats), a @ b, atol=1e-9)
    np.testing.assert_allclose(scalar.sub(a_floats, b_floats), a - b)
    np.testing.assert_allclose(
        scalar.lerp(a_floats, b_floats, 0.25), a + 0.25 * (b - a), atol=1e-12
    )
    np.testing.assert_allclose(scalar.unit(a_floats), rotations.unit(a), atol=1e-12)


@given(vectors, vectors)
def test_aim_matrix_is_the_batched_aim_frame(direction: Array, hint: Array) -> None:
    expected = rotations.aim_frames(direction[None], hint[None])[0]
    # (A hint parallel to its direction costs some precision in both.)
    np.testing.assert_allclose(
        scalar.aim_matrix(direction.tolist(), hint.tolist()), expected, atol=1e-7
    )


@settings(max_examples=30)
@given(seeds)
def test_matrix_and_quaternion_conversions_match_scipy(seed: int) -> None:
    reference = random_rotations(seed)
    for matrix, quaternion in zip(reference.as_matrix(), reference.as_quat(), strict=True):
        converted = scalar.matrix_to_quaternion(matrix.tolist())
        assert same_rotation(converted, quaternion)
        assert converted[3] >= 0.0
        np.testing.assert_allclose(scalar.to_matrix(quaternion), matrix, atol=1e-12)


@settings(max_examples=30)
@given(seeds, st.floats(-2.0, 2.0))
def test_products_inverses_powers_and_turns_match_scipy(seed: int, fraction: float) -> None:
    a, b = random_rotations(seed), random_rotations(seed + 1)
    v = (0.3, -1.2, 2.0)
    for i in range(len(a)):
        qa, qb = a[i].as_quat(), b[i].as_quat()
        assert same_rotation(scalar.multiply(qa, qb), (a[i] * b[i]).as_quat())
        assert same_rotation(scalar.conjugate(qa), a[i].inv().as_quat())
        expected = Rotation.from_rotvec(a[i].as_rotvec() * fraction).as_quat()
        assert same_rotation(scalar.power(qa, fraction), expected)
        np.testing.assert_allclose(scalar.rotate(qa, v), a[i].apply(v), atol=1e-12)
        assert scalar.canonical(qa)[3] >= 0.0
        assert same_rotation(scalar.canonical(qa), qa)
        ma, mb = a[i].as_matrix(), b[i].as_matrix()
        np.testing.assert_allclose(scalar.transposed_times(ma, mb), ma.T @ mb, atol=1e-12)
        np.testing.assert_allclose(scalar.apply(ma, v), ma @ v, atol=1e-12)


@given(vectors, st.floats(-7.0, 7.0))
def test_axis_angle_matches_scipy(axis: Array, angle_rad: float) -> None:
    axis = rotations.unit(axis + 1e-3)
    expected = Rotation.from_rotvec(axis * angle_rad).as_quat()
    assert same_rotation(scalar.axis_angle(axis.tolist(), angle_rad), expected)


@given(vectors, vectors)
def test_shortest_arc_and_transport_take_one_direction_onto_the_other(a: Array, b: Array) -> None:
    a, b = rotations.unit(a + 1e-3), rotations.unit(b + 1e-3)
    arc = Rotation.from_quat(scalar.shortest_arc(a.tolist(), b.tolist()))
    np.testing.assert_allclose(arc.apply(a), b, atol=1e-6)
    np.testing.assert_allclose(arc.magnitude(), np.arccos(np.clip(a @ b, -1, 1)), atol=1e-6)
    if a @ b > -0.99:  # opposite directions have no single shortest arc to carry along
        np.testing.assert_allclose(
            scalar.transport(a.tolist(), b.tolist(), b.tolist()), arc.apply(b), atol=1e-5
        )


def test_opposite_directions_give_a_half_turn_not_nan() -> None:
    for a in rotations.unit(np.array([[1.0, 0, 0], [0, 0, 1.0], [1.0, 2.0, 3.0]])):
        arc = Rotation.from_quat(scalar.shortest_arc(a, -a))
        np.testing.assert_allclose(arc.apply(a), -a, atol=1e-6)


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_powers_of_identity_and_of_a_half_turn(fraction: float) -> None:
    assert scalar.power((0.0, 0.0, 0.0, -1.0), fraction) == scalar.IDENTITY
    half_turn = scalar.power((1.0, 0.0, 0.0, 0.0), fraction)
    expected = Rotation.from_rotvec([np.pi * fraction, 0.0, 0.0]).as_quat()
    assert same_rotation(half_turn, expected)


@settings(max_examples=30)
@given(seeds, st.floats(0.01, 3.0))
def test_a_limited_step_turns_that_far_toward_the_target(seed: int, max_step_rad: float) -> None:
    previous, targets = random_rotations(seed), random_rotations(seed + 7)
    for i in range(len(previous)):
        wanted_rad = (previous[i].inv() * targets[i]).magnitude()
        if wanted_rad <= max_step_rad:
            continue  # the solver only limits steps farther than the limit
        p = previous[i].as_quat()
        limited = scalar.limited_step(targets[i].as_quat(), p, max_step_rad)
        assert scalar.dot4(limited, p) >= 0.0  # in the previous rotation's hemisphere
        step_rad = (previous[i].inv() * Rotation.from_quat(limited)).magnitude()
        assert step_rad == pytest.approx(max_step_rad, abs=1e-6)
        # It moved toward the target: the rest of the way is what was left.
        left_rad = (Rotation.from_quat(limited).inv() * targets[i]).magnitude()
        assert left_rad == pytest.approx(wanted_rad - max_step_rad, abs=1e-6)


@settings(max_examples=50)
@given(seeds, hnp.arrays(np.float64, (17, 3), elements=st.floats(-0.5, 0.5)))
def test_polar_rotation_is_kabschs_rotation(seed: int, noise: Array) -> None:
    """The nearest rotation to a cross-covariance, as an SVD finds it, on a face-like fit: a
    model of 17 points turned, scaled and disturbed."""
    model = np.random.default_rng(seed).normal(scale=[8.0, 6.0, 4.0], size=(17, 3))
    model -= model.mean(axis=0)
    turned = Rotation.random(random_state=seed).apply(model) * 30.0 + noise * 30.0
    h = model.T @ (turned - turned.mean(axis=0))
    u, _, vt = np.linalg.svd(h)
    if np.linalg.det(u @ vt) < 0:  # the noise made the best fit a reflection
        return
    polar = scalar.polar_rotation(h.tolist())
    assert polar is not None
    np.testing.assert_allclose(polar, u @ vt, atol=1e-9)


@pytest.mark.parametrize(
    "matrix",
    [
        np.diag([1.0, 1.0, -1.0]) * 5.0,  # a mirror image
        np.diag([1.0, 1.0, 0.0]),  # a flat fit
        np.zeros((3, 3)),
    ],
)
def test_polar_rotation_refuses_reflections_and_flat_fits(matrix: Array) -> None:
    assert scalar.polar_rotation(matrix.tolist()) is None
