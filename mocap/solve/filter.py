"""The rotation filter: an adaptive One Euro filter on the solved bones and expression weights.

Each bone's step from the filter's previous output to the new rotation is taken as a rotation
vector (the quaternion log of previous^-1 * new): the filter moves a fraction alpha of the way,
alpha set by a cutoff that rises with the bone's filtered angular speed (cutoff = min_cutoff +
beta * speed). Still, the cutoff is low and noise is smoothed away; moving, it is high and the
lag is small (Casiez et al., "1 Euro Filter", CHI 2012). A first-order low-pass: it never
overshoots a stop. Expression weights get the same filter on their values.

Swing and twist are filtered apart, as One Euro filters each coordinate apart: a bone's step and
speed split into the part along the bone's own axis (twist) and the part across it (swing), each
with its own cutoff from its own speed. The twist of a nearly straight limb is poorly measured
(its noise is as fast as a real move); filtered together, that noise would raise the cutoff and
let the swing's noise through too, and the other way round.

The lag: each filtered frame also carries how far it trails the motion (AvatarFrame.lag_rad),
for the paced outputs' prediction to make up (mocap.solve.predict): the residual from the filtered
rotation to the solved one, low-passed, where it persists. A move leaves a residual that keeps its
direction; noise leaves one that changes every frame, so at rest the lag is zero and the sends are
as steady as the frames. It is never larger than the residual itself (how far the solver's
rotation is), so at a stop, where the filter closes in, it shrinks as the residual does.

Loss: a bone whose group the solver does not track this frame (held, then eased to rest by
mocap.solve.tracking) passes through untouched, so its hold and ease are not smeared; when the
group is tracked again it starts from the solver's output with no speed, so nothing stale
carries over. A gap of more than MAX_GAP_S, or time going back (a new pass of a replay), starts
over the same way.

Per group (body, head, hands and fingers, eyes, expressions) the parameters come from the
[filter] config section. Pure: a frame's step is one compiled call for all 55 bones
(mocap.solve.filter_step); the lag, which only paced outputs need, is numpy on (55, 3) arrays
(mocap.solve.batched).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from mocap.config import FilterConfig, SolverConfig
from mocap.frames import PoseFrame
from mocap.solve import batched, tracking
from mocap.solve.avatar import AvatarFrame
from mocap.solve.calibration import Calibration
from mocap.solve.face import EXPRESSIONS
from mocap.solve.filter_step import filter_step
from mocap.solve.humanoid import BONE_COUNT, INDEX, PARENTS, REST_LOCAL_POSITIONS, mirror_name
from mocap.solve.solver import AvatarSolver

Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_Cutoff = TypeVar("_Cutoff", float, Array)

MAX_GAP_S = 0.5  # a longer pause between frames is a new start, not a slow move

# The cutoff of the residuals' low-pass that tells a lagged move (a lasting residual) from noise
# (one that changes every frame): higher follows a move's start and end sooner, lets more noise
# into the lag.
LAG_CUTOFF_HZ = 1.0
# Persistence: the low-passed residual's size over its RMS. White noise through that low-pass at
# 30 fps keeps about 0.3; a lagged move keeps nearly 1. The lag fades in between these (tuned
# with `mocap bench --motion-only --rate 90`: 2 Hz or a lower fade brings the still pose's noise
# into the sends, a higher fade leaves more of the lag).
PERSISTENCE_FROM = 0.5
PERSISTENCE_FULL = 0.8
_TINY_RAD = 1e-9  # a residual this small is none
_TINY_RAD2 = _TINY_RAD * _TINY_RAD

_HEAD_BONES = ("Neck", "Head")
_EYE_BONES = ("LeftEye", "RightEye")


def _bone_groups(mirrored: bool) -> npt.NDArray[np.intp]:
    """Each avatar bone's tracking group (tracking.GROUP_NAMES), -1 for bones never solved. With
    the mirror on, the avatar's LeftHand is driven by the subject's right hand's group."""
    groups = np.full(BONE_COUNT, -1, dtype=np.intp)
    for group, names in tracking.GROUP_BONES.items():
        for name in names:
            groups[INDEX[mirror_name(name) if mirrored else name]] = group
    return groups


def _per_bone(config: FilterConfig, suffix: str) -> Array:
    """One filter parameter per bone: the head's, eyes' or hands' value for theirs, the body's
    for the rest."""
    values = np.full(BONE_COUNT, getattr(config, f"body_{suffix}"))
    hand_bones = (
        tracking.GROUP_BONES[tracking.LEFT_HAND] + tracking.GROUP_BONES[tracking.RIGHT_HAND]
    )
    for group, names in (("head", _HEAD_BONES), ("eyes", _EYE_BONES), ("hands", hand_bones)):
        values[[INDEX[name] for name in names]] = getattr(config, f"{group}_{suffix}")
    return values


def _twist_axes() -> Array:
    """Each bone's own axis in its frame (towards its only child: rest rotations are identity,
    so that is the child's rest offset), zero for bones with no child or several."""
    axes = np.zeros((BONE_COUNT, 3))
    child_counts = np.bincount(PARENTS[PARENTS >= 0], minlength=BONE_COUNT)
    for child, parent in enumerate(PARENTS):
        if parent >= 0 and child_counts[parent] == 1:
            offset = REST_LOCAL_POSITIONS[child]
            axes[parent] = offset / np.linalg.norm(offset)
    return axes


_TWIST_AXES = _twist_axes()


def smoothing_factor(cutoff_hz: _Cutoff, dt_s: float) -> _Cutoff:
    """The exponential smoothing factor of a first-order low-pass at cutoff_hz, for a step of
    dt_s: 1 / (1 + tau / dt), tau = 1 / (2 pi cutoff). Floats stay floats (no numpy call)."""
    r = cutoff_hz * (2.0 * math.pi * dt_s)
    return r / (r + 1.0)


class RotationFilter:
    """The filter's state across frames: previous outputs and filtered speeds.

    estimate_lag: whether each frame carries its lag (AvatarFrame.lag_rad), which only a paced
    output's prediction reads; without one the pipeline thread is spared computing it (a tenth
    of a millisecond a frame, right after inference)."""

    def __init__(self, config: FilterConfig, mirrored: bool, *, estimate_lag: bool = True) -> None:
        self._config = config
        self._estimate_lag = estimate_lag
        self._groups = _bone_groups(mirrored)
        self._min_cutoff_hz = _per_bone(config, "min_cutoff_hz")
        self._beta = _per_bone(config, "beta")
        self.reset()

    def reset(self) -> None:
        self._previous: AvatarFrame | None = None
        self._previous_t_s = 0.0
        self._rates = np.zeros((BONE_COUNT, 3))  # filtered angular velocities, rad/s
        self._residuals_rad = np.zeros((BONE_COUNT, 3))  # low-passed filtered-to-solved turns
        self._residual_power = np.zeros(BONE_COUNT)  # low-passed squared residual angles
        self._tracked = np.zeros(BONE_COUNT, dtype=np.bool_)
        self._weights = [0.0] * len(EXPRESSIONS)
        self._weight_rates = [0.0] * len(EXPRESSIONS)
        self._face_tracked = False

    def __call__(
        self, avatar: AvatarFrame, t_s: float, tracked_groups: Sequence[bool]
    ) -> AvatarFrame:
        """The filtered frame for avatar, solved at t_s with these groups tracked (the
        solver's tracked_groups, on the subject's sides)."""
        weights = [avatar.blendshapes[name] for name in EXPRESSIONS]
        groups_tracked = np.array([*tracked_groups, True])  # the last: bones never solved
        face_tracked = bool(tracked_groups[tracking.HEAD])
        previous, dt_s = self._previous, t_s - self._previous_t_s
        if previous is None or not 0.0 < dt_s <= MAX_GAP_S:
            rotations = avatar.local_rotations
            self._tracked = groups_tracked[self._groups]
            self._rates[:] = 0.0
            self._residuals_rad[:] = 0.0
            self._residual_power[:] = 0.0
            lag_rad: Array | None = np.zeros((BONE_COUNT, 3)) if self._estimate_lag else None
            self._weight_rates = [0.0] * len(EXPRESSIONS)
        else:
            rotations = np.empty((BONE_COUNT, 4))
            steady = np.empty(BONE_COUNT, dtype=np.bool_)  # tracked now and before: filtered
            filter_step(
                previous.local_rotations,
                avatar.local_rotations,
                bone_groups=self._groups,
                groups_tracked=groups_tracked,
                bones_tracked=self._tracked,
                rates=self._rates,
                twist_axes=_TWIST_AXES,
                min_cutoff_hz=self._min_cutoff_hz,
                beta=self._beta,
                dt_s=dt_s,
                rate_alpha=smoothing_factor(self._config.d_cutoff_hz, dt_s),
                filtered=rotations,
                steady=steady,
            )
            lag_rad = (
                self._lag_rad(rotations, avatar.local_rotations, dt_s, steady)
                if self._estimate_lag
                else None
            )
            if face_tracked and self._face_tracked:
                weights = self._filtered_weights(weights, dt_s)
            else:
                self._weight_rates = [0.0] * len(EXPRESSIONS)
        rotations.flags.writeable = False
        if lag_rad is not None:
            lag_rad.flags.writeable = False
        filtered = AvatarFrame(
            bone_names=avatar.bone_names,
            local_positions=avatar.local_positions,
            local_rotations=rotations,
            root_position=avatar.root_position,
            root_rotation=avatar.root_rotation,
            blendshapes=dict(zip(EXPRESSIONS, weights, strict=True)),
            lag_rad=lag_rad,
            arkit=avatar.arkit,  # sent as the model gives them (README: Perfect Sync)
        )
        self._previous, self._previous_t_s = filtered, t_s
        self._weights, self._face_tracked = weights, face_tracked
        return filtered

    def _lag_rad(self, filtered: Array, solved: Array, dt_s: float, steady: BoolArray) -> Array:
        """How far each filtered rotation trails the motion: its residual (the turn from the
        filtered rotation to the solved one), low-passed, where it persists. A move the filter
        lags leaves a residual that keeps its direction, so its low-pass keeps most of its size;
        noise changes direction every frame and its low-pass is a fraction of its size. The
        lag is the low-passed residual, faded in as that fraction (persistence) rises from
        PERSISTENCE_FROM to PERSISTENCE_FULL: at rest it is zero and no noise comes back. Never
        larger than the residual: at a stop, the low-pass would outlast it."""
        residuals = batched.log(batched.turn_from(filtered, solved))
        residuals[~steady] = 0.0  # a lost part is the solver's hold: it trails nothing
        self._residuals_rad[~steady] = 0.0  # and when it is back, nothing stale carries over
        self._residual_power[~steady] = 0.0
        alpha = smoothing_factor(LAG_CUTOFF_HZ, dt_s)
        self._residuals_rad += alpha * (residuals - self._residuals_rad)
        self._residual_power += alpha * ((residuals * residuals).sum(axis=1) - self._residual_power)
        persistence = batched.angles_rad(self._residuals_rad) / np.sqrt(
            np.maximum(self._residual_power, _TINY_RAD2)
        )
        fade = np.clip(
            (persistence - PERSISTENCE_FROM) / (PERSISTENCE_FULL - PERSISTENCE_FROM), 0.0, 1.0
        )
        lagged = batched.angles_rad(self._residuals_rad) * fade
        within = np.minimum(lagged, batched.angles_rad(residuals)) / np.maximum(lagged, _TINY_RAD)
        lag: Array = self._residuals_rad * (fade * within)[:, None]
        return lag

    def _filtered_weights(self, weights: list[float], dt_s: float) -> list[float]:
        """The expression weights filtered, on floats: a dozen of them cost less so than as
        numpy calls."""
        config = self._config
        rate_alpha = smoothing_factor(config.d_cutoff_hz, dt_s)
        filtered, rates = [], []
        for weight, before, rate_before in zip(
            weights, self._weights, self._weight_rates, strict=True
        ):
            step = weight - before
            rate = rate_before + rate_alpha * (step / dt_s - rate_before)
            cutoff_hz = config.expressions_min_cutoff_hz + config.expressions_beta * abs(rate)
            filtered.append(before + smoothing_factor(cutoff_hz, dt_s) * step)
            rates.append(rate)
        self._weight_rates = rates
        return filtered


class FilteredSolver:
    """The pipeline's solver: AvatarSolver, then (when [filter] is enabled) RotationFilter.
    estimate_lag: RotationFilter's (False where no output is paced)."""

    def __init__(
        self,
        solver_config: SolverConfig,
        filter_config: FilterConfig,
        calibration: Calibration | None = None,
        *,
        estimate_lag: bool = True,
    ) -> None:
        self._solver = AvatarSolver(solver_config, calibration)
        self._filter = (
            RotationFilter(filter_config, solver_config.mirror, estimate_lag=estimate_lag)
            if filter_config.enabled
            else None
        )

    def calibrate(self, calibration: Calibration | None) -> None:
        """Use calibration from the next frame on (AvatarSolver.calibrate: thread-safe)."""
        self._solver.calibrate(calibration)

    def reset(self) -> None:
        """Forget every earlier frame (a new source, or a replay that starts over)."""
        self._solver.reset()
        if self._filter is not None:
            self._filter.reset()

    def __call__(self, frame: PoseFrame) -> AvatarFrame:
        avatar = self._solver(frame)
        if self._filter is None:
            return avatar
        return self._filter(avatar, frame.timestamp_s, self._solver.tracked_groups)
