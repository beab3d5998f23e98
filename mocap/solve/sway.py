"""Hip sway: a bounded translation of the Hips from how the body moves in the image. Pure.

MediaPipe's world landmarks are centred on the hips, so they carry no translation: an avatar
driven by them stands nailed to one spot. The image does show the hips moving (a weight shift, a
bounce, a lean from the waist), in pixels. HipSway turns that motion into metres with the body's
own scale (the shoulders' width in the world over their width in the image), measures it from a
slowly following centre (so a user who steps aside is re-centred over a few seconds instead of
walking the avatar out of its scene), and bounds it softly (limit_m * tanh(offset / limit_m)):
liveliness, never a jump. Offsets are in Unity's axes on the subject's own sides (+X the
subject's right, +Y up); the solver mirrors them with the rest of the avatar.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from mocap.frames import ImageSize

LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 11, 12, 23, 24
MIN_VISIBILITY = 0.5
CENTRE_TIME_CONSTANT_S = 2.0  # how slowly the centre follows the body
LOST_TIME_CONSTANT_S = 0.3  # how fast the sway fades when the hips are not seen
MIN_SHOULDERS_PX = 8.0  # narrower is no body to take a scale from


class HipSway:
    def __init__(self, limit_m: float) -> None:
        self._limit_m = limit_m
        self._centre_px: tuple[float, float] | None = None
        self._offset_m = (0.0, 0.0)
        self._previous_s: float | None = None

    def __call__(
        self,
        pose: Sequence[Sequence[float]],
        pose_world: Sequence[Sequence[float]],
        image_size: ImageSize,
        timestamp_s: float,
    ) -> tuple[float, float]:
        """The Hips' offset (x, y) in metres for this frame. pose, pose_world: the frame's image
        and world landmarks as rows (x, y, z, visibility)."""
        elapsed_s = 0.0 if self._previous_s is None else max(timestamp_s - self._previous_s, 0.0)
        self._previous_s = timestamp_s
        measured = _hips_and_scale(pose, pose_world, image_size)
        if measured is None:
            fade = math.exp(-elapsed_s / LOST_TIME_CONSTANT_S)
            self._offset_m = (self._offset_m[0] * fade, self._offset_m[1] * fade)
            self._centre_px = None  # a reappearing body starts from where it is
            return self._offset_m
        (hips_x_px, hips_y_px), metres_per_px = measured
        if self._centre_px is None:
            self._centre_px = (hips_x_px, hips_y_px)
        follow = 1.0 - math.exp(-elapsed_s / CENTRE_TIME_CONSTANT_S)
        centre_x, centre_y = self._centre_px
        centre_x += (hips_x_px - centre_x) * follow
        centre_y += (hips_y_px - centre_y) * follow
        self._centre_px = (centre_x, centre_y)
        # Image right is the subject's left (-X); image down is -Y.
        raw = (-(hips_x_px - centre_x) * metres_per_px, -(hips_y_px - centre_y) * metres_per_px)
        self._offset_m = (self._bounded(raw[0]), self._bounded(raw[1]))
        return self._offset_m

    def _bounded(self, offset_m: float) -> float:
        return self._limit_m * math.tanh(offset_m / self._limit_m)


def _hips_and_scale(
    pose: Sequence[Sequence[float]], pose_world: Sequence[Sequence[float]], size: ImageSize
) -> tuple[tuple[float, float], float] | None:
    """The hips' midpoint in pixels and the body's metres per pixel; None when the hips or the
    shoulders are not seen well enough."""
    points = (LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP)
    rows = [pose[i] for i in points] + [pose_world[i] for i in points]
    if not all(math.isfinite(value) for row in rows for value in row):
        return None
    if min(pose[i][3] for i in points) < MIN_VISIBILITY:
        return None
    left, right = pose[LEFT_SHOULDER], pose[RIGHT_SHOULDER]
    shoulders_px = math.hypot((left[0] - right[0]) * size.width, (left[1] - right[1]) * size.height)
    shoulders_m = math.dist(pose_world[LEFT_SHOULDER][:3], pose_world[RIGHT_SHOULDER][:3])
    if shoulders_px < MIN_SHOULDERS_PX:
        return None
    hips_x = 0.5 * (pose[LEFT_HIP][0] + pose[RIGHT_HIP][0]) * size.width
    hips_y = 0.5 * (pose[LEFT_HIP][1] + pose[RIGHT_HIP][1]) * size.height
    return (hips_x, hips_y), shoulders_m / shoulders_px
