"""Thread priorities: the helper threads yield the CPU to inference.

MediaPipe's graph keeps more than one core of a small machine busy; decoding, drawing, sending
and writing at the same priority slow it down (measured by `mocap bench`). On Linux each helper
thread is put in the SCHED_IDLE class: it runs whenever a core is free and gives way at once
when inference wants it back. SCHED_IDLE measured better than a nice value (0.95-0.97x inference
alone against 0.92-0.94x), since a niced thread still keeps a core for its time slice. Where the
class is not available (other systems, a sandbox that refuses it), a nice value is the fallback.
A thread cannot raise its priority again, so only threads that stay helpers call this.
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
        os.sched_setscheduler(thread_id, os.SCHED_IDLE, os.sched_param(0))
        return
    except OSError:
        pass
    try:
        nice = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(MAX_NICE, nice + BACKGROUND_NICE_STEP))
    except OSError:
        return  # a sandbox that forbids both: the run is merely slower
