"""MediaPipe's landmark lists -> a PoseFrame, for both backends. Pure: it reads attributes only.

Each backend hands over, per part (skeleton.PART_NAMES), the list of points it found (objects with
x, y, z and, for the pose, visibility) or None; a part's first count points are kept (the Tasks
face model always gives 478, of which the first 468 are the mesh).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mocap import skeleton
from mocap.frames import FloatArray, ImageSize, PoseFrame, absent, frozen


def landmark_block(points: Sequence[Any] | None, count: int, channels: int) -> FloatArray:
    """A read-only (count, channels) block: x, y, z (and visibility); none found -> all-NaN."""
    if not points:
        return absent(count, channels)
    rows: list[tuple[float, ...]]
    if channels == 4:
        rows = [(p.x, p.y, p.z, p.visibility) for p in points[:count]]
    else:
        rows = [(p.x, p.y, p.z) for p in points[:count]]
    return frozen(rows, count, channels)


def pose_frame(
    found: Mapping[str, Sequence[Any] | None],
    *,
    index: int,
    timestamp_s: float,
    source_size: ImageSize,
    face_points: int,
) -> PoseFrame:
    """The frame of what a backend found, part by part."""
    blocks = {
        name: landmark_block(found[name], points, channels)
        for name, (points, channels) in skeleton.part_shapes(face_points).items()
    }
    return PoseFrame(index=index, timestamp_s=timestamp_s, image_size=source_size, **blocks)
