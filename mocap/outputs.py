"""A run's outputs, assembled in one place from their own config sections.

Every UDP output kind (raw-landmark OSC, VMC, and the ones added later) is one row of
UDP_OUTPUTS: its name, where its targets are configured and how its sink is built. The exposure
rule reads its targets from the same table, so an output added here can never bypass
--allow-remote; it resolves each target once, and the sinks send to exactly the addresses it
checked. The WebSocket server is the one listening output: it needs a token to listen
beyond loopback. `mocap run` and `mocap replay` open their outputs with open_outputs().
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

from mocap.addresses import HostPort
from mocap.config import SHORT_TOKEN_CHARS, Config
from mocap.encode.frame_json import encode_hello
from mocap.encode.vmc_profiles import profile_named
from mocap.encode.vrchat import VrchatSettings
from mocap.errors import ConfigError, MocapError
from mocap.publish.access import AccessRules
from mocap.publish.access_log import open_access_log
from mocap.publish.exposure import on_this_machine
from mocap.publish.inbound import InboundLimits
from mocap.publish.paced import PacedSink
from mocap.publish.sinks import (
    OscLandmarkSink,
    Sink,
    UdpSink,
    VmcSink,
    VrchatSink,
    WebSocketSink,
)
from mocap.publish.static import load_viewer, viewer_url
from mocap.publish.udp import Destination, resolve
from mocap.publish.websocket import CalibrateHandler, UploadHandler, WebSocketServer

log = logging.getLogger("mocap")


@dataclass(frozen=True)
class UdpOutput:
    """One kind of UDP output: its name in messages, its targets, and its sink. An avatar output
    is paced: with outputs.rate_hz set it sends at that rate, each send the pose predicted for
    its time (mocap.publish.paced), instead of once per frame."""

    label: Callable[[Config], str]
    targets: Callable[[Config], list[HostPort]]
    sink: Callable[[Config, list[Destination]], UdpSink]
    avatar: bool = False


def _osc_sink(config: Config, destinations: list[Destination]) -> UdpSink:
    return OscLandmarkSink(destinations, config.outputs.osc_prefix)


def _vmc_sink(config: Config, destinations: list[Destination]) -> UdpSink:
    vmc = config.vmc
    profile = profile_named(
        vmc.profile, vmc.vrm1_names, perfect_sync=vmc.perfect_sync, arkit_case=vmc.arkit_case
    )
    return VmcSink(destinations, profile)


def _vrchat_sink(config: Config, destinations: list[Destination]) -> UdpSink:
    return VrchatSink(destinations, VrchatSettings.of(config.vrchat, config.solver))


UDP_OUTPUTS = (
    UdpOutput(lambda _: "OSC", Config.osc_endpoints, _osc_sink),
    UdpOutput(
        lambda config: f"VMC ({config.vmc.profile})", Config.vmc_endpoints, _vmc_sink, avatar=True
    ),
    UdpOutput(lambda _: "VRChat", Config.vrchat_endpoints, _vrchat_sink, avatar=True),
)


@dataclass
class Outputs:
    sinks: list[Sink]
    websocket: WebSocketServer | None
    description: str
    udp: list[tuple[str, UdpSink]]  # each UDP sink with its output's label

    def clients(self) -> int:
        return self.websocket.clients if self.websocket is not None else 0

    def summary_lines(self) -> list[str]:
        """What each output sent, and what it could not (the summary at the end of a run)."""
        lines = [
            f"{label}: {sink.sender.sent} datagrams sent, {sink.sender.failed} could not be sent"
            for label, sink in self.udp
        ]
        if self.websocket is not None:
            lines.append(
                f"WebSocket: {self.websocket.sent} messages sent to clients, "
                f"{self.websocket.dropped} replaced before a slow client took them"
            )
        return lines

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


# What the exposure check resolved each UDP target to: open_outputs sends there and nowhere else.
Destinations = dict[HostPort, Destination]


@dataclass(frozen=True)
class Exposure:
    destinations: Destinations
    notices: list[str]


def check_exposure(config: Config) -> Destinations:
    """Refuse what would expose landmarks unasked (ConfigError); otherwise say once, in plain
    words, what the user did allow. Called first, before a model loads or anything listens;
    open_outputs takes what it returns."""
    exposure = assess_exposure(config)
    for notice in exposure.notices:
        log.warning("%s", notice)
    return exposure.destinations


def assess_exposure(config: Config) -> Exposure:
    notices = []
    ws = config.ws_endpoint()
    if ws is not None and not ws.is_loopback():
        if not config.server.token:
            raise ConfigError(
                f"--ws {ws} exposes landmarks to the network: set a token with --token or "
                "MOCAP_TOKEN, or bind 127.0.0.1"
            )
        notices.append(f"the WebSocket server on {ws} is open to the network (token required)")
        if len(config.server.token) < SHORT_TOKEN_CHARS:
            notices.append(
                f"the token is shorter than {SHORT_TOKEN_CHARS} characters: easy to guess for "
                "anyone on the network (`openssl rand -base64 24` makes a strong one)"
            )
    targets = [target for output in UDP_OUTPUTS for target in output.targets(config)]
    destinations = {target: resolve(target) for target in targets}
    for destination in destinations.values():
        if on_this_machine(destination):
            continue
        if not config.outputs.allow_remote:
            raise ConfigError(
                f"{destination} is not on this machine: sending landmarks there needs "
                "--allow-remote (or outputs.allow_remote = true)"
            )
        notices.append(f"sending landmarks off this machine to {destination}")
    return Exposure(destinations, notices)


def open_outputs(
    config: Config,
    cleanup: ExitStack,
    destinations: Destinations,
    *,
    source_fps: float,
    face_points: int,
    on_upload: UploadHandler | None = None,
    on_calibrate: CalibrateHandler | None = None,
) -> Outputs:
    """Open the access log and every configured output (servers listening when this returns);
    cleanup closes them. destinations: what check_exposure returned. source_fps and
    face_points: what the WebSocket hello announces. on_upload: answers the viewer's photo
    uploads (none: uploads are ignored). on_calibrate: takes a client's {"type": "calibrate"}
    (none: answered as unavailable)."""
    cleanup.enter_context(open_access_log(config.server.log_file))
    outputs = _start_outputs(
        config,
        destinations,
        source_fps=source_fps,
        face_points=face_points,
        on_upload=on_upload,
        on_calibrate=on_calibrate,
    )
    cleanup.callback(outputs.close)
    if outputs.websocket is not None:
        log.info("viewer: %s", viewer_url(outputs.websocket.address, config.server.token))
    return outputs


def _start_outputs(
    config: Config,
    destinations: Destinations,
    *,
    source_fps: float,
    face_points: int,
    on_upload: UploadHandler | None,
    on_calibrate: CalibrateHandler | None,
) -> Outputs:
    sinks: list[Sink] = []
    udp: list[tuple[str, UdpSink]] = []
    described: list[str] = []
    websocket = None
    try:
        for output in UDP_OUTPUTS:
            targets = output.targets(config)
            if targets:
                udp_sink = _paced(
                    output, config, output.sink(config, [destinations[t] for t in targets])
                )
                sinks.append(udp_sink)
                udp.append((output.label(config), udp_sink))
                pace = (
                    f" at {config.outputs.rate_hz:g} Hz" if isinstance(udp_sink, PacedSink) else ""
                )
                described.extend(f"{output.label(config)} to {target}{pace}" for target in targets)
        ws_endpoint = config.ws_endpoint()
        if ws_endpoint is not None:
            hello = encode_hello(None, source_fps, face_points)
            websocket = websocket_server(config, ws_endpoint, hello, on_upload, on_calibrate)
            websocket.start()
            sinks.append(WebSocketSink(websocket, source_fps, face_points))
            described.insert(0, f"WebSocket on ws://{websocket.address}")
    except MocapError:
        Outputs(sinks, websocket, "", udp).close()
        raise
    return Outputs(sinks, websocket, ", ".join(described) or "no outputs", udp)


def _paced(output: UdpOutput, config: Config, sink: UdpSink) -> UdpSink:
    """An avatar output's sink, sending at outputs.rate_hz when that is set."""
    if not output.avatar or config.outputs.rate_hz <= 0.0:
        return sink
    return PacedSink(sink, config.outputs.rate_hz, lead_latency=config.outputs.lead_latency)


def websocket_server(
    config: Config,
    endpoint: HostPort,
    hello: str,
    on_upload: UploadHandler | None = None,
    on_calibrate: CalibrateHandler | None = None,
) -> WebSocketServer:
    """A server with the config's access rules and limits, serving the viewer's page."""
    server = config.server
    return WebSocketServer(
        endpoint,
        hello,
        access=AccessRules(
            token=server.token,
            allowed_origins=config.allowed_origins(),
            max_clients=server.max_clients,
        ),
        limits=InboundLimits(
            max_text_bytes=server.max_message_bytes,
            max_upload_bytes=server.max_upload_bytes,
            messages_per_s=server.max_messages_per_s,
        ),
        on_upload=on_upload,
        on_calibrate=on_calibrate,
        pages=load_viewer(),
    )
