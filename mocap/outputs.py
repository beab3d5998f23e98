"""Sinks: encode a frame once per wire format and hand the bytes to a transport.

The pipeline thread calls publish() on every sink for every frame; each sink does one encode and
one non-blocking hand-off, so adding clients or OSC targets costs the pipeline nothing more.
"""

from __future__ import annotations

from typing import Protocol

from mocap.config import Endpoint
from mocap.encode.frame_json import encode_frame, encode_hello
from mocap.encode.osc import encode_landmarks_bundle
from mocap.frames import ImageSize, PoseFrame
from mocap.publish.udp import UdpSender
from mocap.publish.websocket import WebSocketServer


class Sink(Protocol):
    def publish(self, frame: PoseFrame, seq: int, t_s: float) -> None:
        """Encode and hand off one frame; never blocks on I/O and never raises for a send."""

    def close(self) -> None: ...


class OscLandmarkSink:
    """Raw landmarks as one OSC bundle per frame to every --osc target."""

    def __init__(self, endpoints: list[Endpoint], prefix: str) -> None:
        self.sender = UdpSender(endpoints)
        self._prefix = prefix

    def publish(self, frame: PoseFrame, seq: int, t_s: float) -> None:
        self.sender.send(encode_landmarks_bundle(frame, seq, t_s, self._prefix))

    def close(self) -> None:
        self.sender.close()


class WebSocketSink:
    """JSON frames to every WebSocket client, encoded once per frame.

    The hello message names the source's frame size, which only the first frame tells for
    sure: the sink updates the server's hello whenever the size changes.
    """

    def __init__(self, server: WebSocketServer, source_fps: float, face_points: int) -> None:
        self.server = server
        self._source_fps = source_fps
        self._face_points = face_points
        self._hello_size: ImageSize | None = None

    def publish(self, frame: PoseFrame, seq: int, t_s: float) -> None:
        if frame.image_size != self._hello_size:
            self._hello_size = frame.image_size
            self.server.set_hello(
                encode_hello(frame.image_size, self._source_fps, self._face_points, {})
            )
        self.server.publish(encode_frame(frame, seq, t_s))

    def close(self) -> None:
        self.server.close()
