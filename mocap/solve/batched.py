"""Quaternion math on (N, 4) arrays (x, y, z, w), one numpy call per step for all the bones: what
the rotation filter and the paced sender's prediction do to a whole pose at once.

Why numpy here when the solver works on floats (mocap.solve.scalar): these steps treat all 55
bones alike, so a frame costs ~20 numpy calls whatever the bone count, where a float loop would
cost ~55 x 30 operations. Rotation vectors are (N, 3): axis times angle in radians.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt

from mocap.solve import scalar

Array = npt.NDArray[np.float64]

# Below this sine of half an angle, log and exp use their series (angle / sin -> 2): exact to
# rounding, and never 0 / 0.
_SMALL = 1e-12


# The Hamilton product as a bilinear map: (a * b)_i = sum over j, k of a_j b_k _HAMILTON[4j + k, i],
# read off mocap.solve.scalar's product of the basis quaternions. A frame's products are then one
# outer product and one matrix product, where the product written out term by term is ~37 numpy
# calls (each several microseconds right after an inference has evicted the caches).
_BASIS = np.eye(4).tolist()
_HAMILTON = np.array([scalar.multiply(e_j, e_k) for e_j in _BASIS for e_k in _BASIS])
# The same map for conjugate(a) * b: a's vector part enters negated.
_HAMILTON_CONJUGATE_LEFT = _HAMILTON * np.repeat([-1.0, -1.0, -1.0, 1.0], 4)[:, None]


def _bilinear(a: Array, b: Array, table: Array) -> Array:
    outer = a[:, :, None] * b[:, None, :]
    return cast(Array, outer.reshape(-1, 16) @ table)


def multiply(a: Array, b: Array) -> Array:
    """The row-wise Hamilton product a * b: the rotation b, then a."""
    return _bilinear(a, b, _HAMILTON)


def turn_from(a: Array, b: Array) -> Array:
    """Row-wise conjugate(a) * b: the turn that takes unit quaternion a to b (b = a * turn)."""
    return _bilinear(a, b, _HAMILTON_CONJUGATE_LEFT)


def log(q: Array) -> Array:
    """The rotation vectors of unit quaternions, the shortest way round (q and -q alike)."""
    signed = q * np.where(q[:, 3:] < 0.0, -1.0, 1.0)
    sin_half = np.sqrt((signed[:, :3] * signed[:, :3]).sum(axis=1))
    angle = 2.0 * np.arctan2(sin_half, signed[:, 3])
    scale = np.where(sin_half > _SMALL, angle / np.maximum(sin_half, _SMALL), 2.0)
    return cast(Array, signed[:, :3] * scale[:, None])


def exp(rotation_vectors: Array) -> Array:
    """Unit quaternions (w >= 0 for angles under a half turn) of rotation vectors."""
    angle = np.sqrt((rotation_vectors * rotation_vectors).sum(axis=1))
    half = 0.5 * angle
    scale = np.where(angle > _SMALL, np.sin(half) / np.maximum(angle, _SMALL), 0.5)
    return np.concatenate((rotation_vectors * scale[:, None], np.cos(half)[:, None]), axis=1)


def angles_rad(rotation_vectors: Array) -> Array:
    """Each rotation vector's angle."""
    return cast(Array, np.sqrt((rotation_vectors * rotation_vectors).sum(axis=1)))


def near(q: Array, reference: Array) -> Array:
    """q with each row negated where it lies in the other hemisphere from reference's row (the
    same rotations; a receiver that interpolates takes the short way)."""
    dots = (q * reference).sum(axis=1)
    return cast(Array, q * np.where(dots < 0.0, -1.0, 1.0)[:, None])
