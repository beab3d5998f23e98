"""Batched vector and frame primitives in plain numpy, for the rest-pose tables built at import.
(A frame's work is on plain floats: mocap.solve.scalar, cheaper right after an inference.)

Matrices are (..., 3, 3) and act on column vectors; vectors are (..., 3). Degenerate input (a zero
vector, a hint parallel to its direction) gives finite output, never NaN.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

EPS = 1e-200  # floor of squared lengths: only guards 0 / 0, so tiny vectors still normalise
# Nudges a degenerate cross product off zero: far smaller than any landmark noise, and along an
# axis no measured direction is likely to be exactly parallel to.
_NUDGE = 1e-7 * np.array([0.267, 0.535, 0.802])


def unit(vectors: Array) -> Array:
    """Vectors scaled to length 1 along the last axis; zero vectors stay zero."""
    squared = (vectors * vectors).sum(axis=-1, keepdims=True)
    return cast(Array, vectors / np.sqrt(np.maximum(squared, EPS)))


def aim_frames(directions: Array, hints: Array) -> Array:
    """Orthonormal right-handed frames: column 0 along `directions`, column 1 the part of `hints`
    perpendicular to it, column 2 their cross product.

    A rotation that takes a rest (direction, hint) pair onto a measured one is
    aim_frames(measured) @ aim_frames(rest).T.
    """
    x = unit(directions)
    # Hints are metres or pixels: the nudge only matters when one is parallel to its direction.
    z = unit(np.cross(x, hints + _NUDGE))
    y = np.cross(z, x)
    return np.concatenate((x[..., None], y[..., None], z[..., None]), axis=-1)
