"""mocap: local, private, real-time motion capture streamed over OSC and WebSocket."""

__version__ = "0.1.0"
