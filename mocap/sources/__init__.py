"""Where frames come from: a camera, a video file, a network stream, or the bundled demo clip.

Live sources (a camera, a stream, a file played in realtime) read in a capture thread that keeps
only the newest frame in a one-slot buffer, so a slow consumer loses old frames (counted in
`dropped`) instead of falling behind. A camera or stream that stops delivering is reopened with
exponential back-off; `frames()` gives up with SourceError(at_start=False) after
`lost_after_s` without a frame. A file played with realtime=False yields every frame in order,
decoded a few frames ahead in a thread so that decoding overlaps the consumer's work.

The capture thread starts at the first `frames()` call, not at open: a file must not play, and a
camera must not be counted as dropping, while the rest of the program is still starting.
A camera's or stream's timestamps count from that moment; a file's are its own (container) time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mocap.config import SourceConfig
from mocap.sources.base import Source
from mocap.sources.camera import open_camera_source
from mocap.sources.stream import STREAM_SCHEMES, open_stream
from mocap.sources.video import demo_video_path, open_video

__all__ = ["SOURCE_KINDS", "Source", "SourceKind", "open_source"]


@dataclass(frozen=True)
class SourceKind:
    """One kind of source: whether a [source] config names it, and how to open it."""

    name: str
    named_by: Callable[[SourceConfig], bool]
    open: Callable[[SourceConfig], Source]


def _camera_setting(config: SourceConfig) -> int | str:
    camera = config.camera.strip() if isinstance(config.camera, str) else config.camera
    return int(camera) if isinstance(camera, str) and camera.isdigit() else camera


def _is_stream(config: SourceConfig) -> bool:
    camera = _camera_setting(config)
    return isinstance(camera, str) and camera.lower().startswith(STREAM_SCHEMES)


# The first kind the config names is opened. The demo clip loops when played in realtime; with
# realtime=False it plays once, every frame. A new kind of source is a module and a row here.
SOURCE_KINDS = (
    SourceKind(
        "demo",
        lambda config: config.demo,
        lambda config: open_video(demo_video_path(), realtime=config.realtime, loop=True),
    ),
    SourceKind(
        "video",
        lambda config: bool(config.video),
        lambda config: open_video(Path(config.video), realtime=config.realtime),
    ),
    SourceKind(
        "stream", _is_stream, lambda config: open_stream(str(_camera_setting(config)), config)
    ),
    SourceKind(
        "camera",
        lambda _config: True,
        lambda config: open_camera_source(_camera_setting(config), config),
    ),
)


def open_source(config: SourceConfig) -> Source:
    """The source the config names: the demo clip, else the video file, else a stream or a
    camera."""
    kind = next(kind for kind in SOURCE_KINDS if kind.named_by(config))
    return kind.open(config)
