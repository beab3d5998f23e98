"""Calibration: one user's neutral pose and face, measured once and applied to every frame. Pure.

A take of a neutral pose (standing or sitting upright, facing the camera, eyes open looking ahead,
mouth relaxed) gives:

- the camera's pitch and roll, from the torso's up direction (hips' midpoint to shoulders'
  midpoint) in the world landmarks, which are in the camera's axes: an upright torso leans back
  or forward by the camera's pitch and sideways by its roll. The solver turns every frame's world
  landmarks, hands and head by the inverse (`level`), so a pitched camera no longer bends the
  spine and legs;
- the face's baseline (mocap.solve.face.FaceBaseline): each eye's open lid gap / width, the
  mouth's width and corner height, the brows' height, which expressions are then read against.

Each is the median over the take's frames. The file, schema mocap.calibration/1, is small JSON:

    {"schema": "mocap.calibration/1", "mocap_version": "...", "created_utc": "...",
     "source": "...", "frames": 75,
     "camera": {"pitch_deg": 14.8, "roll_deg": -0.6},
     "face": {"eye_open_ratio": {"right": 0.29, "left": 0.30}, "mouth_width_cm": 5.4,
              "mouth_corner_lift_cm": 0.2, "brow_height_cm": 2.5, "arkit_smile": 0.04}}

camera.pitch_deg > 0: the camera looks down at the user; camera.roll_deg > 0: the camera is
turned counterclockwise (as its user sees it from behind), so that an upright body leans toward
the image's right. face is null when no face was seen in the take (the expressions then adapt
while running). arkit_smile is the neutral face's smile weight (mocap.solve.arkit.smile_weight,
which Joy is read against), null when the take had no ARKit weights; files without it read as
null. brow_height_cm is recorded for receivers and later use: no VRM0 expression reads
the brows yet.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson

from mocap.errors import MocapError
from mocap.frames import PoseFrame
from mocap.solve import scalar
from mocap.solve.arkit import measured_arkit
from mocap.solve.face import FaceBaseline, neutral_face
from mocap.solve.scalar import Mat3, Quat, Vec3
from mocap.solve.spaces import rows_to_unity

SCHEMA = "mocap.calibration/1"
# An upright torso leaning more than this is not a neutral pose (or not an upright camera).
MAX_CAMERA_TILT_DEG = 45.0
_SHOULDERS, _HIPS = (11, 12), (23, 24)
_FACE_KEYS = ("eye_open_ratio", "mouth_width_cm", "mouth_corner_lift_cm", "brow_height_cm")


class CalibrationError(MocapError):
    """A calibration file that cannot be used: the user's input, so exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class Calibration:
    camera_pitch_deg: float
    camera_roll_deg: float
    face: FaceBaseline | None
    frames: int  # how many frames of the take showed a person
    source: str = ""  # what the take was measured on, for people reading the file

    @cached_property
    def level(self) -> Mat3:
        """The rotation (rows, Unity axes) that takes the camera's axes to level ones: undo the
        roll about the camera's forward axis, then the pitch about its x axis."""
        pitch, roll = math.radians(self.camera_pitch_deg), math.radians(self.camera_roll_deg)
        cos_p, sin_p, cos_r, sin_r = (
            math.cos(pitch),
            math.sin(pitch),
            math.cos(roll),
            math.sin(roll),
        )
        # The point reflection between MediaPipe's axes and Unity's commutes with rotations:
        # the same matrix levels both.
        unroll = ((cos_r, sin_r, 0.0), (-sin_r, cos_r, 0.0), (0.0, 0.0, 1.0))
        unpitch = ((1.0, 0.0, 0.0), (0.0, cos_p, sin_p), (0.0, -sin_p, cos_p))
        return _product(unpitch, unroll)

    @cached_property
    def level_rotation(self) -> Quat:
        return scalar.matrix_to_quaternion(self.level)

    def summary(self) -> str:
        face = "face baseline" if self.face is not None else "no face (expressions adapt)"
        return (
            f"camera pitch {self.camera_pitch_deg:.1f} deg, roll {self.camera_roll_deg:.1f} deg, "
            f"{face}, from {self.frames} frames"
        )


def _product(a: Mat3, b: Mat3) -> Mat3:
    columns = scalar.transposed(b)
    return (
        (scalar.dot(a[0], columns[0]), scalar.dot(a[0], columns[1]), scalar.dot(a[0], columns[2])),
        (scalar.dot(a[1], columns[0]), scalar.dot(a[1], columns[1]), scalar.dot(a[1], columns[2])),
        (scalar.dot(a[2], columns[0]), scalar.dot(a[2], columns[1]), scalar.dot(a[2], columns[2])),
    )


# --- measuring a take --------------------------------------------------------------------------


def measure(frames: Sequence[PoseFrame], source: str = "") -> Calibration:
    """The calibration of a take of a neutral pose; MocapError when no frame shows a person, or
    the torso leans too far to be upright (the take was not a neutral pose)."""
    ups = [up for up in (_torso_up(frame) for frame in frames) if up is not None]
    if not ups:
        raise MocapError(
            f"no person was seen in the {len(frames)} frames of the take: stand or sit upright, "
            "facing the camera, and calibrate again"
        )
    pitch_deg = statistics.median(
        math.degrees(math.asin(min(max(z, -1.0), 1.0))) for _, _, z in ups
    )
    roll_deg = statistics.median(math.degrees(math.atan2(-x, y)) for x, y, _ in ups)
    if max(abs(pitch_deg), abs(roll_deg)) > MAX_CAMERA_TILT_DEG:
        raise MocapError(
            f"the torso leans {pitch_deg:.0f} deg forward and {roll_deg:.0f} deg sideways: not "
            f"an upright neutral pose (at most {MAX_CAMERA_TILT_DEG:.0f} deg); calibrate again"
        )
    faces = [
        face
        for face in (neutral_face(f.face, f.image_size, measured_arkit(f.arkit)) for f in frames)
        if face
    ]
    return Calibration(pitch_deg, roll_deg, _median_face(faces), len(ups), source)


def _torso_up(frame: PoseFrame) -> Vec3 | None:
    """The unit direction from the hips' midpoint to the shoulders' midpoint, Unity axes."""
    rows = frame.pose_world.tolist()
    if not scalar.all_finite(rows):
        return None
    points = rows_to_unity(rows, (1.0, 1.0, 1.0))
    shoulders = scalar.lerp(points[_SHOULDERS[0]], points[_SHOULDERS[1]], 0.5)
    hips = scalar.lerp(points[_HIPS[0]], points[_HIPS[1]], 0.5)
    return scalar.unit(scalar.sub(shoulders, hips))


def _median_face(faces: Sequence[FaceBaseline]) -> FaceBaseline | None:
    if not faces:
        return None
    return FaceBaseline(
        eye_open_ratios=(
            statistics.median(face.eye_open_ratios[0] for face in faces),
            statistics.median(face.eye_open_ratios[1] for face in faces),
        ),
        mouth_width_cm=statistics.median(face.mouth_width_cm for face in faces),
        mouth_corner_lift_cm=statistics.median(face.mouth_corner_lift_cm for face in faces),
        brow_height_cm=statistics.median(face.brow_height_cm for face in faces),
        smile_weight=_median_or_none([face.smile_weight for face in faces]),
    )


def _median_or_none(values: Sequence[float | None]) -> float | None:
    """The median of the values measured, None when none was."""
    measured = [value for value in values if value is not None]
    return statistics.median(measured) if measured else None


# --- the file ----------------------------------------------------------------------------------


def encode(calibration: Calibration, *, version: str, created_utc: str) -> bytes:
    face = calibration.face
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "mocap_version": version,
        "created_utc": created_utc,
        "source": calibration.source,
        "frames": calibration.frames,
        "camera": {
            "pitch_deg": round(calibration.camera_pitch_deg, 3),
            "roll_deg": round(calibration.camera_roll_deg, 3),
        },
        "face": None
        if face is None
        else {
            "eye_open_ratio": {
                "right": round(face.eye_open_ratios[0], 4),
                "left": round(face.eye_open_ratios[1], 4),
            },
            "mouth_width_cm": round(face.mouth_width_cm, 3),
            "mouth_corner_lift_cm": round(face.mouth_corner_lift_cm, 3),
            "brow_height_cm": round(face.brow_height_cm, 3),
            "arkit_smile": None if face.smile_weight is None else round(face.smile_weight, 4),
        },
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def decode(data: bytes) -> Calibration:
    """A calibration file's contents; ValueError naming what is wrong."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    if document.get("schema") != SCHEMA:
        raise ValueError(f"its schema is {document.get('schema')!r}, not {SCHEMA}")
    camera = _table(document, "camera")
    pitch_deg, roll_deg = _number(camera, "pitch_deg"), _number(camera, "roll_deg")
    if max(abs(pitch_deg), abs(roll_deg)) > MAX_CAMERA_TILT_DEG:
        raise ValueError(f"camera pitch and roll must be within {MAX_CAMERA_TILT_DEG:g} deg")
    frames = document.get("frames")
    if not isinstance(frames, int) or isinstance(frames, bool) or frames < 1:
        raise ValueError("'frames' must be a whole number >= 1")
    source = document.get("source", "")
    return Calibration(
        pitch_deg,
        roll_deg,
        None if document.get("face") is None else _face(_table(document, "face")),
        frames,
        source if isinstance(source, str) else "",
    )


def _face(table: Mapping[str, Any]) -> FaceBaseline:
    missing = [key for key in _FACE_KEYS if key not in table]
    if missing:
        raise ValueError(f"'face' lacks {', '.join(missing)}")
    ratios = _table(table, "eye_open_ratio", "face.")
    right, left = (
        _number(ratios, "right", "face.eye_open_ratio."),
        _number(ratios, "left", "face.eye_open_ratio."),
    )
    if not (0.0 < right < 1.0 and 0.0 < left < 1.0):
        raise ValueError("face.eye_open_ratio's right and left must be between 0 and 1")
    width_cm = _number(table, "mouth_width_cm", "face.")
    if width_cm <= 0.0:
        raise ValueError("face.mouth_width_cm must be > 0")
    smile = None if table.get("arkit_smile") is None else _number(table, "arkit_smile", "face.")
    if smile is not None and not 0.0 <= smile <= 1.0:
        raise ValueError("face.arkit_smile must be between 0 and 1")
    return FaceBaseline(
        (right, left),
        width_cm,
        _number(table, "mouth_corner_lift_cm", "face."),
        _number(table, "brow_height_cm", "face."),
        smile,
    )


def _table(document: Mapping[str, Any], key: str, prefix: str = "") -> Mapping[str, Any]:
    value = document.get(key)
    if not isinstance(value, dict):
        raise ValueError(f"'{prefix}{key}' must be an object")
    return value


def _number(table: Mapping[str, Any], key: str, prefix: str = "") -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"'{prefix}{key}' must be a number, not {value!r}")
    return float(value)
