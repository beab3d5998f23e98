"""Batched rotation primitives in plain numpy: the solver's per-frame hot path.

scipy's `Rotation` is the reference (tests/test_solve_rotations.py checks every function here
against it), but in scipy 1.17 each Rotation call costs 10-90 us whatever the batch size, and a
frame needs a few dozen rotation operations. Here each function is a handful of numpy calls on a
whole batch (a numpy call costs ~2 us on small arrays, so the count of calls is what matters).

Matrices are (..., 3, 3) and act on column vectors; quaternions are (..., 4) in x, y, z, w order
(scipy's and Unity's); vectors are (..., 3). Degenerate input (a zero vector, a hint parallel to
its direction, opposite directions) gives finite output, never NaN.
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


def _rotation_basis() -> tuple[Array, Array]:
    """(16, 9) and (9,): a rotation matrix is (q q^T).reshape(16) @ basis + offset."""
    basis = np.zeros((4, 4, 3, 3))
    # R = (w^2 - v.v) I + 2 v v^T + 2 w [v]x, with w^2 + v.v = 1, so w^2 - v.v = 1 - 2 v.v.
    for i in range(3):
        basis[i, i] -= 2.0 * np.eye(3)
        for j in range(3):
            basis[i, j, i, j] += 2.0
    skew = np.array([_skew(axis) for axis in np.eye(3)])
    basis[3, :3] += skew
    basis[:3, 3] += skew
    return basis.reshape(16, 9), np.eye(3).reshape(9)


def _quaternion_basis() -> tuple[Array, Array]:
    """(9, 16) and (16,): 4 q q^T = R.reshape(9) @ basis + offset (x, y, z, w order)."""
    linear = np.zeros((3, 3, 4, 4))
    diagonal_signs = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1], [1, 1, 1]])
    for k in range(4):
        for i in range(3):
            linear[i, i, k, k] = diagonal_signs[k, i]
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        linear[i, j, i, j] = linear[j, i, i, j] = 1.0  # 4 x_i x_j = R_ij + R_ji
        linear[i, j, j, i] = linear[j, i, j, i] = 1.0
        linear[j, i, k, 3] = linear[j, i, 3, k] = 1.0  # 4 x_k w = R_ji - R_ij
        linear[i, j, k, 3] = linear[i, j, 3, k] = -1.0
    return linear.reshape(9, 16), np.eye(4).reshape(16)


_SKEW = _skew_basis()
_HAMILTON = _hamilton_basis()
_TO_MATRIX, _TO_MATRIX_OFFSET = _rotation_basis()
_TO_QUATERNION, _TO_QUATERNION_OFFSET = _quaternion_basis()


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


def apply(matrices: Array, vectors: Array) -> Array:
    """Each matrix applied to its vector: (..., 3, 3) x (..., 3) -> (..., 3)."""
    return cast(Array, np.einsum("...ij,...j->...i", matrices, vectors))


def apply_inverse(matrices: Array, vectors: Array) -> Array:
    """Each matrix's transpose (its inverse) applied to its vector."""
    return cast(Array, np.einsum("...ji,...j->...i", matrices, vectors))


def transport(from_dirs: Array, to_dirs: Array, vectors: Array) -> Array:
    """`vectors` turned by the shortest-arc rotation that takes unit from_dirs onto unit to_dirs.

    R = I + 2 b a^T - (a + b)(a + b)^T / (1 + a.b), with a = from_dirs and b = to_dirs. For opposite
    directions the arc is undefined and the result merely finite; callers orthonormalise it.
    """
    a, b = from_dirs, to_dirs
    s = a + b
    scale = dot(s, vectors) / np.maximum(1.0 + dot(a, b), 1e-9)
    return cast(Array, vectors + 2.0 * dot(a, vectors)[..., None] * b - scale[..., None] * s)


def shortest_arcs(from_dirs: Array, to_dirs: Array) -> Array:
    """Quaternions of the smallest rotations taking unit from_dirs onto unit to_dirs: (a x b,
    1 + a.b) normalised. Opposite directions give a half turn about an axis across them."""
    axis = cross(from_dirs, to_dirs + _NUDGE)
    return unit(np.concatenate((axis, 1.0 + dot(from_dirs, to_dirs)[..., None]), axis=-1))


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


def matrices_to_quaternions(matrices: Array) -> Array:
    """Rotation matrices -> unit quaternions (x, y, z, w) with w >= 0.

    4 q q^T is linear in the matrix; its row with the largest diagonal entry is q times a large
    factor (Shepperd's choice, well conditioned), normalised here.
    """
    flat = matrices.reshape((*matrices.shape[:-2], 9))
    outer = (flat @ _TO_QUATERNION + _TO_QUATERNION_OFFSET).reshape((*matrices.shape[:-2], 4, 4))
    rows = outer.reshape(-1, 4, 4)
    pivot = np.argmax(rows.reshape(-1, 16)[:, ::5], axis=-1)  # the largest diagonal entry
    q = unit(rows[np.arange(len(rows)), pivot]).reshape((*matrices.shape[:-2], 4))
    return cast(Array, q * np.copysign(1.0, q[..., 3:]))


def quaternions_to_matrices(quaternions: Array) -> Array:
    outer = quaternions[..., :, None] * quaternions[..., None, :]
    flat = outer.reshape((*quaternions.shape[:-1], 16)) @ _TO_MATRIX + _TO_MATRIX_OFFSET
    return flat.reshape((*quaternions.shape[:-1], 3, 3))


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
