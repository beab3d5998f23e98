"""A vectorised, NaN-aware One Euro filter for landmark blocks, and a PoseFrame smoother. Pure.

The One Euro filter (Casiez, Roussel, Vogel, "1€ Filter", CHI 2012) is a first-order low-pass
filter whose cutoff frequency rises with speed: at rest a low cutoff removes jitter, on a fast move
a higher cutoff removes lag. For each element, given a sample x that came dt seconds after the
previous one:

    dx     = (x - x_hat_prev) / dt                             speed, units/s
    dx_hat = dx_hat_prev + alpha(d_cutoff_hz, dt) * (dx - dx_hat_prev)
    cutoff = min_cutoff_hz + beta * |dx_hat|                   Hz
    x_hat  = x_hat_prev + alpha(cutoff, dt) * (x - x_hat_prev)
    alpha(fc, dt) = 1 / (1 + tau / dt),  tau = 1 / (2 pi fc)

Time comes from the samples' timestamps, never from counting frames, so a dropped frame or a
slower camera changes the response as little as possible. The parameters, in user terms:

- min_cutoff_hz: the cutoff at rest. Lower is steadier when still but laggier as a move starts
  (slow motion is filtered as if it were jitter). Typically 0.5-2 Hz.
- beta: how fast the cutoff opens with speed, in Hz per (unit/s), that is 1/unit, where the unit
  is the landmarks' own: normalised image units for image landmarks, metres for world landmarks.
  Higher is less lag on fast moves (and more jitter left in them); 0 is a plain low-pass filter.
  Because beta multiplies a speed, one value acts differently on metres and on normalised units.
- d_cutoff_hz: the cutoff of the low-pass on the speed estimate. Higher reacts sooner to a change
  of speed, with a noisier speed estimate; 1 Hz is the paper's usual value.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from mocap import skeleton
from mocap.config import SmoothingConfig
from mocap.frames import FloatArray, PoseFrame

POSITION_CHANNELS = 3  # x, y, z; later columns (pose visibility) are confidences, not positions

_Cutoff = TypeVar("_Cutoff", float, FloatArray)


def smoothing_factor(cutoff_hz: _Cutoff, dt_s: float) -> _Cutoff:
    """The paper's alpha(cutoff, dt) = 1 / (1 + tau / dt) with tau = 1 / (2 pi cutoff).

    Computed as r / (r + 1) with r = dt / tau: in (0, 1] for a positive cutoff and dt, and no
    division by the cutoff.
    """
    ratio = cutoff_hz * (2.0 * math.pi * dt_s)
    return ratio / (ratio + 1.0)


class OneEuroFilter:
    """One Euro filters for every element of an array of a fixed shape, e.g. a (33, 3) block.

    Each element (each coordinate of each landmark) is filtered on its own, as in the paper: the
    speed of one coordinate does not open the cutoff of another.

    NaN means "not tracked": where the input is NaN the output is NaN and that element forgets its
    state, so when it comes back it starts fresh from its new value instead of easing in from a
    stale position. After construction or reset() the first sample passes through unchanged and
    fixes the shape; a sample of another shape raises ValueError.

    Timestamps: a sample whose timestamp is not after the previous one (a repeated frame, or a
    source whose clock restarted) cannot give a speed, so it changes no filter state and the
    previous output is returned again. Its timestamp is still adopted, so a clock that restarted
    costs one frame rather than freezing the output until it catches up.
    """

    def __init__(self, min_cutoff_hz: float, beta: float, d_cutoff_hz: float) -> None:
        if not (min_cutoff_hz > 0 and d_cutoff_hz > 0 and beta >= 0):
            raise ValueError(
                "One Euro filter needs min_cutoff_hz > 0, d_cutoff_hz > 0 and beta >= 0, got "
                f"min_cutoff_hz={min_cutoff_hz}, beta={beta}, d_cutoff_hz={d_cutoff_hz}"
            )
        self.min_cutoff_hz = float(min_cutoff_hz)
        self.beta = float(beta)
        self.d_cutoff_hz = float(d_cutoff_hz)
        self._last_timestamp_s: float | None = None
        # x_hat is NaN exactly where an element has no state (never seen, or NaN last time);
        # dx_hat is only read where x_hat is not NaN.
        self._x_hat: FloatArray = np.empty(0, dtype=np.float32)
        self._dx_hat: FloatArray = np.empty(0, dtype=np.float32)

    @property
    def shape(self) -> tuple[int, ...] | None:
        """The shape fixed by the first sample since construction or reset(), else None."""
        return None if self._last_timestamp_s is None else self._x_hat.shape

    def reset(self) -> None:
        """Forget everything: the next sample passes through and may have any shape."""
        self._last_timestamp_s = None

    def __call__(self, values: npt.ArrayLike, timestamp_s: float) -> FloatArray:
        """Filter one sample taken at timestamp_s (seconds); return a new float32 array."""
        if not math.isfinite(timestamp_s):
            raise ValueError(f"timestamp must be a finite number of seconds, got {timestamp_s}")
        x = np.asarray(values, dtype=np.float32)
        if self._last_timestamp_s is None:
            self._start(x)
        else:
            self._check_shape(x)
            dt_s = timestamp_s - self._last_timestamp_s
            if dt_s > 0:
                self._x_hat, self._dx_hat = self._step(x, dt_s)
        self._last_timestamp_s = timestamp_s
        # A copy: the caller may freeze or modify its result without touching the state. (np.array
        # rather than .copy(): numpy turns a 0-d result into a scalar, and an array is promised.)
        return np.array(self._x_hat, dtype=np.float32)

    def _start(self, x: FloatArray) -> None:
        self._x_hat = x.copy()
        self._dx_hat = np.zeros_like(x)

    def _check_shape(self, x: FloatArray) -> None:
        if x.shape != self._x_hat.shape:
            raise ValueError(
                f"this filter holds state for shape {self._x_hat.shape}, got a sample of shape "
                f"{x.shape} (reset() it to change shape)"
            )

    def _step(self, x: FloatArray, dt_s: float) -> tuple[FloatArray, FloatArray]:
        """The new (x_hat, dx_hat) after sample x, dt_s > 0 seconds after the previous one."""
        previous, previous_speed = self._state_starting_fresh_at(x)
        change = x - previous
        # float32 scalars: a Python float against a float32 array costs numpy a slow dtype check.
        speed_alpha = np.float32(smoothing_factor(self.d_cutoff_hz, dt_s))
        speed = previous_speed + speed_alpha * (change * np.float32(1.0 / dt_s) - previous_speed)
        cutoff_hz = np.float32(self.min_cutoff_hz) + np.float32(self.beta) * np.abs(speed)
        x_hat = previous + smoothing_factor(cutoff_hz, dt_s) * change
        # When alpha rounds to 1 (a very long pause, a very high cutoff), previous + alpha * change
        # can land a rounding step past x: the clamp keeps every output a convex combination of
        # the inputs, as the filter promises.
        x_hat = np.maximum(np.minimum(x_hat, np.maximum(previous, x)), np.minimum(previous, x))
        return x_hat, speed

    def _state_starting_fresh_at(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(x_hat, dx_hat), where an element without state takes x and zero speed instead.

        Starting at its own value with zero speed makes such an element's output exactly its
        input. A NaN in x turns every quantity of its element NaN in _step: that is its reset.
        """
        fresh = np.isnan(self._x_hat)
        if not fresh.any():  # the usual case: skip two full-array selects
            return self._x_hat, self._dx_hat
        return np.where(fresh, x, self._x_hat), np.where(fresh, np.float32(0.0), self._dx_hat)


class PoseSmoother:
    """One Euro smoothing of a PoseFrame's landmarks: one OneEuroFilter per part.

    pose, pose_world, face, left_hand and right_hand are filtered by their own filters, on their
    x, y, z columns; the visibility column of pose and pose_world is passed through unfiltered (a
    confidence, not a position). Output blocks are float32 and read-only like the input. A part
    that is absent comes out absent (all-NaN) and its filter is reset, so when it reappears it
    starts fresh; a part whose point count changes (a face of 468 points, then 478) is reset too.

    The same parameters serve image landmarks (normalised units) and world landmarks (metres),
    unscaled: see __init__ for why.
    """

    def __init__(self, config: SmoothingConfig) -> None:
        # beta is not rescaled per unit. A person filling the frame spans about 1 normalised unit
        # and about 1.7 m, so a move's speed in the two units differs by a factor of ~1-2 only,
        # and any fixed factor would be wrong as soon as the person steps nearer or further (the
        # image scale changes with distance, metres do not). One parameter set, tuned by eye,
        # behaves alike enough on both and hides no distance-dependent guess.
        self._filters = {
            part: OneEuroFilter(config.min_cutoff_hz, config.beta, config.d_cutoff_hz)
            for part in skeleton.PART_NAMES
        }

    def reset(self) -> None:
        """Forget all parts' state (e.g. when the source changes)."""
        for part_filter in self._filters.values():
            part_filter.reset()

    def __call__(self, frame: PoseFrame) -> PoseFrame:
        """The frame with its landmarks smoothed (a new PoseFrame; the input is not changed)."""
        smoothed = {
            part: self._smooth_part(part, block, frame.timestamp_s)
            for part, block in frame.parts().items()
        }
        return frame.with_parts(smoothed)

    def _smooth_part(self, part: str, block: FloatArray, timestamp_s: float) -> FloatArray:
        part_filter = self._filters[part]
        # Checked in full, not with frames.is_present: a present part may have NaN points.
        if np.isnan(block).all():
            part_filter.reset()
            return block  # absent: all-NaN and read-only already, nothing to filter
        positions = block[:, :POSITION_CHANNELS]
        if part_filter.shape not in (None, positions.shape):
            part_filter.reset()
        filtered = part_filter(positions, timestamp_s)
        if block.shape[1] > POSITION_CHANNELS:
            filtered = np.concatenate((filtered, block[:, POSITION_CHANNELS:]), axis=1)
        filtered.flags.writeable = False
        return filtered
