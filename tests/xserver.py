"""A real X server for window tests: Xvfb on a display it picks itself, its screen as pixels."""

from __future__ import annotations

import os
import select
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pytest

from mocap.preview.draw import Colour

Image = npt.NDArray[np.uint8]


class XServer(NamedTuple):
    display: str  # ":N"
    framebuffer: Path  # the screen as an XWD file, kept current by Xvfb


def required_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; the window tests need it (apt-get install {name})")
    return path


def read_display_number(pipe: int, timeout_s: float) -> int:
    """Xvfb -displayfd writes the display number it chose once it accepts connections."""
    text = b""
    deadline = time.monotonic() + timeout_s
    while not text.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([pipe], [], [], remaining)[0]:
            pytest.fail("Xvfb did not report a display number in time")
        chunk = os.read(pipe, 16)
        if not chunk:
            pytest.fail("Xvfb exited before it was ready")
        text += chunk
    return int(text)


@contextmanager
def xvfb_server(fbdir: Path, *options: str) -> Iterator[XServer]:
    """Xvfb with its screen file in fbdir, ready for connections; more Xvfb options after."""
    xvfb = required_tool("Xvfb")
    required_tool("xdotool")
    read_end, write_end = os.pipe()
    # -displayfd: Xvfb picks a free display number itself, so parallel runs never collide.
    command = [xvfb, "-displayfd", str(write_end), "-screen", "0", "1280x800x24"]
    command += ["-fbdir", str(fbdir), "-nolisten", "tcp", *options]
    server = subprocess.Popen(
        command,
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        number = read_display_number(read_end, timeout_s=10)
        assert Path(f"/tmp/.X11-unix/X{number}").exists()
        yield XServer(f":{number}", fbdir / "Xvfb_screen0")
    finally:
        os.close(read_end)
        server.terminate()
        server.wait(timeout=10)


def xdotool(server: XServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["xdotool", *args],
        env={**os.environ, "DISPLAY": server.display},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


def screen(framebuffer: Path) -> Image:
    """The X screen as BGR pixels, from the XWD file that Xvfb -fbdir keeps current."""
    data = framebuffer.read_bytes()
    fields = struct.unpack(">25I", data[:100])  # the XWD header is 25 big-endian CARD32s
    header_size, width, height, byte_order = fields[0], fields[4], fields[5], fields[7]
    bits_per_pixel, bytes_per_line, red, green, blue = fields[11], fields[12], *fields[14:17]
    ncolors = fields[19]
    assert bits_per_pixel == 32, f"expected a 32-bit screen, got {bits_per_pixel}"
    offset = header_size + 12 * ncolors  # then one 12-byte XWDColor per colour
    dtype = "<u4" if byte_order == 0 else ">u4"  # 0: LSBFirst
    rows = np.frombuffer(data, dtype, bytes_per_line // 4 * height, offset)
    pixels = rows.reshape(height, bytes_per_line // 4)[:, :width]
    # Each channel's mask shifted down by its lowest set bit (mask & -mask).
    channels = [(pixels & mask) >> (mask & -mask).bit_length() - 1 for mask in (blue, green, red)]
    screen: Image = np.stack(channels, axis=2).astype(np.uint8)
    return screen


def count_colour(image: Image, colour: Colour, tolerance: int = 30) -> int:
    """How many pixels have about this colour."""
    return int((np.abs(image.astype(np.int16) - colour).max(axis=2) <= tolerance).sum())


def wait_for_colours(
    server: XServer, window_id: str, colours: list[Colour], pixels: int, timeout_s: float
) -> list[int]:
    """Wait until each colour covers at least `pixels` pixels of the screen; the counts then, or
    the last counts seen at the timeout.

    Xvfb runs no window manager, and Qt's xcb backend sometimes handles none of the X events
    that follow its mapping the window (MapNotify, Expose) until some later event arrives, while
    its event loop keeps running: it then paints nothing (QT_LOGGING_RULES=qt.qpa.events=true
    shows it; about one window in five on a loaded 2-core machine, whatever flags or size the
    window has). On a desktop the window manager's reparenting brings more events; here the
    window is mapped afresh once, halfway through, as a window manager would map it.
    """
    start_s = time.monotonic()
    remapped = False
    while True:
        image = screen(server.framebuffer)
        counts = [count_colour(image, colour) for colour in colours]
        elapsed_s = time.monotonic() - start_s
        if min(counts) >= pixels or elapsed_s > timeout_s:
            return counts
        if not remapped and elapsed_s > timeout_s / 2:
            xdotool(server, "windowunmap", "--sync", window_id)
            xdotool(server, "windowmap", "--sync", window_id)
            remapped = True
        time.sleep(0.1)
