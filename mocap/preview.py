"""The preview: draw(image, pose) -> a new annotated image (pure), and the window (main thread).

draw() touches no window and no file, so it also annotates photos and is tested with arrays.
PreviewWindow is the only part that talks to HighGUI; it runs on the main thread (macOS requires
it) and refuses politely, returning False, when there is no display to open a window on.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
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


# --- the window (main thread only) -------------------------------------------------------------

log = logging.getLogger("mocap.preview")

_QUIT_KEYS = frozenset({ord("q"), ord("Q"), 27})  # 27: Esc
# The key without the modifier bits some backends add above it. Not waitKey()'s 8 bits: those
# turn the arrow keys' codes (X keysyms 0xff51...) into letters, Left into "Q".
_KEY_CODE = 0xFFFF
_WINDOW_FLAGS = cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL


def _x_server_accepts(display: str) -> bool:
    """Whether the X server named by display accepts a connection from this process.

    Asks libxcb directly, the library Qt's xcb plugin connects with, because when Qt itself fails
    to connect it aborts the whole process instead of raising.
    """
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:  # no libxcb: Qt's xcb plugin could not load either
        return False
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_connection_has_error.restype = ctypes.c_int
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)  # never NULL, maybe an error connection
    try:
        return bool(xcb.xcb_connection_has_error(connection) == 0)
    finally:
        xcb.xcb_disconnect(connection)


def _display_available() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True  # no DISPLAY to check there: a failure shows up as cv2.error in open()
    # Elsewhere OpenCV's Qt talks X11 only (a Wayland session provides DISPLAY via XWayland).
    display = os.environ.get("DISPLAY", "")
    return bool(display) and _x_server_accepts(display)


class PreviewWindow:
    """The preview window. Every method must be called from the main thread."""

    def __init__(self) -> None:
        self._title: str | None = None  # None: no window open
        self._created = False  # whether the window exists yet (it opens with the first image)

    def open(self, title: str) -> bool:
        """Prepare the window; False (nothing raised) when no display can show one.

        The window itself appears with the first image (show): a Qt window mapped before it had
        anything to show sometimes never painted its images on an X server without a window
        manager (one run in ten under Xvfb), and a window that opens with its first image never
        did in a hundred.
        """
        if "mocap" not in title:
            raise ValueError(f"the preview window's title must contain 'mocap', not {title!r}")
        if not _display_available() or not cv2.currentUIFramework():  # "": no GUI backend
            return False
        self._title = title
        self._created = False
        return True

    def show(self, image: ImageArray) -> None:
        """Show image; it appears on the next poll_key(). Does nothing when no window is open."""
        # Not after the user closed the window either: imshow would open it again.
        if self._title is None:
            return
        if not self._created:
            try:
                cv2.namedWindow(self._title, _WINDOW_FLAGS)
            except cv2.error as error:  # a display that refused the window after all
                log.warning("the preview window could not open (%s); running headless", error)
                self._title = None
                return
            # A resizable window opens at a fixed default size: start it at the image's size.
            cv2.resizeWindow(self._title, *ImageSize.of(image))
            self._created = True
        cv2.imshow(self._title, image)

    def poll_key(self, delay_ms: int = 1) -> bool:
        """Run the window's events for delay_ms; True when the user asked to quit.

        Quitting is q, Q or Esc, or closing the window (True once; then no window is open).
        """
        if self._title is None or not self._created:
            return False
        if (cv2.waitKeyEx(delay_ms) & _KEY_CODE) in _QUIT_KEYS:
            return True
        if cv2.getWindowProperty(self._title, cv2.WND_PROP_VISIBLE) < 1:
            self._title = None
            return True
        return False

    def close(self) -> None:
        if self._title is None or not self._created:
            self._title = None
            return
        cv2.destroyWindow(self._title)
        cv2.waitKey(1)  # HighGUI removes the window from the screen in its event loop
        self._title = None
