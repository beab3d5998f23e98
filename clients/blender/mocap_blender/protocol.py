"""The messages of mocap's WebSocket stream, schema mocap.frame/1, as plain data. Pure: no bpy.

Parsing happens on the network thread, so the main thread only applies ready values. Fields are
kept in the stream's own spaces and orders (landmarks as MediaPipe gives them, bones in Unity's
space with quaternions x, y, z, w, ARKit weights by name); spaces.py converts them for Blender.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

SCHEMA = "mocap.frame/1"
LANDMARK_PARTS = ("pose", "pose_world", "face", "left_hand", "right_hand")

Point = tuple[float, ...]  # x, y, z (and visibility for pose and pose_world)
QuaternionXYZW = tuple[float, float, float, float]
Vector3 = tuple[float, float, float]

_NAN = float("nan")


class MessageError(ValueError):
    """A message that is not valid mocap.frame/1."""


@dataclass(frozen=True)
class Hello:
    """The first message: part sizes, the source, and names ("pose", "hand" landmarks; "arkit",
    the face weights' names, from servers that send them)."""

    parts: dict[str, int]
    names: dict[str, list[str]]
    source_size: tuple[int, int] | None
    source_fps: float


@dataclass(frozen=True)
class Frame:
    """One processed frame. t_s: seconds since the run started, on the source's clock.

    parts: landmark part name -> points, None when the part was not found. bones: bone name ->
    local rotation (Unity space, x y z w), empty when no solver runs; hips_position: the Hips
    bone's position (Unity space, metres), None without a solver. arkit: the face's ARKit
    blendshape weights by name ("eyeBlinkLeft": 0..1), None without a face or from a server that
    does not send them.
    """

    seq: int
    t_s: float
    size: tuple[int, int]
    parts: dict[str, list[Point] | None]
    bones: dict[str, QuaternionXYZW] = field(default_factory=dict)
    hips_position: Vector3 | None = None
    arkit: dict[str, float] | None = None


def parse_message(text: str) -> Hello | Frame | None:
    """A hello or frame message; None for any other type (a client ignores what it does not
    know). Raises MessageError for malformed JSON or a malformed hello or frame."""
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise MessageError(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise MessageError("a message that is not a JSON object")
    try:
        if message.get("type") == "hello":
            return _hello(message)
        if message.get("type") == "frame":
            return _frame(message)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise MessageError(f"a malformed {message.get('type')} message: {exc!r}") from None
    return None


def _hello(message: dict[str, Any]) -> Hello:
    if message.get("schema") != SCHEMA:
        raise MessageError(f"schema {message.get('schema')!r}, not {SCHEMA}")
    source = message.get("source") or {}
    width, height = source.get("width"), source.get("height")
    names = message.get("names") or {}
    return Hello(
        parts={str(k): int(v) for k, v in message["parts"].items()},
        names={key: [str(n) for n in names.get(key, [])] for key in ("pose", "hand", "arkit")},
        source_size=(int(width), int(height)) if width and height else None,
        source_fps=float(source.get("fps") or 0.0),
    )


def _frame(message: dict[str, Any]) -> Frame:
    width, height = message["size"]
    parts = {name: _points(message.get(name)) for name in LANDMARK_PARTS}
    bones: dict[str, QuaternionXYZW] = {}
    hips_position: Vector3 | None = None
    for name, value in (message.get("bones") or {}).items():
        rotation = value
        if isinstance(value, dict):  # Hips: {"rotation": [...], "position": [...]}
            hips_position = _vector3(value["position"])
            rotation = value["rotation"]
        bones[str(name)] = _quaternion(rotation)
    return Frame(
        seq=int(message["seq"]),
        t_s=float(message["t"]),
        size=(int(width), int(height)),
        parts=parts,
        bones=bones,
        hips_position=hips_position,
        arkit=_weights(message.get("arkit")),
    )


def _points(value: Any) -> list[Point] | None:
    if value is None:
        return None
    # The server writes NaN as null; a point holding one is skipped when applied (see is_finite).
    return [tuple(_NAN if c is None else float(c) for c in point) for point in value]


def _weights(value: Any) -> dict[str, float] | None:
    """{"eyeBlinkLeft": 0.1, ...}; a weight that is not a number (null) is left out."""
    if value is None:
        return None
    return {str(name): float(w) for name, w in value.items() if isinstance(w, int | float)}


def is_finite(point: Point) -> bool:
    return all(math.isfinite(c) for c in point)


def _quaternion(value: Any) -> QuaternionXYZW:
    x, y, z, w = (float(c) for c in value)
    return (x, y, z, w)


def _vector3(value: Any) -> Vector3:
    x, y, z = (float(c) for c in value)
    return (x, y, z)
