"""Helper threads yield to inference: lower_this_thread_priority changes only the caller."""

from __future__ import annotations

import os
import threading

from mocap.threads import BACKGROUND_NICE_STEP, MAX_NICE, lower_this_thread_priority


def test_lowers_only_the_calling_thread() -> None:
    main_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []

    def helper() -> None:
        lower_this_thread_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=helper)
    thread.start()
    thread.join()
    assert seen == [min(MAX_NICE, main_nice + BACKGROUND_NICE_STEP)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_nice
