"""Quaternion math on (N, 4) arrays (x, y, z, w), one numpy call per step for all the bones: what
the rotation filter's lag and the paced sender's prediction do to a whole pose at once (the
filter's own step is compiled: mocap.solve.filter_step).

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

# Added to the divisors of log's and exp's scales: far below any angle a float resolves, so it
# changes no other result; it only turns 0 / 0 into 0 where the vector is 0 anyway.
_TINY = 1e-300


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
    vector, w = q[:, :3], q[:, 3]
    sin_half = np.sqrt((vector * vector).sum(axis=1))
    # With |w| the half angle is the shorter way's, and w's sign turns the axis to match. The
    # scale angle / sin_half tends to 2 / |w| as sin_half does to 0, and where sin_half is 0 the
    # vector is too, so _TINY only keeps 0 / 0 away.
    half_angle = np.arctan2(sin_half, np.abs(w))
    scale = np.copysign(half_angle / (sin_half + _TINY), w)
    return cast(Array, vector * (scale + scale)[:, None])


def exp(rotation_vectors: Array) -> Array:
    """Unit quaternions (w >= 0 for angles under a half turn) of rotation vectors."""
    half_angle = 0.5 * np.sqrt((rotation_vectors * rotation_vectors).sum(axis=1))
    # sin(half) / angle tends to 1/2 as the angle does to 0; at 0 the vector is 0 (see log).
    scale = np.sin(half_angle) / (half_angle + half_angle + _TINY)
    quaternions = np.empty((len(rotation_vectors), 4))
    np.multiply(rotation_vectors, scale[:, None], out=quaternions[:, :3])
    np.cos(half_angle, out=quaternions[:, 3])
    return quaternions


def angles_rad(rotation_vectors: Array) -> Array:
    """Each rotation vector's angle."""
    return cast(Array, np.sqrt((rotation_vectors * rotation_vectors).sum(axis=1)))


def near(q: Array, reference: Array) -> Array:
    """q with each row negated where it lies in the other hemisphere from reference's row (the
    same rotations; a receiver that interpolates takes the short way)."""
    dots = (q * reference).sum(axis=1)
    return cast(Array, q * np.where(dots < 0.0, -1.0, 1.0)[:, None])
