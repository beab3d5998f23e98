"""MediaPipe's landmark lists -> a PoseFrame, for both backends. Pure: it reads attributes only.

Each backend hands over, per part (skeleton.PART_NAMES), the list of points it found (objects with
x, y, z and, for the pose, visibility) or None; a part's first count points are kept (the Tasks
face model always gives 478, of which the first 468 are the mesh). A backend whose own graph
scores the face's blendshapes hands over its categories (objects with category_name and score).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mocap import skeleton
from mocap.frames import FloatArray, ImageSize, PoseFrame, absent, absent_weights, frozen


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


def arkit_block(categories: Sequence[Any] | None) -> FloatArray:
    """The read-only ARKit weights (skeleton.ARKIT_NAMES order) of blendshape categories found by
    name (`_neutral` and any other name left out); none found -> all-NaN."""
    return arkit_weights({category.category_name: category.score for category in categories or ()})


def arkit_weights(scores: Mapping[str, float]) -> FloatArray:
    """The read-only ARKit weights (skeleton.ARKIT_NAMES order) of scores by category name;
    none -> all-NaN."""
    if not scores:
        return absent_weights(skeleton.ARKIT_COUNT)
    weights = np.array([scores[name] for name in skeleton.ARKIT_NAMES], dtype=np.float32)
    weights.flags.writeable = False
    return weights


def pose_frame(
    found: Mapping[str, Sequence[Any] | None],
    *,
    index: int,
    timestamp_s: float,
    source_size: ImageSize,
    face_points: int,
    blendshapes: Sequence[Any] | None = None,
) -> PoseFrame:
    """The frame of what a backend found, part by part; blendshapes: the face's categories when
    the backend scored them (arkit_block)."""
    blocks = {
        name: landmark_block(found[name], points, channels)
        for name, (points, channels) in skeleton.part_shapes(face_points).items()
    }
    return PoseFrame(
        index=index,
        timestamp_s=timestamp_s,
        image_size=source_size,
        arkit=arkit_block(blendshapes),
        **blocks,
    )
