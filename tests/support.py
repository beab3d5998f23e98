"""Small helpers shared by the tests: waiting on a condition, ports and servers on 127.0.0.1,
reading an image file, a stream that says it is a terminal, VMC type tags, and bone angles."""

from __future__ import annotations

import contextlib
import io
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import ArrayLike
from pythonosc.osc_message import OscMessage
from pythonosc.parsing import osc_types
from scipy.spatial.transform import Rotation

from mocap.addresses import HostPort
from mocap.config import SolverConfig
from mocap.frames import ImageArray
from mocap.publish.access import AccessRules
from mocap.publish.websocket import WebSocketServer
from mocap.solve import AvatarFrame
from mocap.solve.humanoid import INDEX

WAIT_TIMEOUT_S = 5.0


def wait_until(
    condition: Callable[[], bool],
    timeout_s: float = WAIT_TIMEOUT_S,
    failure: Callable[[], str] = lambda: "timed out",
) -> None:
    """Poll condition until it holds; fail with failure()'s text after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, failure()
        time.sleep(0.01)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released): a server may
    take it a moment later, a client finds it closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ipv6_loopback_works() -> bool:
    """Whether a server can listen on ::1 here (containers often have no IPv6)."""
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def mocap_server(hello: str, *, port: int = 0, token: str = "") -> Iterator[WebSocketServer]:
    """mocap's WebSocket server on 127.0.0.1, sending hello to each client; closed on exit."""
    server = WebSocketServer(HostPort("127.0.0.1", port), hello, access=AccessRules(token=token))
    server.start()
    try:
        yield server
    finally:
        server.close()


def read_image(path: Path) -> ImageArray:
    """An image file decoded by OpenCV (8-bit BGR), or the test fails naming the file."""
    image = cv2.imread(str(path))
    assert image is not None, f"{path} does not decode"
    return np.asarray(image, dtype=np.uint8)


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


# Every address a VMC frame carries, with its type tags exactly as the specification gives them
# (OK in its V2.7 form).
VMC_TYPE_TAGS = {
    "/VMC/Ext/Root/Pos": ",sfffffff",
    "/VMC/Ext/Bone/Pos": ",sfffffff",
    "/VMC/Ext/Blend/Val": ",sf",
    "/VMC/Ext/Blend/Apply": ",",
    "/VMC/Ext/OK": ",iiii",
    "/VMC/Ext/T": ",f",
}


def type_tags(message: OscMessage) -> str:
    """The OSC type tag string of a message as sent (",sfff"), read with python-osc's parser."""
    _, after_address = osc_types.get_string(message.dgram, 0)
    tags, _ = osc_types.get_string(message.dgram, after_address)
    return str(tags)


def turned_deg(frame: AvatarFrame, *bones: str) -> float:
    """Total rotation of the bones, each relative to its parent, degrees."""
    local = frame.local_rotations[[INDEX[bone] for bone in bones]]
    return float(np.degrees(Rotation.from_quat(local).magnitude()).sum())


def angle_deg(a: ArrayLike, b: ArrayLike) -> float:
    """The angle between two vectors of any length, degrees."""
    a_vec, b_vec = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    cosine = np.dot(a_vec, b_vec) / (np.linalg.norm(a_vec) * np.linalg.norm(b_vec))
    return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))


@contextlib.contextmanager
def running(server: WebSocketServer) -> Iterator[WebSocketServer]:
    """server started for the block, closed after it."""
    server.start()
    try:
        yield server
    finally:
        server.close()


# The solver with no mirror and no easing: what a test poses is what comes out, at once.
PLAIN_SOLVER = SolverConfig(mirror=False, hold_s=0.0, ease_s=0.0)
