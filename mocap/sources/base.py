"""What a source of frames is: the interface every camera, file and stream source implements."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType

from mocap.frames import VideoFrame


class Source(ABC):
    """Frames from one camera, file or stream. Close it (or use `with`) to release the device."""

    total_frames = 0
    """The frames a file source will give, as its container says; 0 when unknown or live."""

    def __init__(self, description: str, *, live: bool, nominal_fps: float) -> None:
        self.description = description
        self.live = live
        self.nominal_fps = nominal_fps

    @abstractmethod
    def frames(self, stop: threading.Event) -> Iterator[VideoFrame]:
        """Yield frames until the end of a file, or until stop is set (or close() is called)."""

    def frame_waiting(self) -> bool:
        """Whether frames() has its next frame (or its end) ready, to give without waiting. A
        hint for the pipeline, which then publishes a frame during the next one's inference;
        False where a source cannot tell."""
        return False

    @abstractmethod
    def close(self) -> None:
        """Release the capture and join the thread (with a time-out); safe to call again."""

    @property
    @abstractmethod
    def dropped(self) -> int:
        """Frames read but never yielded: overwritten before the consumer took them."""

    @property
    @abstractmethod
    def reconnects(self) -> int:
        """Successful reopenings of a camera or stream that had stopped delivering."""

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"
