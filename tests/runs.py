"""Helpers for end-to-end tests: run `mocap` as a user would, and receive what it sends."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
VIDEO = DATA / "face_hand_thumbs_up.mp4"
VIDEO_FRAMES = 195


def mocap_env(display: str | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if display is not None:
        env["DISPLAY"] = display
    return env


def run_mocap(*args: str | Path, timeout_s: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mocap", *map(str, args)],
        env=mocap_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


ProcessT = TypeVar("ProcessT", bound="BackgroundProcess")


class BackgroundProcess:
    """A program running in the background; the lines of its stderr (or of stdout and stderr
    merged) collected on a thread. As a context manager it kills a process a test left running
    and closes its pipe."""

    def __init__(
        self, command: Sequence[str | Path], env: Mapping[str, str], *, merge_stdout: bool
    ) -> None:
        self.process = subprocess.Popen(
            [str(part) for part in command],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if merge_stdout else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if merge_stdout else subprocess.PIPE,
            text=True,
        )
        pipe = self.process.stdout if merge_stdout else self.process.stderr
        assert pipe is not None
        self._pipe = pipe
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._pipe:
            self.lines.append(line.rstrip("\n"))

    def wait_for_lines(self, pattern: str, count: int = 1, timeout_s: float = 60) -> re.Match[str]:
        """The first line matching pattern, once count lines match."""
        deadline = time.monotonic() + timeout_s
        while True:
            matches = [m for line in list(self.lines) if (m := re.search(pattern, line))]
            if len(matches) >= count:
                return matches[0]
            assert self.process.poll() is None, f"the program exited early:\n{self.text()}"
            assert time.monotonic() < deadline, f"no {count} x {pattern!r} in:\n{self.text()}"
            time.sleep(0.05)

    def wait_for_line(self, pattern: str, timeout_s: float = 60) -> re.Match[str]:
        return self.wait_for_lines(pattern, 1, timeout_s)

    def wait(self, timeout_s: float = 60) -> int:
        return self.process.wait(timeout=timeout_s)

    def text(self) -> str:
        """What the process wrote so far (all of it once it has exited)."""
        if self.process.poll() is not None:
            self._reader.join(timeout=10)
        return "\n".join(self.lines)

    def __enter__(self: ProcessT) -> ProcessT:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        self._pipe.close()


class MocapProcess(BackgroundProcess):
    """`mocap ARGS...` in the background, its stderr collected.

    launcher: how Python starts mocap (a wrapper script may stand in for `-m mocap`).
    """

    def __init__(
        self,
        *args: str | Path,
        display: str | None = None,
        launcher: Sequence[str] = ("-m", "mocap"),
    ) -> None:
        command = [sys.executable, *launcher, *map(str, args)]
        super().__init__(command, mocap_env(display), merge_stdout=False)

    def stderr(self) -> str:
        return self.text()


# The kernel's receive time of each datagram (Linux): free of the reading thread's own delays.
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def _kernel_time_s(ancillary: list[tuple[int, int, bytes]]) -> float:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return float(seconds + nanoseconds / 1e9)
    return time.time()  # no timestamp from this kernel: the reading thread's time


class UdpCollector:
    """A UDP socket on 127.0.0.1 that keeps every datagram it receives, read on a thread, and
    when each arrived (arrivals_s: the kernel's receive timestamp, wall-clock seconds: compare
    them with each other only)."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.socket.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port: int = self.socket.getsockname()[1]
        self.datagrams: list[bytes] = []
        self.arrivals_s: list[float] = []
        self._running = True
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while self._running:
            try:
                datagram, ancillary, _, _ = self.socket.recvmsg(65536, 64)
            except TimeoutError:
                continue
            self.arrivals_s.append(_kernel_time_s(ancillary))
            self.datagrams.append(datagram)

    def wait_for_count(self, count: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.datagrams) < count:
            assert time.monotonic() < deadline, f"only {len(self.datagrams)} datagrams arrived"
            time.sleep(0.05)

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=5)
        self.socket.close()

    def __enter__(self) -> UdpCollector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def osc_frames(datagrams: list[bytes]) -> list[dict[str, list[Any]]]:
    """Each raw-landmark bundle as {address: arguments}, parsed by python-osc (untyped)."""
    frames = []
    for datagram in datagrams:
        bundle = OscBundle(datagram)
        frames.append(
            {item.address: list(item.params) for item in bundle if isinstance(item, OscMessage)}
        )
    return frames


def receive_all(url: str) -> list[Any]:
    """Every message a WebSocket client at url gets (hello first), parsed, until the server
    closes the connection (as it does when a run ends)."""
    messages = []
    with connect(url) as client:
        try:
            while True:
                messages.append(json.loads(client.recv(timeout=30)))
        except ConnectionClosed:
            return messages


def memory_bytes(pid: int, field: str) -> int:
    """A memory figure of a process from /proc/PID/status (VmHWM: its peak RSS so far, VmRSS:
    now); 0 once it has exited."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) * 1024 for line in lines if line.startswith(f"{field}:")), 0)


@dataclass(frozen=True)
class Captured:
    """What a UDP collector received from a run, and the run's stderr."""

    datagrams: list[bytes]
    arrivals_s: list[float]
    stderr: str


def paced_replay(
    recording: Path,
    flag: str,
    rate_hz: float,
    sends: int,
    count: Callable[[list[bytes]], int] = len,
) -> Captured:
    """`mocap replay --loop` of recording with one output (flag: --vmc or --vrchat) to 127.0.0.1
    at `--rate rate_hz`, stopped by SIGINT (exit code 130) once count(datagrams) reaches sends."""
    with (
        UdpCollector() as collector,
        MocapProcess("replay", recording, "--loop", flag, f"127.0.0.1:{collector.port}",
                     "--rate", str(rate_hz)) as mocap,
    ):  # fmt: skip
        deadline = time.monotonic() + 60.0
        while count(list(collector.datagrams)) < sends:
            assert time.monotonic() < deadline, mocap.stderr()
            time.sleep(0.01)
        mocap.process.send_signal(signal.SIGINT)
        assert mocap.wait(20) == 130
        return Captured(list(collector.datagrams), list(collector.arrivals_s), mocap.stderr())
