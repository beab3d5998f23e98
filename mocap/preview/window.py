"""The preview window: the only part that talks to HighGUI.

It runs on the main thread (macOS requires it) and refuses politely, returning False, when there
is no display to open a window on.
"""

from __future__ import annotations

import ctypes
import enum
import logging
import os
import sys
from collections.abc import Callable

import cv2

from mocap.frames import ImageArray, ImageSize

log = logging.getLogger("mocap.preview.window")

_QUIT_KEYS = frozenset({ord("q"), ord("Q"), 27})  # 27: Esc
_CALIBRATE_KEYS = frozenset({ord("c"), ord("C")})
# The key without the modifier bits some backends add above it. Not waitKey()'s 8 bits: those
# turn the arrow keys' codes (X keysyms 0xff51...) into letters, Left into "Q".
_KEY_CODE = 0xFFFF
_WINDOW_FLAGS = cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL


def _connect_to_x_server(display: str) -> Callable[[], None] | None:
    """A connection to the X server named by display, as the function that closes it; None when
    the server does not accept one.

    Asks libxcb directly, the library Qt's xcb plugin connects with, because when Qt itself fails
    to connect it aborts the whole process instead of raising.
    """
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:  # no libxcb: Qt's xcb plugin could not load either
        return None
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_connection_has_error.restype = ctypes.c_int
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)  # never NULL, maybe an error connection
    if xcb.xcb_connection_has_error(connection) != 0:
        xcb.xcb_disconnect(connection)
        return None
    return lambda: xcb.xcb_disconnect(connection)


def _hold_display() -> Callable[[], None] | None:
    """A hold on the display the window will open on, as the function that lets it go; None when
    there is no display.

    On X11 the hold is a connection, kept until Qt has connected too: an X server resets when its
    last client leaves (Xvfb without a window manager, xvfb-run), refusing connections meanwhile,
    so a check that disconnected first could leave Qt to connect in that gap and abort the process.
    """
    if sys.platform in ("win32", "darwin"):
        return lambda: None  # no DISPLAY to check there: a failure shows up as cv2.error in show()
    # Elsewhere OpenCV's Qt talks X11 only (a Wayland session provides DISPLAY via XWayland).
    display = os.environ.get("DISPLAY", "")
    return _connect_to_x_server(display) if display else None


class Key(enum.Enum):
    """What the user asked for in the window since the last poll."""

    NONE = enum.auto()
    QUIT = enum.auto()  # q, Q, Esc, or closing the window
    CALIBRATE = enum.auto()  # c or C: recalibrate (mocap.calibrate.LiveCalibration)


class PreviewWindow:
    """The preview window. Every method must be called from the main thread."""

    def __init__(self) -> None:
        self._title: str | None = None  # None: no window open
        self._created = False  # whether the window exists yet (it opens with the first image)
        self._release_display: Callable[[], None] | None = None  # from open() to the window

    def open(self, title: str) -> bool:
        """Prepare the window; False (nothing raised) when no display can show one.

        The window itself appears with the first image (show): a Qt window mapped before it had
        anything to show sometimes never painted its images on an X server without a window
        manager (one run in ten under Xvfb), and a window that opens with its first image never
        did in a hundred.
        """
        if "mocap" not in title:
            raise ValueError(f"the preview window's title must contain 'mocap', not {title!r}")
        self._let_go_of_display()
        if not cv2.currentUIFramework():  # "": no GUI backend
            return False
        self._release_display = _hold_display()
        if self._release_display is None:
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
                cv2.namedWindow(self._title, _WINDOW_FLAGS)  # Qt connects to the display here
            except cv2.error as error:  # a display that refused the window after all
                log.warning("the preview window could not open (%s); running headless", error)
                self._title = None
                return
            finally:
                self._let_go_of_display()
            # A resizable window opens at a fixed default size: start it at the image's size.
            cv2.resizeWindow(self._title, *ImageSize.of(image))
            self._created = True
        cv2.imshow(self._title, image)

    def poll_key(self, delay_ms: int = 1) -> Key:
        """Run the window's events for delay_ms; what the user asked for.

        Quitting is q, Q or Esc, or closing the window (Key.QUIT once; then no window is open);
        c or C asks for a recalibration.
        """
        if self._title is None or not self._created:
            return Key.NONE
        code = cv2.waitKeyEx(delay_ms) & _KEY_CODE
        if code in _QUIT_KEYS:
            return Key.QUIT
        if not self._still_open():
            self._title = None
            return Key.QUIT
        return Key.CALIBRATE if code in _CALIBRATE_KEYS else Key.NONE

    def _still_open(self) -> bool:
        """Whether the user has not closed the window: OpenCV 4 says so with a property below 1,
        OpenCV 5 (mediapipe 1.x's) raises cv2.error for a window it no longer has."""
        assert self._title is not None
        try:
            return bool(cv2.getWindowProperty(self._title, cv2.WND_PROP_VISIBLE) >= 1)
        except cv2.error:
            return False

    def close(self) -> None:
        self._let_go_of_display()
        if self._title is None or not self._created:
            self._title = None
            return
        cv2.destroyWindow(self._title)
        cv2.waitKey(1)  # HighGUI removes the window from the screen in its event loop
        self._title = None

    def _let_go_of_display(self) -> None:
        if self._release_display is not None:
            self._release_display()
            self._release_display = None
