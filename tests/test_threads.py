"""Helper threads yield to inference: lower_this_thread_priority changes only the caller."""

from __future__ import annotations

import os
import threading

from mocap.threads import lower_this_thread_priority


def test_puts_only_the_calling_thread_in_the_idle_class() -> None:
    main_policy = os.sched_getscheduler(threading.get_native_id())
    seen: list[int] = []

    def helper() -> None:
        lower_this_thread_priority()
        seen.append(os.sched_getscheduler(threading.get_native_id()))

    thread = threading.Thread(target=helper)
    thread.start()
    thread.join()
    assert seen == [os.SCHED_IDLE]
    assert os.sched_getscheduler(threading.get_native_id()) == main_policy == os.SCHED_OTHER
