"""Helper threads yield to inference: lower_this_thread_priority changes only the caller, to a
higher nice value and, where Linux allows it, the SCHED_BATCH class (the nice value alone is the
fallback, tested for real in a process whose seccomp filter refuses sched_setscheduler, as some
sandboxes do). And a run still finishes while other processes keep every core busy."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mocap.threads import BACKGROUND_NICE_STEP, MAX_NICE, lower_this_thread_priority
from tests.runs import VIDEO, mocap_env, run_mocap

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


def test_lowers_only_the_calling_thread_to_a_higher_nice_in_the_batch_class() -> None:
    before, after, helper = priorities_around_a_helper()
    main_policy, main_nice = before
    assert after == before and main_policy == os.SCHED_OTHER
    assert helper == (os.SCHED_BATCH, niced(main_nice))


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
    os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    refused = False
except PermissionError:
    refused = True
print(json.dumps({"refused": refused, "priorities": priorities_around_a_helper()}))
"""


@pytest.mark.skipif(platform.machine() not in SCHED_SETSCHEDULER, reason="syscall numbers")
def test_falls_back_to_a_higher_nice_alone_where_the_batch_class_is_refused() -> None:
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
    assert report["refused"], "the filter should refuse SCHED_BATCH"
    before, after, helper = (tuple(priority) for priority in report["priorities"])
    main_policy, main_nice = before
    assert after == before and main_policy == os.SCHED_OTHER
    assert helper == (os.SCHED_OTHER, niced(main_nice))


@contextmanager
def busy_processes(count: int) -> Iterator[None]:
    """count processes that each keep a core busy at normal priority (a game, a build)."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def test_a_run_finishes_while_other_processes_keep_every_core_busy(tmp_path: Path) -> None:
    # With its helper threads (decoder, WebSocket server, recorder) in SCHED_IDLE and its main
    # thread lowered, this run did not finish in 60 s (43 s at best): a starved helper holding
    # the GIL stopped the pipeline. It takes about 5 s now.
    with busy_processes(os.cpu_count() or 1):
        result = run_mocap(
            "run", "--video", VIDEO, "--no-preview", "--frames", "10", "--osc", "127.0.0.1:9",
            "--ws", "127.0.0.1:0", "--record", tmp_path / "run.jsonl", timeout_s=40,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "10 published" in result.stderr
