"""The preview: draw() on arrays, and the real window on a real X server (Xvfb) in a subprocess."""

from __future__ import annotations

import ctypes
import dataclasses
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from mocap import skeleton
from mocap.frames import ImageSize, PoseFrame, frozen
from mocap.preview.draw import (
    FACE_COLOUR,
    IRIS_COLOUR,
    LEFT_HAND_COLOUR,
    POSE_COLOUR,
    RIGHT_HAND_COLOUR,
    Colour,
    draw,
)
from mocap.preview.window import Key, PreviewWindow
from tests.runs import mocap_env
from tests.xserver import XServer, count_colour, wait_for_colours, xdotool, xvfb_server

GREY = 60  # the test images' background: any colour drawn on it is a change
WIDTH, HEIGHT = 640, 480

Image = npt.NDArray[np.uint8]
Block = npt.NDArray[np.float32]


# --- frames with landmarks at known places -----------------------------------------------------


def grey_image(width: int = WIDTH, height: int = HEIGHT) -> Image:
    return np.full((height, width, 3), GREY, np.uint8)


def pose_block(points: dict[int, tuple[float, float]], visibility: float = 1.0) -> Block:
    block = np.full((skeleton.POSE_POINTS, 4), np.nan, np.float32)
    for index, (x, y) in points.items():
        block[index] = (x, y, 0.0, visibility)
    return block


def hand_block(x: float, y: float) -> Block:
    """A hand with its 21 points around a circle of radius 0.1 centred on (x, y).

    The bones between neighbours (0-1, 2-3, ...) are short chords near the circle; every other
    bone crosses well inside it, so a neighbour bone's middle shows that one bone alone.
    """
    angles = np.linspace(0, 2 * np.pi, skeleton.HAND_POINTS, endpoint=False)
    points = [x + 0.1 * np.cos(angles), y + 0.1 * np.sin(angles), np.zeros_like(angles)]
    block: Block = np.stack(points, axis=1).astype(np.float32)
    return block


def bone_middle(hand: Block, start: int, end: int) -> tuple[float, float]:
    x, y = (hand[start, :2] + hand[end, :2]) / 2
    return float(x), float(y)


def face_block(points: dict[int, tuple[float, float]], count: int) -> Block:
    block = np.full((count, 3), np.nan, np.float32)
    for index, (x, y) in points.items():
        block[index] = (x, y, 0.0)
    return block


def frame(
    *,
    pose: Block | None = None,
    face: Block | None = None,
    left_hand: Block | None = None,
    right_hand: Block | None = None,
) -> PoseFrame:
    """A frame with the given parts; the others absent."""
    empty = PoseFrame.empty(0, 0.0, ImageSize(1280, 720), skeleton.FACE_POINTS_REFINED)

    def given(block: Block | None, default: Block) -> Block:
        return default if block is None else frozen(block, *block.shape)

    return dataclasses.replace(
        empty,
        pose=given(pose, empty.pose),
        face=given(face, empty.face),
        left_hand=given(left_hand, empty.left_hand),
        right_hand=given(right_hand, empty.right_hand),
    )


# Shoulders (11, 12) and the left elbow (13) of a body; a face whose oval edge (10, 338) and
# iris edge (474, 475) lie on known lines; the hands low left and low right.
SHOULDERS = {11: (0.3, 0.3), 12: (0.7, 0.3), 13: (0.3, 0.6)}
FACE_OVAL_EDGE = {10: (0.4, 0.1), 338: (0.6, 0.1)}
IRIS_EDGE = {474: (0.4, 0.2), 475: (0.6, 0.2)}
LEFT_HAND = hand_block(0.15, 0.8)
RIGHT_HAND = hand_block(0.8, 0.8)


def colour_near(
    image: Image, point: tuple[float, float], colour: Colour, tolerance: int = 40
) -> bool:
    """Whether some pixel within 2 px of the normalised point (x, y) has about this colour."""
    height, width = image.shape[:2]
    col, row = round(point[0] * width), round(point[1] * height)
    patch = image[max(row - 2, 0) : row + 3, max(col - 2, 0) : col + 3].astype(np.int16)
    return bool((np.abs(patch - colour).max(axis=2) <= tolerance).any())


# --- draw() ------------------------------------------------------------------------------------


def test_draws_a_bone_in_the_pose_colour_and_leaves_the_input_alone() -> None:
    image = grey_image()
    image.flags.writeable = False  # draw() must not even try to write into its input
    drawn = draw(image, frame(pose=pose_block(SHOULDERS)))
    assert (image == GREY).all()
    assert colour_near(drawn, (0.5, 0.3), POSE_COLOUR)  # the middle of the shoulder bone
    assert colour_near(drawn, (0.3, 0.45), POSE_COLOUR)  # the middle of the upper arm
    assert not colour_near(drawn, (0.5, 0.45), POSE_COLOUR)  # nothing away from the bones


def test_skips_the_pose_face_points_and_the_less_visible_points() -> None:
    face_points = {0: (0.2, 0.8), 2: (0.8, 0.8)}  # the nose and the left eye, a bone apart
    image = grey_image()
    assert (draw(image, frame(pose=pose_block(face_points))) == image).all()
    assert (draw(image, frame(pose=pose_block(SHOULDERS, visibility=0.49))) == image).all()
    assert (draw(image, frame(pose=pose_block(SHOULDERS, visibility=0.5))) != image).any()


def test_draws_each_hand_in_its_own_colour() -> None:
    drawn = draw(grey_image(), frame(left_hand=LEFT_HAND, right_hand=RIGHT_HAND))
    assert LEFT_HAND_COLOUR != RIGHT_HAND_COLOUR
    assert colour_near(drawn, bone_middle(LEFT_HAND, 0, 1), LEFT_HAND_COLOUR)
    assert colour_near(drawn, bone_middle(RIGHT_HAND, 0, 1), RIGHT_HAND_COLOUR)
    assert not colour_near(drawn, bone_middle(LEFT_HAND, 0, 1), RIGHT_HAND_COLOUR)


def test_draws_the_face_contours_and_irises_only_with_478_points() -> None:
    refined = frame(face=face_block(FACE_OVAL_EDGE | IRIS_EDGE, skeleton.FACE_POINTS_REFINED))
    drawn = draw(grey_image(), refined)
    assert colour_near(drawn, (0.5, 0.1), FACE_COLOUR)
    assert colour_near(drawn, (0.5, 0.2), IRIS_COLOUR)

    plain = frame(face=face_block(FACE_OVAL_EDGE, skeleton.FACE_POINTS))
    drawn = draw(grey_image(), plain)
    assert colour_near(drawn, (0.5, 0.1), FACE_COLOUR)
    assert count_colour(drawn, IRIS_COLOUR) == 0


def test_draw_face_false_leaves_the_face_out() -> None:
    image = grey_image()
    pose = frame(face=face_block(FACE_OVAL_EDGE | IRIS_EDGE, skeleton.FACE_POINTS_REFINED))
    assert (draw(image, pose, draw_face=False) == image).all()


def test_absent_parts_draw_nothing() -> None:
    image = grey_image()
    assert (draw(image, frame()) == image).all()


def test_nan_inf_and_absurd_points_inside_a_present_part_are_skipped() -> None:
    hand = LEFT_HAND.copy()
    hand[3] = np.nan  # bones 2-3 and 3-4 go; 0-1 stays
    hand[5, 0] = np.inf
    hand[9, 1] = 1e30
    drawn = draw(grey_image(), frame(left_hand=hand))  # warnings are errors here: none either
    assert colour_near(drawn, bone_middle(LEFT_HAND, 0, 1), LEFT_HAND_COLOUR)
    assert not colour_near(drawn, bone_middle(LEFT_HAND, 2, 3), LEFT_HAND_COLOUR)
    assert not colour_near(drawn, bone_middle(LEFT_HAND, 3, 4), LEFT_HAND_COLOUR)


def test_maps_onto_a_downscaled_image_with_its_own_size() -> None:
    pose = frame(pose=pose_block(SHOULDERS), right_hand=RIGHT_HAND)
    for width, height in ((WIDTH, HEIGHT), (WIDTH // 4, HEIGHT // 4)):
        drawn = draw(grey_image(width, height), pose)
        assert drawn.shape == (height, width, 3)
        assert colour_near(drawn, (0.5, 0.3), POSE_COLOUR)
        assert colour_near(drawn, bone_middle(RIGHT_HAND, 0, 1), RIGHT_HAND_COLOUR)
        assert not colour_near(drawn, (0.5, 0.6), POSE_COLOUR)


def test_overlay_text_is_drawn_top_left_on_a_dark_box() -> None:
    white = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    drawn = draw(white, frame(), ["12.3 fps", "inference 35.1 ms", "latency 41 ms"])
    rows, cols = np.nonzero((drawn != white).any(axis=2))
    assert rows.max() < HEIGHT // 3 and cols.max() < WIDTH // 2
    assert rows.min() == 0 and cols.min() == 0
    box = drawn[: rows.max() + 1, : cols.max() + 1]
    assert np.median(box) < 128  # dark backing, so that white text reads on a white image
    assert (box > 200).all(axis=2).sum() > 50  # and the light text on it


def test_refuses_an_image_that_is_not_bgr() -> None:
    with pytest.raises(ValueError, match="HxWx3"):
        draw(np.zeros((HEIGHT, WIDTH), np.uint8), frame())


# --- the window --------------------------------------------------------------------------------


def test_the_title_must_contain_mocap() -> None:
    with pytest.raises(ValueError, match="mocap"):
        PreviewWindow().open("preview")


def test_a_window_that_is_not_open_ignores_show_poll_and_close() -> None:
    window = PreviewWindow()
    window.show(grey_image())
    assert window.poll_key() is Key.NONE
    window.close()


# Opens a window, says "open", shows the image saved at argv[1], and waits for the user to quit.
# Exit codes: 0 the user quit, 2 no window could be opened, 3 nobody quit in time.
SHOW_AND_WAIT = """
import sys, time
import numpy as np
from mocap.preview.window import Key, PreviewWindow

window = PreviewWindow()
if not window.open("mocap preview test"):
    sys.exit(2)
print("open", flush=True)
window.show(np.load(sys.argv[1]))
deadline = time.monotonic() + 15
while window.poll_key(20) is not Key.QUIT:
    if time.monotonic() > deadline:
        sys.exit(3)
window.close()
"""

OPEN_ONLY = """
from mocap.preview.window import PreviewWindow

print(PreviewWindow().open("mocap preview test"))
"""


def _python(script: str, *args: str, display: str | None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=mocap_env(display),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _find_window(server: XServer, viewer: subprocess.Popen[str]) -> str:
    """The X id of the window named mocap, once it exists."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = xdotool(server, "search", "--name", "mocap")
        if found.stdout.split():
            return found.stdout.split()[0]
        if viewer.poll() is not None:
            pytest.fail(f"the viewer exited with {viewer.returncode}: {viewer.communicate()[1]}")
        time.sleep(0.1)
    pytest.fail("no window named 'mocap' appeared")


def _press_close_button(server: XServer, window_id: str) -> None:
    """Send the window the WM_DELETE_WINDOW message a window manager sends on its close button.

    Xvfb runs no window manager, and xdotool's windowclose destroys the X window behind Qt's back.
    """
    x11 = ctypes.CDLL("libX11.so.6")  # xdotool's own dependency: present wherever xdotool is
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XSendEvent.argtypes = [
        ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p
    ]  # fmt: skip
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]

    class ClientMessage(ctypes.Structure):
        _fields_ = [
            ("type", ctypes.c_int),
            ("serial", ctypes.c_ulong),
            ("send_event", ctypes.c_int),
            ("display", ctypes.c_void_p),
            ("window", ctypes.c_ulong),
            ("message_type", ctypes.c_ulong),
            ("format", ctypes.c_int),
            ("data", ctypes.c_long * 5),
        ]

    class XEvent(ctypes.Union):
        _fields_ = [("xclient", ClientMessage), ("size", ctypes.c_long * 24)]

    connection = x11.XOpenDisplay(server.display.encode())
    assert connection, f"cannot connect to {server.display}"
    event = XEvent()
    event.xclient.type = 33  # ClientMessage
    event.xclient.window = int(window_id)
    event.xclient.message_type = x11.XInternAtom(connection, b"WM_PROTOCOLS", 0)
    event.xclient.format = 32
    event.xclient.data[0] = x11.XInternAtom(connection, b"WM_DELETE_WINDOW", 0)
    assert x11.XSendEvent(connection, int(window_id), 0, 0, ctypes.byref(event))
    x11.XCloseDisplay(connection)  # flushes the event out


def _start_viewer(server: XServer, directory: Path) -> subprocess.Popen[str]:
    """A subprocess showing a drawn frame in a preview window on server."""
    pose = frame(pose=pose_block(SHOULDERS), left_hand=LEFT_HAND, right_hand=RIGHT_HAND)
    image_path = directory / "shown.npy"
    np.save(image_path, draw(np.zeros((HEIGHT, WIDTH, 3), np.uint8), pose))
    return _python(SHOW_AND_WAIT, str(image_path), display=server.display)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate()


@pytest.fixture
def viewer(xvfb: XServer, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = _start_viewer(xvfb, tmp_path)
    yield process
    _stop(process)


def _shown_window(server: XServer, viewer: subprocess.Popen[str]) -> str:
    """The viewer's window id, once the drawn frame is on the screen."""
    window_id = _find_window(server, viewer)
    colours = [POSE_COLOUR, LEFT_HAND_COLOUR, RIGHT_HAND_COLOUR]
    counts = wait_for_colours(server, window_id, colours, pixels=50, timeout_s=10)
    if min(counts) < 50:
        pytest.fail(f"the drawn colours {colours} did not reach the screen: {counts} px")
    return window_id


def test_the_window_shows_the_frame_and_quits_on_q(
    xvfb: XServer, viewer: subprocess.Popen[str]
) -> None:
    window_id = _shown_window(xvfb, viewer)
    xdotool(xvfb, "key", "--window", window_id, "Left", "a")  # not quitting keys
    time.sleep(0.3)
    assert viewer.poll() is None
    xdotool(xvfb, "key", "--window", window_id, "q")
    assert viewer.wait(timeout=5) == 0


def test_the_window_quits_on_escape(xvfb: XServer, viewer: subprocess.Popen[str]) -> None:
    xdotool(xvfb, "key", "--window", _shown_window(xvfb, viewer), "Escape")
    assert viewer.wait(timeout=5) == 0


def test_the_window_quits_when_closed(xvfb: XServer, viewer: subprocess.Popen[str]) -> None:
    _press_close_button(xvfb, _shown_window(xvfb, viewer))
    assert viewer.wait(timeout=5) == 0


def test_the_window_opens_when_it_is_the_x_servers_only_client(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    # An X server resets when its last client leaves, refusing connections meanwhile; with
    # -terminate it exits instead, so that the window opens here only if open()'s check of the
    # server stays connected until Qt has connected too.
    with xvfb_server(tmp_path_factory.mktemp("xvfb"), "-terminate") as server:
        process = _start_viewer(server, tmp_path)
        try:
            assert process.stdout is not None
            assert process.stdout.readline() == "open\n"  # connected: the test may connect now
            xdotool(server, "key", "--window", _shown_window(server, process), "q")
            assert process.wait(timeout=5) == 0
        finally:
            _stop(process)


def _unused_display() -> str:
    number = 99
    while Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
        number += 1
    return f":{number}"


@pytest.mark.parametrize("display", [None, "", "unused"], ids=["unset", "empty", "no-server"])
def test_open_returns_false_without_a_display(display: str | None) -> None:
    # A subprocess, because without the check before it Qt aborts the whole process.
    process = _python(OPEN_ONLY, display=_unused_display() if display == "unused" else display)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert stdout.strip() == "False"
