"""Batched rotation primitives in plain numpy, for many rotations at once: all 55 bones in the
tracker's easing and the sign continuity, the rest frames at import. (One rotation at a time is
cheaper on plain floats: mocap.solve.scalar.)

scipy's `Rotation` is the reference (tests/test_solve_rotations.py checks every function here
against it), but in scipy 1.17 each Rotation call costs 10-90 us whatever the batch size. Here
each function is a handful of numpy calls on a whole batch (a numpy call costs ~2 us on small
arrays, so the count of calls is what matters).

Matrices are (..., 3, 3) and act on column vectors; quaternions are (..., 4) in x, y, z, w order
(scipy's and Unity's); vectors are (..., 3). Degenerate input (a zero vector, a hint parallel to
its direction) gives finite output, never NaN.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

EPS = 1e-200  # floor of squared lengths: only guards 0 / 0, so tiny vectors still normalise
IDENTITY_QUATERNION: Array = np.array([0.0, 0.0, 0.0, 1.0])
_CONJUGATE_SIGNS = np.array([-1.0, -1.0, -1.0, 1.0])
# Nudges a degenerate cross product off zero: far smaller than any landmark noise, and along an
# axis no measured direction is likely to be exactly parallel to.
_NUDGE = 1e-7 * np.array([0.267, 0.535, 0.802])


def _skew(v: Array) -> Array:
    """The cross-product matrix [v]x, with [v]x b = v x b."""
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


def _skew_basis() -> Array:
    """(3, 9): a @ this, reshaped to 3 x 3, is [a]x (the map is linear in a)."""
    return np.array([_skew(axis) for axis in np.eye(3)]).reshape(3, 9)


def _hamilton_basis() -> Array:
    """(4, 16): a @ this, reshaped to 4 x 4, is the matrix of left multiplication by a."""
    x, y, z, w = np.eye(4)
    rows = [
        [w, -z, y, x],  # a * b, x component, as rows of coefficients of (bx, by, bz, bw)
        [z, w, -x, y],
        [-y, x, w, z],
        [-x, -y, -z, w],
    ]
    return np.array(rows).transpose(2, 0, 1).reshape(4, 16)


_SKEW = _skew_basis()
_HAMILTON = _hamilton_basis()


_add_reduce = np.add.reduce  # the ufunc itself: ~1 us less per call than ndarray.sum


def dot(a: Array, b: Array) -> Array:
    return cast(Array, _add_reduce(a * b, axis=-1))


def unit(vectors: Array) -> Array:
    """Vectors scaled to length 1 along the last axis; zero vectors stay zero."""
    squared = _add_reduce(vectors * vectors, axis=-1, keepdims=True)
    return cast(Array, vectors / np.sqrt(np.maximum(squared, EPS)))


def cross(a: Array, b: Array) -> Array:
    """a x b as [a]x b: two matrix products, cheaper than np.cross (~25 us) on small arrays."""
    skew = (a @ _SKEW).reshape((*a.shape[:-1], 3, 3))
    return (skew @ b[..., None])[..., 0]


def aim_frames(directions: Array, hints: Array) -> Array:
    """Orthonormal right-handed frames: column 0 along `directions`, column 1 the part of `hints`
    perpendicular to it, column 2 their cross product.

    A rotation that takes a rest (direction, hint) pair onto a measured one is
    aim_frames(measured) @ aim_frames(rest).T.
    """
    x = unit(directions)
    # Hints are metres or pixels: the nudge only matters when one is parallel to its direction.
    z = unit(cross(x, hints + _NUDGE))
    y = cross(z, x)
    return np.concatenate((x[..., None], y[..., None], z[..., None]), axis=-1)


def multiply(a: Array, b: Array) -> Array:
    """The Hamilton product a * b: the rotation b, then a."""
    left = (a @ _HAMILTON).reshape((*a.shape[:-1], 4, 4))
    return (left @ b[..., None])[..., 0]


def conjugate(quaternions: Array) -> Array:
    """The inverse of a unit quaternion."""
    return cast(Array, quaternions * _CONJUGATE_SIGNS)


def axis_angles(axes: Array, angles_rad: Array) -> Array:
    """Quaternions of rotations by angles_rad (...) about unit axes (..., 3)."""
    half = 0.5 * angles_rad[..., None]
    return np.concatenate((axes * np.sin(half), np.cos(half)), axis=-1)


def power(quaternions: Array, fractions: Array | float) -> Array:
    """q^t: the rotation scaled by t along its shortest path (slerp from identity to q)."""
    q = quaternions * np.copysign(1.0, quaternions[..., 3:])
    sin_half = np.sqrt(dot(q[..., :3], q[..., :3]))
    half_rad = np.arctan2(sin_half, q[..., 3])
    return axis_angles(
        q[..., :3] / np.maximum(sin_half, 1e-300)[..., None], 2.0 * half_rad * fractions
    )


def limited_steps(targets: Array, previous: Array, max_step_rad: float) -> Array:
    """Each target rotation, or, where it is more than max_step_rad from the previous one, the
    rotation that far along the shortest path from the previous one toward it."""
    if max_step_rad >= np.pi:  # no rotation is farther than a half turn
        return targets
    cos_half_step = np.abs(dot(targets, previous))
    too_far = cos_half_step < np.cos(0.5 * max_step_rad)
    if not too_far.any():
        return targets
    step = multiply(conjugate(previous[too_far]), targets[too_far])
    angle_rad = 2.0 * np.arccos(np.minimum(cos_half_step[too_far], 1.0))
    limited = targets.copy()
    limited[too_far] = multiply(previous[too_far], power(step, max_step_rad / angle_rad))
    return limited


def hemisphere_aligned(quaternions: Array, references: Array) -> Array:
    """Each quaternion, negated where needed to lie in its reference's hemisphere (dot >= 0).

    q and -q are the same rotation; keeping consecutive outputs on one side stops a receiver that
    interpolates component-wise from spinning a bone the long way round.
    """
    return cast(Array, quaternions * np.copysign(1.0, dot(quaternions, references))[..., None])
