"""The WebSocket JSON messages of schema mocap.frame/1 (DESIGN.md section 5). Pure.

Frames are formatted from per-shape templates ("%.5f" per coordinate) instead of json.dumps over
nested lists: 2-3x faster for the ~1,500 floats of a frame, and fixed precision keeps messages
short. Five decimals are 1e-5 of the image (a tenth of a pixel at 8K) or 10 micrometres.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from mocap import skeleton
from mocap.frames import FloatArray, ImageSize, PoseFrame, is_present

SCHEMA = "mocap.frame/1"


@lru_cache(maxsize=32)
def block_template(rows: int, columns: int) -> str:
    """A %-format template for a (rows, columns) block as a JSON array of arrays."""
    row = "[" + ",".join(["%.5f"] * columns) + "]"
    return "[" + ",".join([row] * rows) + "]"


def block_json(block: FloatArray) -> str:
    """A landmark block as JSON: null when absent; a point with a NaN becomes null."""
    if not is_present(block):
        return "null"
    finite_rows = np.isfinite(block).all(axis=1)
    if finite_rows.all():
        rows, columns = block.shape
        return block_template(rows, columns) % tuple(block.ravel().tolist())
    # Rare (a part that smoothing reset point by point): exact but slower.
    points = [
        row if ok else None for row, ok in zip(block.tolist(), finite_rows.tolist(), strict=True)
    ]
    return json.dumps(points, separators=(",", ":"))


def encode_frame(
    frame: PoseFrame, seq: int, t_s: float, extra: Mapping[str, Any] | None = None
) -> str:
    """One frame message. t_s: seconds since the run started on the source's clock.

    extra: further top-level fields (the avatar solver's "bones" and "blendshapes"), JSON-ready.
    """
    size = frame.image_size
    head = f'{{"type":"frame","seq":{seq},"t":{t_s:.6f},"size":[{size.width},{size.height}]'
    parts = "".join(f',"{name}":{block_json(block)}' for name, block in frame.parts().items())
    tail = "" if not extra else "," + json.dumps(extra, separators=(",", ":"))[1:-1]
    return head + parts + tail + "}"


def encode_hello(
    source_size: ImageSize | None, source_fps: float, face_points: int, extra: Mapping[str, Any]
) -> str:
    """The first message every client gets: schema, part sizes, source, and what a client needs
    to draw (landmark names and connections)."""
    hello: dict[str, Any] = {
        "type": "hello",
        "schema": SCHEMA,
        "parts": {
            "pose": skeleton.POSE_POINTS,
            "pose_world": skeleton.POSE_POINTS,
            "face": face_points,
            "left_hand": skeleton.HAND_POINTS,
            "right_hand": skeleton.HAND_POINTS,
        },
        "source": {
            "width": source_size.width if source_size else None,
            "height": source_size.height if source_size else None,
            "fps": round(source_fps, 3),
        },
        "names": {"pose": skeleton.POSE_NAMES, "hand": skeleton.HAND_NAMES},
        "connections": {
            "pose": skeleton.POSE_CONNECTIONS,
            "hand": skeleton.HAND_CONNECTIONS,
            "face": skeleton.FACE_CONTOURS,
        },
        **extra,
    }
    return json.dumps(hello, separators=(",", ":"))
