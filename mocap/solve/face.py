"""The face mesh -> head rotation, blinks, mouth vowels, smile and gaze (VRM0 expression names).

The head's rotation is the least-squares rigid fit (Kabsch) of a few rigid points of MediaPipe's
canonical face model onto the measured mesh: steadier than the pose model's five head points, and
with a neutral, camera-facing face as its identity. Expressions are then read in the fitted head
frame, in the canonical model's centimetres, so that they do not depend on how the head is turned
or how far it is from the camera.

Thresholds come from MediaPipe 0.10.21 on the photos and video in tests/data (open eyes: lid gap
0.24-0.39 of the eye's width; closed-mouth smiles lift the mouth corners 0.5-1.2 cm).

Expressions are read against one user's neutral face (FaceBaseline): a calibration's
(mocap.solve.calibration), or, without one, typical values whose open-eye ratios adapt while
running (FaceState). Blink thresholds are fractions of that open-eye ratio, lowered as the gaze
goes down (the upper lid follows the eye down: looking at a keyboard is not a blink).

Joy comes from the face's ARKit weights when the frame has them (mocap.solve.arkit says why that
one, and why not the others), from the mouth corners' height otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mocap.frames import FloatArray, ImageSize
from mocap.solve import arkit as arkit_weights
from mocap.solve import scalar
from mocap.solve.scalar import Mat3, Matrix, Quat, Vec3
from mocap.solve.spaces import unity_scale

# VRM0 preset names, in the order of FaceReading.expressions. "_L"/"Left" are the avatar's own.
EXPRESSIONS = (
    "Blink", "Blink_L", "Blink_R", "A", "I", "U", "E", "O", "Joy",
    "LookUp", "LookDown", "LookLeft", "LookRight",
)  # fmt: skip
EXPRESSION_INDEX = {name: i for i, name in enumerate(EXPRESSIONS)}
_MIRRORED_NAMES = {
    "Blink_L": "Blink_R", "Blink_R": "Blink_L", "LookLeft": "LookRight", "LookRight": "LookLeft",
}  # fmt: skip
# MIRRORED_EXPRESSIONS[i]: the expression that a mirror image shows instead of expression i.
MIRRORED_EXPRESSIONS = tuple(EXPRESSION_INDEX[_MIRRORED_NAMES.get(n, n)] for n in EXPRESSIONS)

# --- MediaPipe's canonical face model (mediapipe/modules/face_geometry/data/
# canonical_face_model.obj), centimetres, converted to the avatar's axes: +X the subject's right,
# +Y up, +Z out of the face. The model is symmetric: each right-side point's mirror (x -> -x) is
# the left-side landmark paired with it.
_CANONICAL_MIDLINE = {
    1: (-1.126865, 7.475604), 4: (-0.463170, 7.586580), 6: (2.473255, 5.788627),
    9: (4.885979, 5.385258), 10: (8.261778, 4.481535), 13: (-3.994436, 5.219482),
    14: (-4.542400, 5.404754), 151: (6.545390, 5.027311), 168: (3.271027, 5.236015),
    195: (1.059413, 6.774605), 197: (1.728369, 6.316750),
}  # fmt: skip
_CANONICAL_RIGHT = {  # landmark: ((x, y, z), its left-side partner)
    33: ((4.445859, 2.663991, 3.173422), 263),  # eye, outer corner
    133: ((1.856432, 2.585245, 3.757904), 362),  # eye, inner corner
    159: ((3.177186, 2.964136, 3.876973), 386),  # upper lid, centre
    145: ((3.177186, 2.294265, 3.775704), 374),  # lower lid, centre
    158: ((2.724032, 2.961810, 3.871767), 385),  # upper lid, inner
    153: ((2.724032, 2.315802, 3.777151), 380),  # lower lid, inner
    160: ((3.670075, 2.927714, 3.724325), 387),  # upper lid, outer
    144: ((3.670075, 2.360153, 3.635230), 373),  # lower lid, outer
    127: ((7.743095, 2.364999, -2.005167), 356),  # temple
    234: ((7.664182, 0.673132, -2.435867), 454),  # cheek, side of the face
    61: ((2.456206, -4.342621, 4.283884), 291),  # mouth corner
}


def _canonical_points() -> dict[int, tuple[float, float, float]]:
    points: dict[int, tuple[float, float, float]] = {}
    for index, (y, z) in _CANONICAL_MIDLINE.items():
        points[index] = (0.0, y, z)
    for index, ((x, y, z), partner) in _CANONICAL_RIGHT.items():
        points[index] = (x, y, z)
        points[partner] = (-x, y, z)
    return points


CANONICAL_FACE_CM = _canonical_points()
"""Canonical positions (cm, avatar axes) of every face landmark the solver reads, irises aside."""

# Points that do not move with expressions: the fit of the head's rotation uses only these.
RIGID_POINTS = (1, 4, 6, 9, 10, 151, 168, 195, 197, 33, 263, 133, 362, 127, 356, 234, 454)
# (outer corner, inner corner, ((upper lid, lower lid), ...)) of the subject's right and left eye.
EYES = (
    (33, 133, ((159, 145), (158, 153), (160, 144))),
    (263, 362, ((386, 374), (385, 380), (387, 373))),
)
IRIS_CENTRES = (468, 473)  # right, left; present when the mesh has 478 points
MOUTH_CORNERS = (61, 291)
INNER_LIPS = (13, 14)  # upper, lower

# An eye's openness is its lid gap / its width, read against the user's open-eye ratio (open eyes
# measure 0.24-0.39, 0.30 typically).
EYE_OPEN_FRACTION = 2 / 3  # of the open-eye ratio: Blink is 0 above it
EYE_CLOSED_FRACTION = 1 / 3  # ... and 1 below it
# The upper lid follows the gaze down: at the gaze's full downward reach (GAZE_LIMIT_PITCH_RAD) an
# open eye's lid gap is this much smaller.
LID_DROP_LOOKING_DOWN = 0.4
# Without a calibration the open-eye ratio adapts: each frame that reads clearly open (at least
# this fraction of the ratio, once the gaze's lid drop is allowed for) moves it by this share of
# the difference (a time constant of ~3 s at 30 frames a second), within these bounds.
EYE_CLEARLY_OPEN_FRACTION = 0.55
EYE_ADAPT_SHARE = 0.01
EYE_OPEN_RATIO_BOUNDS = (0.15, 0.45)
# Linked blinks (solver.link_blinks): the eyes close together unless one is closed this much
# more than the other (a clear wink); below WINK_UNCLEAR_CLOSURE apart they are fully linked.
WINK_CLEAR_CLOSURE = 0.5
WINK_UNCLEAR_CLOSURE = 0.25
# A smile squints: at full Joy the eyes' closure counts this much less.
JOY_BLINK_EASING = 0.6
MOUTH_CLOSED_CM = 0.3  # inner-lip gap below which the mouth counts as closed
MOUTH_FULL_CM = 2.5  # ... and at which a vowel has full weight
MOUTH_NEUTRAL_WIDTH_CM = 5.3  # corner to corner, relaxed (measured 5.0-5.9; canonical 4.9)
MOUTH_WIDTH_RANGE_CM = 1.5  # widening (or narrowing) by this much is a fully spread (round) mouth
SMILE_NEUTRAL_LIFT_CM = 0.3  # mouth corners above their canonical height, relaxed
SMILE_RANGE_CM = 0.7  # ... and this much higher in a full smile
# Brows: the middle of each brow's upper edge (right, left); the height is read above the eye
# corners' midpoint.
BROWS = (105, 334)
EYEBALL_RADIUS_CM = 1.2
NEUTRAL_IRIS_HEIGHT_CM = 0.18  # iris centre above the eye corners' midpoint, looking ahead
GAZE_LIMIT_YAW_RAD = float(np.radians(30.0))
GAZE_LIMIT_PITCH_RAD = float(np.radians(25.0))

# The landmarks read, gathered in one take(); their rows there:
_READ = sorted(CANONICAL_FACE_CM)
_READ_WITH_IRISES = [*_READ, *IRIS_CENTRES]
_READ_INDICES = np.array(_READ, dtype=np.intp)
_READ_WITH_IRISES_INDICES = np.array(_READ_WITH_IRISES, dtype=np.intp)
_RIGID_MODEL = np.array([CANONICAL_FACE_CM[i] for i in RIGID_POINTS])
_RIGID_MODEL_CENTROID = _RIGID_MODEL.mean(axis=0)
_RIGID_MODEL_CENTRED = _RIGID_MODEL - _RIGID_MODEL_CENTROID
_RIGID_MODEL_SPREAD = float((_RIGID_MODEL_CENTRED**2).sum())
# Each rigid point's centred model position (cm) and its row in a read.
_RIGID_ROWS = [
    ((x, y, z), _READ.index(i))
    for (x, y, z), i in zip(_RIGID_MODEL_CENTRED.tolist(), RIGID_POINTS, strict=True)
]
# The points the expressions read, irises last (the fit's other points serve only the fit), each
# with its row in a read (the same in both reads).
_EXPRESSION_POINTS = [
    *sorted({*(i for outer, inner, lids in EYES for i in (outer, inner, *sum(lids, ()))),
             *MOUTH_CORNERS, *INNER_LIPS}),
    *IRIS_CENTRES,
]  # fmt: skip
_EXPRESSION_ROWS = [(i, _READ_WITH_IRISES.index(i)) for i in _EXPRESSION_POINTS]

_MODEL_CENTROID = _RIGID_MODEL_CENTROID.tolist()
_MOUTH_CORNER_HEIGHT_CM = CANONICAL_FACE_CM[MOUTH_CORNERS[0]][1]

# A point in the head's frame, cm. Expressions are a few dozen scalar steps, which cost less on
# plain floats than as numpy calls on 3-element arrays.
Point = Sequence[float]
# An affine map on row vectors: p -> p @ rows + offset, as (row 0, row 1, row 2, offset).
_Affine = tuple[Vec3, Vec3, Vec3, Vec3]


@dataclass(frozen=True, slots=True)
class FaceReading:
    """head_rotation: world rotation of the head (unmirrored Unity space; the rows of a 3 x 3
    matrix), identity for a neutral face looking at the camera. expressions: weights in [0, 1] in
    EXPRESSIONS order, the subject's own sides. eye_rotation: local rotation (x, y, z, w) of both
    eyes (they move together)."""

    head_rotation: Mat3
    expressions: list[float]
    eye_rotation: Quat


@dataclass(frozen=True, slots=True)
class FaceBaseline:
    """One user's neutral face, read in the head's frame: each eye's lid gap / width with the
    eyes open looking ahead (right, left), the mouth's width, how far the mouth corners sit above
    the canonical model's, and the brows' height above the eye corners (cm); and the smile's
    ARKit weight (mocap.solve.arkit.smile_weight), None when not measured (a typical one is
    used)."""

    eye_open_ratios: tuple[float, float]
    mouth_width_cm: float
    mouth_corner_lift_cm: float
    brow_height_cm: float
    smile_weight: float | None = None


TYPICAL_BROW_HEIGHT_CM = 2.5  # measured 2.3-2.8 on the photos and video in tests/data
TYPICAL_FACE = FaceBaseline(
    (0.30, 0.30), MOUTH_NEUTRAL_WIDTH_CM, SMILE_NEUTRAL_LIFT_CM, TYPICAL_BROW_HEIGHT_CM
)
"""The baseline without a calibration: typical values (their open-eye ratios then adapt)."""


class FaceState:
    """What reading faces carries from frame to frame: the baseline and the open-eye ratios
    (fixed when they come from a calibration, adapting from the typical ones otherwise), and
    whether both eyes blink together unless a wink is clear. One per solver (one thread)."""

    def __init__(self, baseline: FaceBaseline | None = None, *, link_blinks: bool = True) -> None:
        self.baseline = baseline or TYPICAL_FACE
        self.adapting = baseline is None
        self.link_blinks = link_blinks
        self.open_ratios = list(self.baseline.eye_open_ratios)

    def eyes_seen(self, levelled_ratios: Sequence[float]) -> None:
        """Move each adapting open-eye ratio toward its eye's ratio, when that eye is clearly
        open (levelled: the gaze's lid drop already allowed for)."""
        if not self.adapting:
            return
        low, high = EYE_OPEN_RATIO_BOUNDS
        for eye, ratio in enumerate(levelled_ratios):
            estimate = self.open_ratios[eye]
            if ratio >= EYE_CLEARLY_OPEN_FRACTION * estimate:
                estimate += EYE_ADAPT_SHARE * (ratio - estimate)
                self.open_ratios[eye] = min(max(estimate, low), high)


def read_face(
    face: FloatArray,
    image_size: ImageSize,
    state: FaceState | None = None,
    arkit: Sequence[float] | None = None,
) -> FaceReading | None:
    """Read a face mesh (N, 3) in MediaPipe image coordinates; None when it is absent or broken (a
    point read is not finite) or no rotation fits it (a mirror image, or a flat or collapsed mesh:
    not a face). state: the user's baseline, updated as it adapts (default: a fresh typical one).
    arkit: the face's 51 ARKit weights (the subject's sides), when the frame has them."""
    head = _head_frame(face, image_size)
    if head is None:
        return None
    rotation, _, at = head
    state = state if state is not None else FaceState()
    baseline = state.baseline
    with_irises = IRIS_CENTRES[0] in at
    yaw_rad, pitch_up_rad = _gaze_angles(at) if with_irises else (0.0, 0.0)
    # The lid follows the gaze down: an eye looking down is as open as one with this much more gap.
    lid_drop = 1.0 - LID_DROP_LOOKING_DOWN * _unit_clip(-pitch_up_rad / GAZE_LIMIT_PITCH_RAD)
    levelled = [_eye_ratio(at, outer, inner, lids) / lid_drop for outer, inner, lids in EYES]
    state.eyes_seen(levelled)
    joy = (
        _smile(_corner_height_cm(at), baseline.mouth_corner_lift_cm)
        if arkit is None
        else arkit_weights.joy(arkit, baseline.smile_weight)
    )
    closure = [
        _eye_closure(ratio, open_ratio) * (1.0 - JOY_BLINK_EASING * joy)
        for ratio, open_ratio in zip(levelled, state.open_ratios, strict=True)
    ]
    if state.link_blinks:
        closure = _linked(*closure)
    expressions = [
        *_blinks(*closure),
        *_vowels(
            math.dist(*(at[i] for i in INNER_LIPS)),
            math.dist(*(at[i] for i in MOUTH_CORNERS)),
            baseline.mouth_width_cm,
        ),
        joy,
        0.0,
        0.0,
        0.0,
        0.0,
    ]
    eye_rotation = scalar.IDENTITY
    if with_irises:
        # Closing lids hide the iris and make it jitter: the gaze fades with them.
        openness = 1.0 - 0.5 * sum(closure)
        yaw_rad = _symmetric_clip(openness * yaw_rad, GAZE_LIMIT_YAW_RAD)
        pitch_up_rad = _symmetric_clip(openness * pitch_up_rad, GAZE_LIMIT_PITCH_RAD)
        expressions[9:] = _look_weights(yaw_rad, pitch_up_rad)
        eye_rotation = _eye_rotation(yaw_rad, pitch_up_rad)
    return FaceReading(rotation, expressions, eye_rotation)


def neutral_face(
    face: FloatArray, image_size: ImageSize, arkit: Sequence[float] | None = None
) -> FaceBaseline | None:
    """One frame's measures of a neutral face (eyes open, looking ahead, mouth relaxed), the
    smile's weight from arkit when given; None when read_face would read no face, or the brows
    are not finite."""
    head = _head_frame(face, image_size)
    brow_rows = face.take(BROWS, axis=0).tolist()
    if head is None or not scalar.all_finite(brow_rows):
        return None
    _, image_to_model, at = head
    ratios = [_eye_ratio(at, outer, inner, lids) for outer, inner, lids in EYES]
    eye_height_cm = sum(at[i][1] for outer, inner, _ in EYES for i in (outer, inner)) / 4
    brows_cm = [_mapped(row, image_to_model) for row in brow_rows]
    return FaceBaseline(
        eye_open_ratios=(ratios[0], ratios[1]),
        mouth_width_cm=math.dist(*(at[i] for i in MOUTH_CORNERS)),
        mouth_corner_lift_cm=_corner_height_cm(at) - _MOUTH_CORNER_HEIGHT_CM,
        brow_height_cm=sum(brow[1] for brow in brows_cm) / len(brows_cm) - eye_height_cm,
        smile_weight=None if arkit is None else arkit_weights.smile_weight(arkit),
    )


def _head_frame(
    face: FloatArray, image_size: ImageSize
) -> tuple[Mat3, _Affine, dict[int, Vec3]] | None:
    """The head's fitted rotation, the map from image coordinates into the head's frame (cm), and
    the expression points in that frame (irises included when the mesh has them); None when a
    point read is not finite or no rotation fits."""
    width, height = image_size
    with_irises = len(face) > max(IRIS_CENTRES)
    read = _READ_WITH_IRISES_INDICES if with_irises else _READ_INDICES
    rows = face.take(read, axis=0).tolist()
    if not scalar.all_finite(rows):
        return None
    # Image x, y, z are fractions of the width, the height and (for z) the width again. The map to
    # Unity axes is diagonal, so it can scale the fit's sums rather than every point.
    scale_u = unity_scale((width, height, width))
    image_cross_covariance, image_centroid = _rigid_sums(rows)
    fit = _fit_head(
        [_scaled(row, scale_u) for row in image_cross_covariance], _scaled(image_centroid, scale_u)
    )
    if fit is None:
        return None
    rotation, (row_x, row_y, row_z, offset) = fit
    image_to_model = (
        _times(row_x, scale_u[0]), _times(row_y, scale_u[1]), _times(row_z, scale_u[2]), offset
    )  # fmt: skip
    expression_rows = _EXPRESSION_ROWS if with_irises else _EXPRESSION_ROWS[: -len(IRIS_CENTRES)]
    return (
        rotation,
        image_to_model,
        {i: _mapped(rows[row], image_to_model) for i, row in expression_rows},
    )


def _rigid_sums(rows: Sequence[Point]) -> tuple[Mat3, Vec3]:
    """The rigid points' cross-covariance H = M^T (P - c) = M^T P (M is centred) and centroid c.
    Written out on floats: a numpy matrix product here would be the frame's only call into BLAS,
    43 us right after an inference, against 14 us for this loop."""
    h00 = h01 = h02 = h10 = h11 = h12 = h20 = h21 = h22 = 0.0
    cx = cy = cz = 0.0
    for (mx, my, mz), row in _RIGID_ROWS:
        px, py, pz = rows[row]
        h00, h01, h02 = h00 + mx * px, h01 + mx * py, h02 + mx * pz
        h10, h11, h12 = h10 + my * px, h11 + my * py, h12 + my * pz
        h20, h21, h22 = h20 + mz * px, h21 + mz * py, h22 + mz * pz
        cx, cy, cz = cx + px, cy + py, cz + pz
    n = len(_RIGID_ROWS)
    return ((h00, h01, h02), (h10, h11, h12), (h20, h21, h22)), (cx / n, cy / n, cz / n)


def _fit_head(cross_covariance: Matrix, centroid: Point) -> tuple[Mat3, _Affine] | None:
    """Kabsch-Umeyama: the rotation R and scale s with measured ~ s R model + t (least squares)
    on the rigid points, from their cross-covariance H = M^T P and centroid c (Unity axes); returns
    R and the affine map from measured points into the model's frame and cm.

    R is the transpose of the orthogonal polar factor Q of H (with H = U S V^T, Q = U V^T and
    Kabsch's R = V U^T), and s = trace(Q^T H) / spread(M).
    """
    polar = scalar.polar_rotation(cross_covariance)
    if polar is None:
        return None
    fitted_spread = sum(
        q * h for q_row, h_row in zip(polar, cross_covariance, strict=True)
        for q, h in zip(q_row, h_row, strict=True)
    )  # fmt: skip
    inverse_scale = _RIGID_MODEL_SPREAD / max(fitted_spread, 1e-9 * _RIGID_MODEL_SPREAD)
    # As rows, R^T (p - c) / s + m is p @ A + (m - c @ A) with A = R / s, and R = Q^T.
    row_0, row_1, row_2 = (_times(row, inverse_scale) for row in scalar.transposed(polar))
    offset = scalar.sub(
        _MODEL_CENTROID, scalar.apply(scalar.transposed((row_0, row_1, row_2)), centroid)
    )
    return scalar.transposed(polar), (row_0, row_1, row_2, offset)


def _scaled(row: Point, factors: Point) -> Vec3:
    return (row[0] * factors[0], row[1] * factors[1], row[2] * factors[2])


def _times(row: Point, factor: float) -> Vec3:
    return (row[0] * factor, row[1] * factor, row[2] * factor)


def _mapped(point: Point, affine: _Affine) -> Vec3:
    """point @ (rows 0-2) + offset."""
    x, y, z = point
    (a, b, c), (d, e, f), (g, h, i), (u, v, w) = affine
    return (x * a + y * d + z * g + u, x * b + y * e + z * h + v, x * c + y * f + z * i + w)


def _unit_clip(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def _eye_ratio(
    at: Mapping[int, Point], outer: int, inner: int, lids: tuple[tuple[int, int], ...]
) -> float:
    """The eye's mean lid gap relative to its width."""
    gap_cm = sum(math.dist(at[upper], at[lower]) for upper, lower in lids) / len(lids)
    return gap_cm / max(math.dist(at[outer], at[inner]), 1e-9)


def _eye_closure(ratio: float, open_ratio: float) -> float:
    """Closure in [0, 1] of an eye whose open-eye ratio is open_ratio."""
    open_at, closed_at = EYE_OPEN_FRACTION * open_ratio, EYE_CLOSED_FRACTION * open_ratio
    return _unit_clip((open_at - ratio) / (open_at - closed_at))


def _linked(right: float, left: float) -> list[float]:
    """Both eyes' closure moved toward their mean, fully unless one is clearly closed more than
    the other (a wink), not at all once it clearly is: the noise of one eye's lids does not
    half-close it alone."""
    difference = abs(right - left)
    link = _unit_clip(
        (WINK_CLEAR_CLOSURE - difference) / (WINK_CLEAR_CLOSURE - WINK_UNCLEAR_CLOSURE)
    )
    mean = 0.5 * (right + left)
    return [right + link * (mean - right), left + link * (mean - left)]


def _blinks(right: float, left: float) -> tuple[float, float, float]:
    """(Blink, Blink_L, Blink_R): both eyes' common closure in Blink, each eye's excess in its
    own clip. Receivers add the clips of one morph target (UniVRM does), so each eye closes by
    exactly its own amount, and an avatar with only a Blink clip still blinks."""
    both = min(right, left)
    return both, left - both, right - both


def _vowels(
    gap_cm: float, width_cm: float, neutral_width_cm: float
) -> tuple[float, float, float, float, float]:
    """(A, I, U, E, O): openness sets the total weight; the width, against the user's neutral
    width, sets which vowels share it.

    A relaxed-width open mouth is A; a spread one is I (barely open) to E (more open); a rounded,
    narrow one is U (barely open) to O (more open).
    """
    openness = _unit_clip((gap_cm - MOUTH_CLOSED_CM) / (MOUTH_FULL_CM - MOUTH_CLOSED_CM))
    shape = (width_cm - neutral_width_cm) / MOUTH_WIDTH_RANGE_CM
    spread, rounded = _unit_clip(shape), _unit_clip(-shape)
    neutral = 1.0 - spread - rounded
    return (
        openness * neutral,
        openness * spread * (1.0 - openness),
        openness * rounded * (1.0 - openness),
        openness * spread * openness,
        openness * rounded * openness,
    )


def _corner_height_cm(at: Mapping[int, Point]) -> float:
    return 0.5 * sum(at[i][1] for i in MOUTH_CORNERS)


def _smile(corner_height_cm: float, neutral_lift_cm: float) -> float:
    """Joy from how far the mouth corners rise above where the user's neutral face has them."""
    lift_cm = corner_height_cm - _MOUTH_CORNER_HEIGHT_CM
    return _unit_clip((lift_cm - neutral_lift_cm) / SMILE_RANGE_CM)


def _gaze_angles(at: Mapping[int, Point]) -> tuple[float, float]:
    """(yaw toward the subject's right, pitch up), radians, from both irises together.

    The iris sits on an eyeball of known radius: its offset from the eye's centre is r sin(angle).
    """
    offset_x = offset_y = 0.0
    for (outer, inner, _), iris in zip(EYES, IRIS_CENTRES, strict=True):
        offset_x += 0.5 * (at[iris][0] - 0.5 * (at[outer][0] + at[inner][0]))
        offset_y += 0.5 * (at[iris][1] - 0.5 * (at[outer][1] + at[inner][1]))
    return (
        math.asin(_symmetric_clip(offset_x / EYEBALL_RADIUS_CM, 1.0)),
        math.asin(_symmetric_clip((offset_y - NEUTRAL_IRIS_HEIGHT_CM) / EYEBALL_RADIUS_CM, 1.0)),
    )


def _symmetric_clip(value: float, limit: float) -> float:
    return min(max(value, -limit), limit)


def _look_weights(yaw_rad: float, pitch_up_rad: float) -> list[float]:
    """(LookUp, LookDown, LookLeft, LookRight); yaw > 0 looks toward the avatar's right (+X)."""
    vertical = pitch_up_rad / GAZE_LIMIT_PITCH_RAD
    horizontal = yaw_rad / GAZE_LIMIT_YAW_RAD
    return [max(vertical, 0.0), max(-vertical, 0.0), max(-horizontal, 0.0), max(horizontal, 0.0)]


def _eye_rotation(yaw_rad: float, pitch_up_rad: float) -> Quat:
    """The yaw about +Y (turning +Z toward +X) times the pitch about +X (positive turns +Z down):
    (0, sin y, 0, cos y) * (sin p, 0, 0, cos p) with half angles y and p."""
    sin_y, cos_y = math.sin(0.5 * yaw_rad), math.cos(0.5 * yaw_rad)
    sin_p, cos_p = math.sin(-0.5 * pitch_up_rad), math.cos(-0.5 * pitch_up_rad)
    return (cos_y * sin_p, sin_y * cos_p, -sin_y * sin_p, cos_y * cos_p)
