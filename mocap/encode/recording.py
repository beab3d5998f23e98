"""The recording format, schema mocap.recording/1: lines of JSON, encoded and decoded. Pure.

A recording is UTF-8 text, one JSON object per line (gzip-compressed when its name ends in .gz):

- line 1, the header: `{"type": "header", "schema": "mocap.recording/1", "mocap_version",
  "started_utc", "source": {"description", "live", "fps"}, "parts": {"pose": 33, ...,
  "face": 478, ...}, "settings": {"model", "smoothing", "solver"}}` (`solver` is null when no
  solver ran);
- every further line, one frame: the WebSocket stream's frame message (mocap.frame/1, made by
  frame_json.encode_frame: `type`, `seq`, `t`, `size`, the five landmark parts, null when absent,
  `arkit` (the face's 51 ARKit weights by name, null without a face; a recording made before
  they existed has none, read as null), and `bones` and `blendshapes` when the solver ran)
  without `latency_ms`, plus `root`
  (`{"position": [x, y, z], "rotation": [x, y, z, w]}`, the avatar's root transform) when solved.

Values are rounded to frame_json.DECIMALS like the stream's, so a replay sends what a live client
received. A reader refuses a first line that is not a header of this schema (NotARecording) and
reports any other line it cannot decode (ValueError naming what is wrong) rather than guessing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from mocap import skeleton
from mocap.config import Config
from mocap.encode.frame_json import DECIMALS, avatar_fields, encode_frame
from mocap.encode.vmc import MAX_RELATIVE_TIME_S
from mocap.frames import FloatArray, ImageSize, PoseFrame, absent, absent_weights, frozen
from mocap.solve.avatar import AvatarFrame, Float64Array
from mocap.solve.humanoid import BONES, INDEX, REST_LOCAL_POSITIONS

SCHEMA = "mocap.recording/1"
_SCHEMA_FAMILY = "mocap.recording/"
_HIPS = INDEX["Hips"]
FALLBACK_INTERVAL_S = 1 / 30
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# What a frame line may hold: sizes an image can have, a seq a float can count to exactly, a
# source rate a camera can have, and as many expressions as any avatar has.
MAX_SIZE_PX = 65_535
MAX_SEQ = 1 << 53
MAX_FPS = 1000.0
MAX_BLENDSHAPES = 256
MAX_NAME_CHARS = 64


class NotARecording(ValueError):  # noqa: N818 - names what the line is not, like FrameRefused
    """The first line is not a header this reader understands."""


@dataclass(frozen=True)
class RecordingHeader:
    """What the header line says. settings: {"model", "smoothing", "solver"} as config tables
    (solver None when no solver ran during the recording)."""

    source_description: str
    source_live: bool
    source_fps: float
    face_points: int
    settings: Mapping[str, Any]
    mocap_version: str
    started_utc: str


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """One frame line: the run's seq and t (seconds since the run started, on the source's
    clock), the landmarks, and the solved avatar when the solver ran."""

    seq: int
    t_s: float
    pose: PoseFrame
    avatar: AvatarFrame | None


def recording_settings(config: Config) -> dict[str, Any]:
    """The settings that shaped the recorded values: model, smoothing, and the solver's (None
    when it did not run)."""
    return {
        "model": dataclasses.asdict(config.model),
        "smoothing": dataclasses.asdict(config.smoothing),
        "solver": dataclasses.asdict(config.solver) if config.solver_runs() else None,
    }


def mean_frame_interval_s(first_t_s: float, last_t_s: float, frames: int, fps: float) -> float:
    """The mean interval between recorded frames (a live run may publish fewer frames than its
    source's fps); 1/fps, or 1/30 s, when the frames cannot tell (one frame, no time between)."""
    if frames > 1 and last_t_s > first_t_s:
        return (last_t_s - first_t_s) / (frames - 1)
    return 1.0 / fps if fps > 0 else FALLBACK_INTERVAL_S


# --- encoding ----------------------------------------------------------------------------------


def encode_header(header: RecordingHeader) -> bytes:
    """The first line of a recording, newline included."""
    message = {
        "type": "header",
        "schema": SCHEMA,
        "mocap_version": header.mocap_version,
        "started_utc": header.started_utc,
        "source": {
            "description": header.source_description,
            "live": header.source_live,
            "fps": round(header.source_fps, 3),
        },
        "parts": {
            name: shape[0] for name, shape in skeleton.part_shapes(header.face_points).items()
        },
        "settings": header.settings,
    }
    return orjson.dumps(message, option=orjson.OPT_APPEND_NEWLINE)


def encode_frame_line(pose: PoseFrame, seq: int, t_s: float, avatar: AvatarFrame | None) -> bytes:
    """One frame's line, newline included: the stream's frame message (the same encoder), plus
    the avatar's root transform when the solver ran."""
    extra: dict[str, Any] = {}
    if avatar is not None:
        extra = avatar_fields(avatar)
        extra["root"] = {
            "position": avatar.root_position.round(DECIMALS).tolist(),
            "rotation": avatar.root_rotation.round(DECIMALS).tolist(),
        }
    return (encode_frame(pose, seq, t_s, extra) + "\n").encode()


# --- decoding ----------------------------------------------------------------------------------


def decode_header(line: bytes) -> RecordingHeader:
    """The header line, or NotARecording saying why it is not one."""
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise NotARecording("its first line is not JSON") from None
    if not isinstance(message, dict) or message.get("type") != "header":
        raise NotARecording("its first line is not a mocap recording header")
    schema = message.get("schema")
    if schema != SCHEMA:
        if isinstance(schema, str) and schema.startswith(_SCHEMA_FAMILY):
            raise NotARecording(f"it is a {schema} recording; this mocap reads {SCHEMA}")
        raise NotARecording(f"its header names the schema {schema!r}, not {SCHEMA}")
    try:
        source, parts = message["source"], message["parts"]
        return RecordingHeader(
            source_description=str(source["description"]),
            source_live=bool(source["live"]),
            source_fps=_fps(source["fps"]),
            face_points=_face_points(parts["face"]),
            settings=dict(message["settings"]),
            mocap_version=str(message["mocap_version"]),
            started_utc=str(message["started_utc"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise NotARecording(f"its header is incomplete ({_reason(exc)})") from None


def _fps(value: Any) -> float:
    fps = float(value)  # a TypeError or ValueError is the header's problem
    if not 0.0 <= fps <= MAX_FPS:  # NaN too
        raise ValueError(f"source fps {value!r} is not a frame rate")
    return fps


def _face_points(value: object) -> int:
    if not isinstance(value, int) or value not in (
        skeleton.FACE_POINTS,
        skeleton.FACE_POINTS_REFINED,
    ):
        raise ValueError(f"face has {value!r} points")
    return value


def decode_frame_line(line: bytes, face_points: int) -> RecordedFrame:
    """A frame line, or ValueError naming what is wrong with it."""
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise ValueError("not JSON (cut short or corrupt)") from None
    if not isinstance(message, dict) or message.get("type") != "frame":
        raise ValueError("not a frame")
    try:
        seq, t_s = message["seq"], message["t"]
        if not isinstance(seq, int) or not isinstance(t_s, (int, float)) or not 0 <= seq < MAX_SEQ:
            raise ValueError("seq or t is not a number")
        if not 0.0 <= t_s < MAX_RELATIVE_TIME_S:
            raise ValueError(f"t={t_s!r} is not seconds since the run started")
        width, height = _size(message["size"])
        parts = {
            name: _block(message[name], *shape)
            for name, shape in skeleton.part_shapes(face_points).items()
        }
        pose = PoseFrame(
            index=seq,
            timestamp_s=float(t_s),
            image_size=ImageSize(width, height),
            arkit=_arkit(message.get("arkit")),
            **parts,
        )
        avatar = _avatar(message) if message.get("bones") is not None else None
    except KeyError as exc:
        raise ValueError(f"no {exc.args[0]!r}") from None
    except (AttributeError, TypeError, ValueError) as exc:  # a value of the wrong kind or shape
        raise ValueError(_reason(exc)) from None
    return RecordedFrame(seq, float(t_s), pose, avatar)


def _size(value: object) -> tuple[int, int]:
    """[width, height] in pixels, whole numbers an image can have."""
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(side, int) and 0 <= side <= MAX_SIZE_PX for side in value)
    ):
        raise ValueError(f"size {value!r} is not [width, height] in pixels")
    return value[0], value[1]


def _block(value: object, count: int, channels: int) -> FloatArray:
    """A landmark part as the pipeline had it: all-NaN when null (null values inside stay NaN)."""
    if value is None:
        return absent(count, channels)
    values = np.array(value, dtype=np.float64)
    if (np.abs(values) > _FLOAT32_MAX).any():  # NaN compares False: it stays
        raise ValueError("a landmark value is out of range")
    return frozen(values, count, channels)


def _arkit(value: object) -> FloatArray:
    """The ARKit weights: all-NaN when null (or not recorded), else every one of the 51 names
    with a number in 0..1."""
    if value is None:
        return absent_weights(skeleton.ARKIT_COUNT)
    if not isinstance(value, dict) or set(value) != set(skeleton.ARKIT_NAMES):
        raise ValueError(f"arkit is not a table of the {skeleton.ARKIT_COUNT} ARKit weights")
    weights = [value[name] for name in skeleton.ARKIT_NAMES]
    if not all(isinstance(w, (int, float)) and not isinstance(w, bool) for w in weights):
        raise ValueError("an arkit weight is not a number")
    values = np.array(weights, dtype=np.float64)  # checked before float32 could overflow
    if not ((values >= 0.0) & (values <= 1.0)).all():  # NaN compares False: refused too
        raise ValueError("an arkit weight is not in 0..1")
    array = values.astype(np.float32)
    array.flags.writeable = False
    return array


def _avatar(message: Mapping[str, Any]) -> AvatarFrame:
    """The solved avatar: bones in humanoid.BONES order; the local positions are the rest pose's
    but for the Hips, as the solver makes them (AvatarFrame)."""
    bones = message["bones"]
    rotations = _finite(
        [bones[name]["rotation"] if name == "Hips" else bones[name] for name in BONES], (-1, 4)
    )
    positions = REST_LOCAL_POSITIONS.copy()
    positions[_HIPS] = _finite(bones["Hips"]["position"], (3,))
    root = message.get("root") or {"position": [0.0, 0.0, 0.0], "rotation": [0.0, 0.0, 0.0, 1.0]}
    blendshapes = _blendshapes(message["blendshapes"])
    for array in (rotations, positions):
        array.flags.writeable = False
    return AvatarFrame(
        bone_names=BONES,
        local_positions=positions,
        local_rotations=rotations,
        root_position=_finite(root["position"], (3,)),
        root_rotation=_finite(root["rotation"], (4,)),
        blendshapes=blendshapes,
    )


def _blendshapes(value: object) -> dict[str, float]:
    if not isinstance(value, dict) or len(value) > MAX_BLENDSHAPES:
        raise ValueError(f"blendshapes are not a table of up to {MAX_BLENDSHAPES} weights")
    names = [str(name) for name in value]
    if any(len(name) > MAX_NAME_CHARS for name in names):
        raise ValueError(f"a blendshape name is longer than {MAX_NAME_CHARS} characters")
    weights = _finite(list(value.values()), (len(value),))
    return dict(zip(names, weights.tolist(), strict=True))


def _finite(value: object, shape: tuple[int, ...]) -> Float64Array:
    """Finite numbers a float32 can hold (OSC and VMC send float32), in the given shape."""
    array = np.array(value, dtype=np.float64).reshape(shape)
    if not np.isfinite(array).all() or (np.abs(array) > _FLOAT32_MAX).any():
        raise ValueError("the avatar has a value that is not a finite number within float32 range")
    return array


def _reason(exc: Exception) -> str:
    """A short reason from a conversion error (its message, or its kind when it has none)."""
    return str(exc) or type(exc).__name__
