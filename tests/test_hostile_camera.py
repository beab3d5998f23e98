"""`mocap run --camera URL` against a hostile MJPEG "network camera" (tests.mjpeg_server): each
misbehaviour ends in a clear outcome within a time limit, with the process's memory bounded."""

from __future__ import annotations

import re
import time

import pytest

from tests.mjpeg_server import MjpegServer
from tests.runs import MocapProcess, memory_bytes

RUN_S = 6
ENDS_WITHIN_S = 90.0  # the model's loading included, on a busy machine
MAX_GROWTH_BYTES = 300_000_000


def run_against(server: MjpegServer) -> tuple[int, str, int]:
    """Run mocap on the server's stream: its exit code, its stderr, and how much its peak RSS
    grew past its RSS once the model was loaded and the stream opened."""
    with MocapProcess("run", "--camera", server.url, "--no-preview", "--duration", str(RUN_S),
                      "--ws", "127.0.0.1:0") as mocap:  # fmt: skip
        pid = mocap.process.pid
        mocap.wait_for_line(r"reading stream", ENDS_WITHIN_S)
        started_bytes = memory_bytes(pid, "VmRSS")
        peak_bytes = started_bytes
        deadline_s = time.monotonic() + ENDS_WITHIN_S
        # VmHWM only grows: its last reading before the exit is the run's peak, near enough.
        while mocap.process.poll() is None:
            assert time.monotonic() < deadline_s, f"still running:\n{mocap.stderr()}"
            peak_bytes = max(peak_bytes, memory_bytes(pid, "VmHWM"))
            time.sleep(0.05)
        return mocap.wait(), mocap.stderr(), peak_bytes - started_bytes


@pytest.mark.parametrize(
    "misbehaviour",
    [
        "no-content-length",
        "giant-boundary",
        "50-mb-part",
        "endless-part",
    ],
)
def test_a_hostile_camera_ends_in_a_clear_outcome_with_memory_bounded(misbehaviour: str) -> None:
    with MjpegServer(size=(320, 240), fps=20.0, misbehaviour=misbehaviour) as server:
        code, stderr, growth_bytes = run_against(server)
    assert "Traceback" not in stderr
    assert growth_bytes < MAX_GROWTH_BYTES, f"grew by {growth_bytes / 1e6:.0f} MB"
    # These streams go on past their bad part: the run lasts its duration and publishes frames.
    assert code == 0, stderr
    published = re.search(r"frames: (\d+) in, (\d+) published", stderr)
    assert published is not None and int(published[2]) > 0, stderr
