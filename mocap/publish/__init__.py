"""Sinks that move already-encoded bytes to the outside; none of them blocks the pipeline."""

from mocap.publish.udp import UdpSender
from mocap.publish.websocket import WebSocketServer

__all__ = ["UdpSender", "WebSocketServer"]
