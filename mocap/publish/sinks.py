"""Sinks: encode a frame once per wire format and hand the bytes to a transport.

The pipeline thread calls publish() on every sink for every frame; each sink does one encode and
one non-blocking hand-off, so adding clients or OSC targets costs the pipeline nothing more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from mocap.encode.frame_json import avatar_fields, encode_frame, encode_hello
from mocap.encode.osc import encode_landmarks_bundle
from mocap.encode.vmc import encode_vmc_frame
from mocap.encode.vmc_profiles import VmcProfile
from mocap.encode.vrchat import VrchatEncoder, VrchatSettings
from mocap.frames import ImageSize, PoseFrame, is_present
from mocap.publish.udp import Destination, UdpSender
from mocap.publish.websocket import WebSocketServer
from mocap.solve.avatar import AvatarFrame


@dataclass(frozen=True, slots=True)
class Published:
    """One processed frame as every sink receives it.

    seq: the frame's number in this run's output, from 0. t_s: seconds since the run started on
    the source's clock. captured_monotonic_s: time.monotonic() when the frame was read, so a sink
    can say how old its message is. avatar: the solver's result, None when no solver runs.
    """

    seq: int
    t_s: float
    pose: PoseFrame
    avatar: AvatarFrame | None
    captured_monotonic_s: float


class Sink(Protocol):
    def publish(self, frame: Published) -> None:
        """Encode and hand off one frame; never blocks on I/O and never raises for a send."""

    def close(self) -> None: ...


class UdpSink(Sink, Protocol):
    """A sink that sends datagrams: its sender counts what went out and what the system refused."""

    sender: UdpSender


class OscLandmarkSink:
    """Raw landmarks as one OSC bundle per frame to every --osc target."""

    def __init__(self, destinations: list[Destination], prefix: str) -> None:
        self.sender = UdpSender(destinations)
        self._prefix = prefix

    def publish(self, frame: Published) -> None:
        self.sender.send(encode_landmarks_bundle(frame.pose, frame.seq, frame.t_s, self._prefix))

    def close(self) -> None:
        self.sender.close()


class VmcSink:
    """The solved avatar in the VMC protocol to every --vmc target (nothing without a solver)."""

    def __init__(self, destinations: list[Destination], profile: VmcProfile) -> None:
        self.sender = UdpSender(destinations)
        self._profile = profile

    def publish(self, frame: Published) -> None:
        if frame.avatar is None:
            return
        for datagram in encode_vmc_frame(
            frame.avatar,
            frame.t_s,
            self._profile,
            tracking_ok=is_present(frame.pose.pose),
        ):
            self.sender.send(datagram)

    def close(self) -> None:
        self.sender.close()


class VrchatSink:
    """Body trackers, head and eyes as VRChat's OSC, one bundle per frame to every --vrchat
    target (nothing without a solver)."""

    def __init__(self, destinations: list[Destination], settings: VrchatSettings) -> None:
        self.sender = UdpSender(destinations)
        self._encoder = VrchatEncoder(settings)

    def publish(self, frame: Published) -> None:
        if frame.avatar is None:
            return
        datagram = self._encoder.encode(frame.pose, frame.avatar, frame.t_s)
        if datagram is not None:
            self.sender.send(datagram)

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

    def publish(self, frame: Published) -> None:
        if frame.pose.image_size != self._hello_size:
            self._hello_size = frame.pose.image_size
            self.server.set_hello(
                encode_hello(frame.pose.image_size, self._source_fps, self._face_points)
            )
        extra: dict[str, Any] = {
            "latency_ms": round((time.monotonic() - frame.captured_monotonic_s) * 1000.0, 2)
        }
        if frame.avatar is not None:
            extra.update(avatar_fields(frame.avatar))
        self.server.publish(encode_frame(frame.pose, frame.seq, frame.t_s, extra))

    def close(self) -> None:
        self.server.close()
