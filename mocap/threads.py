"""Threads: helpers yield the CPU to inference, items pass in one slot, signals set a stop.

MediaPipe's graph keeps more than one core of a small machine busy; decoding, sending and writing
at the same priority slow it down (measured by `mocap bench`). On Linux each helper thread
therefore takes a nice value BACKGROUND_NICE_STEP higher (a tenth of the CPU weight of a normal
thread) and the SCHED_BATCH class, whose threads do not preempt a running thread when they wake.

Not SCHED_IDLE, though it measured up to 2% faster on a quiet machine: an idle-class thread gets
almost no CPU while any other process keeps the cores busy (a game, a build), and a Python helper
starved that way while it holds the GIL stops every other thread of the process. Beside two busy
processes on two cores, a two-frame run did not finish in 60 s (tests/test_threads.py). A niced
thread still gets its share of a busy core, so it hands the GIL back within a few time slices.
The main thread keeps its priority for the same reason: it also runs Python (the preview, the
shutdown). A thread cannot raise its priority again, so only threads that stay helpers call this.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Generic, TypeVar

BACKGROUND_NICE_STEP = 10
EXIT_SIGINT = 130
EXIT_SIGTERM = 143
MAX_NICE = 19


def lower_this_thread_priority() -> None:
    """Make the calling thread yield the CPU to the threads at normal priority."""
    if sys.platform != "linux":
        return
    thread_id = threading.get_native_id()
    with suppress(OSError):  # a sandbox may refuse the class: the nice value alone still helps
        os.sched_setscheduler(thread_id, os.SCHED_BATCH, os.sched_param(0))
    try:
        nice = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(MAX_NICE, nice + BACKGROUND_NICE_STEP))
    except OSError:
        return  # a sandbox that forbids both: the run is merely slower


# --- a one-slot mailbox between two threads: the writer never waits, the reader gets the newest.
# Used wherever a slow consumer must not stall a producer (capture -> pipeline, pipeline ->
# preview): an item replaced before it was taken is counted as dropped.
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

    def filled(self) -> bool:
        """Whether an item is waiting (a snapshot: another thread may put or take next)."""
        return self._item is not None

    def take(self, timeout_s: float) -> T | None:
        """The newest item, waiting up to timeout_s for one; None when none came."""
        with self._filled:
            if self._item is None:
                self._filled.wait(timeout_s)
            item, self._item = self._item, None
            return item


class StopSignals:
    """SIGINT and SIGTERM set the stop event and remember the exit code they stand for."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.exit_code = 0

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.exit_code = EXIT_SIGTERM if signum == signal.SIGTERM else EXIT_SIGINT
        self.stop.set()

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals can only be handled on the main thread (e.g. in tests)
            return
        previous = {
            sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
