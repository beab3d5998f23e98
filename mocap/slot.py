"""A one-slot mailbox between two threads: the writer never waits, the reader gets the newest.

Used wherever a slow consumer must not stall a producer (capture -> pipeline, pipeline ->
preview): an item replaced before it was taken is counted as dropped.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    def __init__(self) -> None:
        self._item: T | None = None
        self._filled = threading.Condition()
        self.dropped = 0

    def put(self, item: T) -> None:
        """Store item, replacing (and counting) one that was not taken yet. Never blocks long."""
        with self._filled:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._filled.notify()

    def take(self, timeout_s: float) -> T | None:
        """The newest item, waiting up to timeout_s for one; None when none came."""
        with self._filled:
            if self._item is None:
                self._filled.wait(timeout_s)
            item, self._item = self._item, None
            return item
