"""Thread priorities: the helper threads yield the CPU to inference.

MediaPipe's graph keeps both cores of a small machine busy part of the time; decoding, drawing
and sending at the same priority slow it down by 15% (measured by `mocap bench`). At a lower
priority they run in the gaps instead. Linux sets a nice value per thread; elsewhere this is a
no-op.
"""

from __future__ import annotations

import os
import sys
import threading

BACKGROUND_NICE_STEP = 10
MAX_NICE = 19


def lower_this_thread_priority() -> None:
    """Make the calling thread yield the CPU to the threads at normal priority."""
    if sys.platform != "linux":
        return
    thread_id = threading.get_native_id()
    try:
        nice = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(MAX_NICE, nice + BACKGROUND_NICE_STEP))
    except OSError:
        return  # a sandbox that forbids it: the run is merely slower
