"""The WebSocket JSON messages of schema mocap.frame/1 (DESIGN.md section 5). Pure.

orjson writes the numpy blocks directly: about 0.1 ms for the ~1,500 floats of a frame, a fifth
of json.dumps over nested lists. Values are rounded to five decimals first (1e-5 of the image, a
tenth of a pixel at 8K, or 10 micrometres), which also keeps messages short. orjson writes NaN as
null, so an absent part (all-NaN) is sent as null and the message is always valid JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from mocap import skeleton
from mocap.frames import FloatArray, ImageSize, PoseFrame, is_present
from mocap.solve.avatar import AvatarFrame

SCHEMA = "mocap.frame/1"
DECIMALS = 5
WEIGHT_DECIMALS = 4  # blendshape weights in 0..1: 1e-4 is far below what a face shows


def block_value(block: FloatArray) -> FloatArray | None:
    """A landmark block ready for orjson: None when absent, else rounded (NaN stays null)."""
    return np.round(block, DECIMALS) if is_present(block) else None


def arkit_value(weights: FloatArray) -> dict[str, float] | None:
    """The ARKit weights by name (skeleton.ARKIT_NAMES order), rounded like the avatar's
    blendshapes; None without a face (all-NaN)."""
    if np.isnan(weights).any():
        return None
    rounded = np.round(weights.astype(np.float64), WEIGHT_DECIMALS)  # 0.9338, not 0.93379998
    return dict(zip(skeleton.ARKIT_NAMES, rounded.tolist(), strict=True))


def frame_fields(frame: PoseFrame) -> dict[str, Any]:
    """The frame's size, landmark blocks and ARKit weights, as the fields of a message
    (orjson-ready)."""
    fields: dict[str, Any] = {"size": [frame.image_size.width, frame.image_size.height]}
    for name, block in frame.parts().items():
        fields[name] = block_value(block)
    fields["arkit"] = arkit_value(frame.arkit)
    return fields


def avatar_fields(avatar: AvatarFrame) -> dict[str, Any]:
    """The frame message's "bones" (name: [x, y, z, w], plus "position" for Hips) and
    "blendshapes" (name: weight), rounded like the landmarks."""
    rotations = avatar.local_rotations.round(DECIMALS).tolist()
    bones: dict[str, Any] = dict(zip(avatar.bone_names, rotations, strict=True))
    if "Hips" in bones:
        hips_position = avatar.local_positions[avatar.bone_names.index("Hips")]
        bones["Hips"] = {
            "rotation": bones["Hips"], "position": hips_position.round(DECIMALS).tolist()
        }  # fmt: skip
    blendshapes = {
        name: round(weight, WEIGHT_DECIMALS) for name, weight in avatar.blendshapes.items()
    }
    return {"bones": bones, "blendshapes": blendshapes}


def encode_frame(
    frame: PoseFrame, seq: int, t_s: float, extra: Mapping[str, Any] | None = None
) -> str:
    """One frame message. t_s: seconds since the run started on the source's clock.

    extra: further top-level fields (the avatar solver's "bones" and "blendshapes"), JSON-ready.
    """
    message: dict[str, Any] = {"type": "frame", "seq": seq, "t": round(t_s, 6)}
    message.update(frame_fields(frame))
    if extra:
        message.update(extra)
    return orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def encode_photo(frame: PoseFrame, file_name: str) -> str:
    """The landmarks found in one photo: the frame's fields and the photo's file name."""
    message: dict[str, Any] = {"type": "photo", "file": file_name}
    message.update(frame_fields(frame))
    return orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def encode_hello(source_size: ImageSize | None, source_fps: float, face_points: int) -> str:
    """The first message every client gets: schema, part sizes, source, and what a client needs
    to draw (landmark names and connections)."""
    hello: dict[str, Any] = {
        "type": "hello",
        "schema": SCHEMA,
        "parts": {name: points for name, (points, _) in skeleton.part_shapes(face_points).items()},
        "source": {
            "width": source_size.width if source_size else None,
            "height": source_size.height if source_size else None,
            "fps": round(source_fps, 3),
        },
        "names": {
            "pose": skeleton.POSE_NAMES,
            "hand": skeleton.HAND_NAMES,
            "arkit": skeleton.ARKIT_NAMES,
        },
        "connections": {
            "pose": skeleton.POSE_CONNECTIONS,
            "hand": skeleton.HAND_CONNECTIONS,
            "face": skeleton.FACE_CONTOURS,
        },
    }
    return orjson.dumps(hello).decode()
