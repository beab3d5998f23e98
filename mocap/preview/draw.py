"""draw(image, pose) -> a new annotated image. Pure: it touches no window and no file, so it
also annotates photos and is tested with arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from mocap import skeleton
from mocap.frames import FloatArray, ImageArray, ImageSize, PoseFrame

Colour = tuple[int, int, int]  # B, G, R
IndexArray = npt.NDArray[np.intp]
PixelArray = npt.NDArray[np.int32]
MaskArray = npt.NDArray[np.bool_]

POSE_COLOUR: Colour = (0, 215, 255)  # amber
LEFT_HAND_COLOUR: Colour = (255, 170, 0)  # azure: the subject's own left hand
RIGHT_HAND_COLOUR: Colour = (90, 60, 255)  # red: the subject's own right hand
FACE_COLOUR: Colour = (110, 230, 110)  # light green
IRIS_COLOUR: Colour = (255, 255, 0)  # cyan
TEXT_COLOUR: Colour = (255, 255, 255)

MIN_VISIBILITY = 0.5  # pose landmarks less visible than this are guesses: not drawn

# Landmarks further than this many image sizes outside the image are nonsense, not a limb that
# left the frame; dropping them also keeps the int32 pixel cast safe.
_FARTHEST = 10.0
# Sub-pixel bits for cv2's anti-aliased drawing: a still subject's lines do not jitter by a pixel.
_SHIFT = 4
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _edges(connections: skeleton.Connections) -> IndexArray:
    return np.array(connections, dtype=np.intp).reshape(-1, 2)


_POSE_EDGES = _edges(skeleton.POSE_CONNECTIONS)
_HAND_EDGES = _edges(skeleton.HAND_CONNECTIONS)
_FACE_EDGES = _edges(skeleton.FACE_CONTOURS)
_IRIS_EDGES = _edges(skeleton.FACE_IRISES)
# The face mesh describes the face points better: the pose's own face points are never drawn.
_POSE_BODY = np.array(
    [i not in skeleton.POSE_FACE_POINTS for i in range(skeleton.POSE_POINTS)], dtype=np.bool_
)


# --- drawing (pure) ----------------------------------------------------------------------------


def draw(
    image: ImageArray,
    pose: PoseFrame,
    overlay: Sequence[str] = (),
    *,
    draw_face: bool = True,
) -> ImageArray:
    """A copy of image with pose's landmarks and the overlay text lines drawn on it.

    image: uint8 HxWx3 BGR, the source image or a resized copy of it (landmarks are normalised,
    so they are mapped with this image's own size). Absent parts and NaN points are not drawn.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"draw() needs a uint8 HxWx3 BGR image, not {image.dtype} {image.shape}")
    canvas = image.copy()
    size = ImageSize.of(canvas)
    stroke = max(1, round(min(size) / 360))  # 2 px at 720p, thinner on small previews
    if draw_face:
        _draw_face(canvas, pose.face, size, max(1, stroke // 2))
    _draw_limbs(canvas, _mapped_body(pose.pose, size), _POSE_EDGES, POSE_COLOUR, stroke)
    _draw_limbs(canvas, _mapped(pose.left_hand, size), _HAND_EDGES, LEFT_HAND_COLOUR, stroke)
    _draw_limbs(canvas, _mapped(pose.right_hand, size), _HAND_EDGES, RIGHT_HAND_COLOUR, stroke)
    _draw_overlay(canvas, overlay, size)
    return canvas


class _Mapped(NamedTuple):
    """Landmarks mapped onto an image."""

    pixels: PixelArray  # (N, 2) x, y in fixed point: _SHIFT fractional bits
    drawable: MaskArray  # (N,) which of them to draw


def _mapped(points: FloatArray, size: ImageSize) -> _Mapped:
    xy = points[:, :2]
    drawable = (np.abs(xy) <= _FARTHEST).all(axis=1)  # False for NaN and inf too
    scaled = np.where(drawable[:, None], xy, 0.0) * (size.width << _SHIFT, size.height << _SHIFT)
    return _Mapped(np.rint(scaled).astype(np.int32), drawable)


def _mapped_body(pose: FloatArray, size: ImageSize) -> _Mapped:
    """The pose's points visible enough to draw, less its face points."""
    points = _mapped(pose, size)
    visible = pose[:, 3] >= MIN_VISIBILITY
    return points._replace(drawable=points.drawable & _POSE_BODY & visible)


def _draw_edges(
    canvas: ImageArray, points: _Mapped, edges: IndexArray, colour: Colour, thickness: int
) -> None:
    kept = edges[points.drawable[edges].all(axis=1)]
    if kept.size:
        segments = list(points.pixels[kept])
        cv2.polylines(canvas, segments, False, colour, thickness, cv2.LINE_AA, _SHIFT)


def _draw_joints(canvas: ImageArray, points: _Mapped, colour: Colour, diameter: int) -> None:
    # A zero-length thick segment is a round dot: all the joints in one call, not one per circle.
    dots = points.pixels[points.drawable][:, None, :].repeat(2, axis=1)
    if dots.size:
        cv2.polylines(canvas, list(dots), False, colour, diameter, cv2.LINE_AA, _SHIFT)


def _draw_limbs(
    canvas: ImageArray, points: _Mapped, edges: IndexArray, colour: Colour, stroke: int
) -> None:
    """The bones and joints of a body or a hand."""
    _draw_edges(canvas, points, edges, colour, stroke)
    _draw_joints(canvas, points, colour, 2 * stroke + 2)


def _draw_face(canvas: ImageArray, face: FloatArray, size: ImageSize, thickness: int) -> None:
    points = _mapped(face, size)
    _draw_edges(canvas, points, _FACE_EDGES, FACE_COLOUR, thickness)
    if len(face) == skeleton.FACE_POINTS_REFINED:
        _draw_edges(canvas, points, _IRIS_EDGES, IRIS_COLOUR, thickness)


def _draw_overlay(canvas: ImageArray, lines: Sequence[str], size: ImageSize) -> None:
    """The text lines top-left, white on a darkened box so they read on any image."""
    if not lines:
        return
    scale = max(0.4, min(size) / 1200)  # 0.6 at 720p
    thickness = max(1, round(scale * 1.5))
    (_, text_height), baseline = cv2.getTextSize("Ag", _FONT, scale, thickness)
    pad = max(4, text_height // 2)
    line_height = text_height + baseline + pad
    width = max(cv2.getTextSize(line, _FONT, scale, thickness)[0][0] for line in lines)
    box = canvas[: pad + line_height * len(lines), : width + 2 * pad]
    box //= 4  # darkened, not blacked out: the image still shows through a little
    for row, line in enumerate(lines):
        origin = (pad, pad + text_height + row * line_height)
        cv2.putText(canvas, line, origin, _FONT, scale, TEXT_COLOUR, thickness, cv2.LINE_AA)
