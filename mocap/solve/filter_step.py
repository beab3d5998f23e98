"""The rotation filter's step for a whole pose, compiled (numba): one call per frame.

Why compiled: the pipeline solves a frame right after (or while) the model infers, when the
model has evicted the caches. There every numpy call costs microseconds, and this step as numpy
was ~50 calls and 0.24 ms a frame (as a loop over the bones on Python floats, 0.23 ms); compiled,
it is one call of ~0.05 ms (`tools/solve_after_inference.py` measures the solve there). The
machine code is cached (numba's cache=True: beside this module, or in the user's cache folder),
so only a first run on a machine compiles it (about a second) and a later one loads it; the
signature is given, so that happens at import, never at a first frame.

The math is mocap.solve.filter's (its module doc): per bone, the turn from the previous output to
the solved rotation as a rotation vector (quaternion log), its part along the bone's own axis
(twist) and across it (swing) each moved a fraction alpha of the way, alpha from a cutoff raised
by that part's filtered speed; then the previous output turned by that much (quaternion exp).
Quaternions are (x, y, z, w); products are Hamilton's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IndexArray = npt.NDArray[np.intp]

# Added to the divisors of the log's and the exp's scales: it only turns 0 / 0 into 0 where the
# vector is 0 anyway (as mocap.solve.batched).
_TINY = 1e-300


def _filter_step(
    before: Array,
    solved: Array,
    *,
    bone_groups: IndexArray,
    groups_tracked: BoolArray,
    bones_tracked: BoolArray,
    rates: Array,
    twist_axes: Array,
    min_cutoff_hz: Array,
    beta: Array,
    dt_s: float,
    rate_alpha: float,
    filtered: Array,
    steady: BoolArray,
) -> None:
    """One frame of the filter, for every bone b.

    In: before (the previous output) and solved, (N, 4); each bone's group (bone_groups, -1 for
    never solved: groups_tracked's last entry) and whether each group is tracked now; each bone's
    own unit axis (zero for none: all its step is swing), min cutoff and beta; the step dt_s and
    the rates' smoothing factor. In and out: bones_tracked (the last frame's, set to this one's)
    and rates (filtered angular velocities, rad/s, (N, 3)). Out: filtered (N, 4) and steady
    (tracked now and before: filtered; the others pass solved through and forget their rate).
    """
    to_rate = rate_alpha / dt_s
    keep_rate = 1.0 - rate_alpha
    two_pi_dt = 2.0 * math.pi * dt_s
    for b in range(before.shape[0]):
        tracked = groups_tracked[bone_groups[b]]
        steady[b] = tracked and bones_tracked[b]
        bones_tracked[b] = tracked
        bx, by, bz, bw = solved[b, 0], solved[b, 1], solved[b, 2], solved[b, 3]
        if not steady[b]:
            filtered[b, 0], filtered[b, 1], filtered[b, 2], filtered[b, 3] = bx, by, bz, bw
            rates[b, 0] = rates[b, 1] = rates[b, 2] = 0.0
            continue
        ax, ay, az, aw = before[b, 0], before[b, 1], before[b, 2], before[b, 3]
        # The turn conjugate(before) * solved, and its log the shortest way round.
        tx = aw * bx - ax * bw - ay * bz + az * by
        ty = aw * by + ax * bz - ay * bw - az * bx
        tz = aw * bz - ax * by + ay * bx - az * bw
        tw = aw * bw + ax * bx + ay * by + az * bz
        sin_half = math.sqrt(tx * tx + ty * ty + tz * tz)
        scale = 2.0 * math.copysign(math.atan2(sin_half, abs(tw)) / (sin_half + _TINY), tw)
        sx, sy, sz = tx * scale, ty * scale, tz * scale
        rx = to_rate * sx + keep_rate * rates[b, 0]
        ry = to_rate * sy + keep_rate * rates[b, 1]
        rz = to_rate * sz + keep_rate * rates[b, 2]
        rates[b, 0], rates[b, 1], rates[b, 2] = rx, ry, rz
        # Swing and twist: the parts across and along the bone's axis, each with its own alpha.
        ux, uy, uz = twist_axes[b, 0], twist_axes[b, 1], twist_axes[b, 2]
        step_along = sx * ux + sy * uy + sz * uz
        rate_along = rx * ux + ry * uy + rz * uz
        swing_speed = math.sqrt(max(rx * rx + ry * ry + rz * rz - rate_along * rate_along, 0.0))
        swing_r = two_pi_dt * (min_cutoff_hz[b] + beta[b] * swing_speed)
        twist_r = two_pi_dt * (min_cutoff_hz[b] + beta[b] * abs(rate_along))
        swing_alpha = swing_r / (swing_r + 1.0)
        extra_along = (twist_r / (twist_r + 1.0) - swing_alpha) * step_along
        vx = sx * swing_alpha + extra_along * ux
        vy = sy * swing_alpha + extra_along * uy
        vz = sz * swing_alpha + extra_along * uz
        # exp of the part taken, then before * that.
        half = 0.5 * math.sqrt(vx * vx + vy * vy + vz * vz)
        scale = math.sin(half) / (half + half + _TINY)
        qx, qy, qz, qw = vx * scale, vy * scale, vz * scale, math.cos(half)
        filtered[b, 0] = aw * qx + ax * qw + ay * qz - az * qy
        filtered[b, 1] = aw * qy - ax * qz + ay * qw + az * qx
        filtered[b, 2] = aw * qz + ax * qy - ay * qx + az * qw
        filtered[b, 3] = aw * qw - ax * qx - ay * qy - az * qz


_ROWS = numba.types.Array(numba.float64, 2, "C", readonly=True)
_VALUES = numba.types.Array(numba.float64, 1, "C", readonly=True)
_SIGNATURE = numba.void(
    _ROWS, _ROWS, numba.types.Array(numba.intp, 1, "C", readonly=True),
    numba.types.Array(numba.boolean, 1, "C", readonly=True), numba.boolean[::1],
    numba.float64[:, ::1], _ROWS, _VALUES, _VALUES, numba.float64, numba.float64,
    numba.float64[:, ::1], numba.boolean[::1],
)  # fmt: skip

Function = TypeVar("Function", bound=Callable[..., None])


def _compiled(function: Function) -> Function:
    """function compiled for _SIGNATURE, typed as function is. Its machine code is cached where
    numba finds a writable folder; with none (a read-only install and home, a container run
    --read-only), numba refuses to cache, and it is compiled in memory at every start instead."""
    try:
        compiled = numba.njit(_SIGNATURE, cache=True)(function)
    except RuntimeError as error:
        if "no locator available" not in str(error):
            raise
        compiled = numba.njit(_SIGNATURE)(function)
    return cast(Function, compiled)


filter_step = _compiled(_filter_step)
"""_filter_step compiled (its doc)."""
