"""Prediction for paced outputs: the pose at any moment from the latest solved frames.

A paced output (mocap.publish.paced) sends at its own rate, faster than inference, so each send
needs the pose for its own time. First the rotation filter's own lag is made up: the last frame is
turned on by the lag it carries (AvatarFrame.lag_rad; mocap.solve.filter: zero at rest, never past
the solver's own rotation). From the last two frames each bone has an angular velocity (in its own
frame: previous^-1 * last as a rotation vector per second); the pose at t is the last frame,
caught up, turned on along it for lead(t - t_last):
- up to one frame interval past the last frame, the lead is the elapsed time (constant-speed
  motion goes on evenly, no stair steps);
- from one to two intervals it eases off (the velocity falls smoothly to zero), so that input
  that stops coming settles into a hold at most 1.5 intervals ahead, never running on;
- before the last frame (a send that falls between the two frames) it goes back along the same
  arc: interpolation;
- it never turns a bone more than MAX_LEAD_RAD past the last frame.
Expression weights are interpolated between the two frames one interval behind (they change too
fast and too unevenly for a velocity to mean anything), never extrapolated; so are the world
landmarks (VRChat's tracker positions), which reach the outputs unfiltered: a velocity from two
noisy frames would throw their noise forward.

Each sent quaternion is kept in the hemisphere of the one sent before it for the same bone, so a
receiver that interpolates never takes the long way round. A lost part needs nothing special:
the solver holds it (velocity zero) then eases it to rest, and the prediction follows. Pure.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from mocap.solve import batched
from mocap.solve.avatar import AvatarFrame
from mocap.solve.face import EXPRESSIONS

Array = npt.NDArray[np.float64]

MAX_GAP_S = 0.5  # frames further apart than this are not one motion: no velocity across them
# No bone runs on more than this past its last frame: the filtered frames never overshoot a stop,
# so neither do the sends by more than this; and a jump between two frames (a glitch, a replay
# starting over) is not thrown on.
MAX_LEAD_RAD = math.radians(5.0)
# The frame interval follows the measured one at this rate per frame (a jittery source, a
# dropped frame, do not swing the horizon).
_INTERVAL_FOLLOW = 0.1


def lead_s(elapsed_s: float, interval_s: float) -> float:
    """How far along its velocity the pose runs elapsed_s after the last frame: elapsed_s up to
    one interval (down to minus one), then easing to a stop at 1.5 intervals. No interval yet
    (one frame so far): no lead."""
    if interval_s <= 0.0:
        return 0.0
    if elapsed_s <= interval_s:
        return max(elapsed_s, -interval_s)
    beyond_s = min(elapsed_s - interval_s, interval_s)
    return interval_s + beyond_s - beyond_s * beyond_s / (2.0 * interval_s)


class Predictor:
    """The last two solved frames, and the pose they imply at any time."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._last: AvatarFrame | None = None
        self._caught_up = np.zeros((1, 4))  # the last frame's rotations turned on by its lag
        self._last_t_s = 0.0
        self._weights = _Between()
        self._world = _Between()
        self._velocities = np.zeros((1, 3))  # rad/s per bone; one row until two frames came
        self._interval_s = 0.0
        self._sent: Array | None = None

    @property
    def ready(self) -> bool:
        return self._last is not None

    def add(
        self, t_s: float, avatar: AvatarFrame, pose_world: npt.NDArray[Any] | None = None
    ) -> None:
        """A new solved frame at t_s (the source's clock), and its world landmarks when the
        output sends positions from them. Time going back starts over."""
        weights = np.array([avatar.blendshapes[name] for name in EXPRESSIONS])
        last, dt_s = self._last, t_s - self._last_t_s
        if last is not None and t_s < self._last_t_s:
            self.reset()
            last = None
        one_motion = last is not None and 0.0 < dt_s <= MAX_GAP_S
        if not one_motion:
            self._velocities = np.zeros((len(avatar.bone_names), 3))
        else:
            assert last is not None
            step = batched.turn_from(last.local_rotations, avatar.local_rotations)
            self._velocities = batched.log(step) / dt_s
            self._interval_s = (
                dt_s
                if self._interval_s == 0.0
                else self._interval_s + _INTERVAL_FOLLOW * (dt_s - self._interval_s)
            )
        self._weights.add(weights, one_motion)
        if pose_world is not None:
            self._world.add(pose_world, one_motion)
        self._last, self._last_t_s = avatar, t_s
        self._caught_up = (
            avatar.local_rotations
            if avatar.lag_rad is None
            else batched.multiply(avatar.local_rotations, batched.exp(avatar.lag_rad))
        )

    def at(self, t_s: float, ahead_s: float = 0.0) -> AvatarFrame:
        """The pose predicted for t_s. Only once ready. ahead_s: latency compensation, a lead
        on top of the bounded one (see lead_latency in mocap.publish.paced): the prediction
        runs ahead_s further at the last velocity, beyond MAX_LEAD_RAD's bound."""
        last = self._last
        assert last is not None
        turns = self._velocities * lead_s(t_s - ahead_s - self._last_t_s, self._interval_s)
        angles = batched.angles_rad(turns)
        turns *= (MAX_LEAD_RAD / np.maximum(angles, MAX_LEAD_RAD))[:, None]
        if ahead_s > 0.0:
            turns += self._velocities * ahead_s
        rotations = batched.multiply(self._caught_up, batched.exp(turns))
        if self._sent is not None:
            rotations = batched.near(rotations, self._sent)
        self._sent = rotations
        rotations.flags.writeable = False
        return AvatarFrame(
            bone_names=last.bone_names,
            local_positions=last.local_positions,
            local_rotations=rotations,
            root_position=last.root_position,
            root_rotation=last.root_rotation,
            blendshapes=dict(zip(EXPRESSIONS, self._weights_at(t_s).tolist(), strict=True)),
            arkit=last.arkit,  # the last frame's: a send never invents a face's weights
        )

    def pose_world_at(self, t_s: float) -> npt.NDArray[Any] | None:
        """The world landmarks one interval behind t_s, on the line from the previous frame's
        to the last's (the last's where either lacks a point); None before any came."""
        return self._world.at(self._fraction(t_s))

    def _weights_at(self, t_s: float) -> Array:
        weights = self._weights.at(self._fraction(t_s))
        assert weights is not None  # every frame adds its weights
        return weights

    def _fraction(self, t_s: float) -> float:
        """How far t_s is along the way from the previous frame to the last, one interval
        behind: 0 at the last frame's time, 1 an interval later (held at either end)."""
        if self._interval_s == 0.0:
            return 1.0
        return min(max((t_s - self._last_t_s) / self._interval_s, 0.0), 1.0)


class _Between:
    """The previous and last frames' values of one quantity, for what lies between them."""

    def __init__(self) -> None:
        self._previous: npt.NDArray[Any] | None = None
        self._last: npt.NDArray[Any] | None = None

    def add(self, values: npt.NDArray[Any], one_motion: bool) -> None:
        """The new frame's values; one_motion: it continues the last frame (else none before
        it counts)."""
        self._previous = self._last if one_motion and self._last is not None else values
        self._last = values

    def at(self, fraction: float) -> npt.NDArray[Any] | None:
        previous, last = self._previous, self._last
        if previous is None or last is None:
            return last
        mixed = previous + fraction * (last - previous)
        return np.where(np.isfinite(mixed), mixed, last)


class SourceClock:
    """Maps time.monotonic() to the source's clock for sends between frames: each frame gives
    an offset (its t minus when it reached the sender); the clock follows them slowly, so one
    late frame does not make the sends' times jump, and jumps to a new offset when the source's
    clock moves by more than MAX_GAP_S. Times it gives always increase."""

    FOLLOW = 0.05  # of the difference per frame

    def __init__(self) -> None:
        self._offset_s: float | None = None
        self._given_s = -np.inf

    def observe(self, t_s: float, arrived_monotonic_s: float) -> None:
        offset_s = t_s - arrived_monotonic_s
        if self._offset_s is None or abs(offset_s - self._offset_s) > MAX_GAP_S:
            self._offset_s = offset_s
        else:
            self._offset_s += self.FOLLOW * (offset_s - self._offset_s)

    def at(self, monotonic_s: float) -> float:
        """The source's time at monotonic_s; only after observe()."""
        assert self._offset_s is not None
        # At least the next float32 above the last time given: /VMC/Ext/T and OSC's `t` are
        # float32, and they must rise too.
        next_sendable_s = float(np.nextafter(np.float32(self._given_s), np.float32(np.inf)))
        t_s = max(monotonic_s + self._offset_s, next_sendable_s)
        self._given_s = t_s
        return t_s
