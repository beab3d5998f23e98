"""Helper threads yield to inference: lower_this_thread_priority changes only the caller, into
SCHED_IDLE where Linux allows it, else to a higher nice value (the fallback, tested for real in
a process whose seccomp filter refuses sched_setscheduler, as some sandboxes do)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading

import pytest

from mocap.threads import BACKGROUND_NICE_STEP, MAX_NICE, lower_this_thread_priority
from tests.runs import mocap_env

# (scheduling policy, nice value) of a thread
Priority = tuple[int, int]


def priority_of(thread_id: int) -> Priority:
    return os.sched_getscheduler(thread_id), os.getpriority(os.PRIO_PROCESS, thread_id)


def priorities_around_a_helper() -> tuple[Priority, Priority, Priority]:
    """The main thread's priority before and after a helper lowered its own; the helper's."""
    main_id = threading.get_native_id()
    before = priority_of(main_id)
    seen: list[Priority] = []

    def helper() -> None:
        lower_this_thread_priority()
        seen.append(priority_of(threading.get_native_id()))

    thread = threading.Thread(target=helper)
    thread.start()
    thread.join()
    return before, priority_of(main_id), seen[0]


def niced(nice: int) -> int:
    return min(MAX_NICE, nice + BACKGROUND_NICE_STEP)


def test_lowers_only_the_calling_thread_into_the_idle_class_or_else_a_higher_nice() -> None:
    before, after, helper = priorities_around_a_helper()
    main_policy, main_nice = before
    assert after == before and main_policy == os.SCHED_OTHER
    assert helper in ((os.SCHED_IDLE, main_nice), (os.SCHED_OTHER, niced(main_nice)))


# The syscall number of sched_setscheduler and the seccomp architecture tag, per machine.
SCHED_SETSCHEDULER = {"x86_64": (144, 0xC000003E), "aarch64": (119, 0xC00000B7)}

REFUSING_CHILD = """
import ctypes, json, os, struct, sys
from tests.test_threads import priorities_around_a_helper
syscall, arch = int(sys.argv[1]), int(sys.argv[2])
LOAD, JUMP_IF_EQUAL, RETURN = 0x20, 0x15, 0x06
ALLOW, REFUSE_EPERM = 0x7FFF0000, 0x00050000 | 1
program = [  # (code, jump if true, jump if false, k): refuse sched_setscheduler, allow the rest
    (LOAD, 0, 0, 4), (JUMP_IF_EQUAL, 0, 3, arch),
    (LOAD, 0, 0, 0), (JUMP_IF_EQUAL, 0, 1, syscall),
    (RETURN, 0, 0, REFUSE_EPERM), (RETURN, 0, 0, ALLOW),
]
filters = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in program))
class Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
fprog = Program(len(program), ctypes.addressof(filters))
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or libc.prctl(
    PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0
):
    print(json.dumps({"seccomp": os.strerror(ctypes.get_errno())}))
    sys.exit(0)
try:
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    refused = False
except PermissionError:
    refused = True
print(json.dumps({"refused": refused, "priorities": priorities_around_a_helper()}))
"""


@pytest.mark.skipif(platform.machine() not in SCHED_SETSCHEDULER, reason="syscall numbers")
def test_falls_back_to_a_higher_nice_where_the_idle_class_is_refused() -> None:
    syscall, arch = SCHED_SETSCHEDULER[platform.machine()]
    child = subprocess.run(
        [sys.executable, "-c", REFUSING_CHILD, str(syscall), str(arch)],
        env=mocap_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(child.stdout)
    if "seccomp" in report:
        pytest.skip(f"no seccomp filters here: {report['seccomp']}")
    assert report["refused"], "the filter should refuse SCHED_IDLE"
    before, after, helper = (tuple(priority) for priority in report["priorities"])
    main_policy, main_nice = before
    assert after == before and main_policy == os.SCHED_OTHER
    assert helper == (os.SCHED_OTHER, niced(main_nice))
