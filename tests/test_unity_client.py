"""The Unity client's plain C# classes (clients/unity/Runtime/Protocol), compiled with mono's mcs
without warnings and run with mono by their own small runner (clients/unity/Tests): on a
recorded stream, and live against `mocap replay` (token, retry before the server is up,
reconnect after it restarts, a wrong token refused)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from mocap.skeleton import ARKIT_NAMES
from mocap.solve.humanoid import BONES, PARENTS
from tests.live_replay import RECORDED_STREAM, TOKEN, ClientProcess, replay, stop_replay
from tests.runs import REPO
from tests.support import free_port

UNITY = REPO / "clients" / "unity"

RESTART_REQUEST = "live: restart the server"  # LiveServerTests.RestartRequest


def run(command: Sequence[str | Path], timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=timeout_s,
        check=False,
    )  # fmt: skip


def summary(output: str) -> tuple[int, int]:
    match = re.search(r"^(\d+) passed, (\d+) failed$", output, re.MULTILINE)
    assert match, f"no summary line in:\n{output}"
    return int(match.group(1)), int(match.group(2))


@pytest.fixture(scope="module")
def run_tests(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The command that runs the compiled tests: mono and the test program."""
    mcs, mono = shutil.which("mcs"), shutil.which("mono")
    if mcs is None or mono is None:
        pytest.fail(
            "the Unity client's tests need mono's C# compiler and runtime: "
            "apt-get install mono-mcs (.ci/run installs it)"
        )
    exe = tmp_path_factory.mktemp("unity") / "MocapProtocolTests.exe"
    sources = sorted((UNITY / "Runtime" / "Protocol").glob("*.cs"))
    sources += sorted((UNITY / "Tests").glob("*.cs"))
    # C# 7.2 is mcs's newest; Unity compiles the same files with a newer compiler.
    result = run([mcs, "-langversion:7.2", "-warn:4", "-warnaserror+", f"-out:{exe}", *sources])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in result.stdout + result.stderr
    return [mono, str(exe)]


def test_protocol_classes_on_a_recorded_stream(run_tests: list[str]) -> None:
    result = run([*run_tests, "recorded", RECORDED_STREAM])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed, failed = summary(output)
    assert failed == 0, output
    assert passed >= 30, output


def test_bone_hierarchy_is_the_solvers(run_tests: list[str]) -> None:
    result = run([*run_tests, "hierarchy"])
    assert result.returncode == 0, result.stderr
    expected = [
        f"{name} {BONES[parent] if parent >= 0 else '-'}"
        for name, parent in zip(BONES, PARENTS, strict=True)
    ]
    assert result.stdout.splitlines() == expected


def test_arkit_names_are_mocaps(run_tests: list[str]) -> None:
    result = run([*run_tests, "arkit"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == list(ARKIT_NAMES)


def test_client_receives_a_live_replay_retries_and_reconnects(run_tests: list[str]) -> None:
    port = free_port()
    # The client starts first: its first attempts fail and it must keep retrying.
    with ClientProcess([*run_tests, "live", f"ws://127.0.0.1:{port}/", TOKEN]) as client:
        with replay(port) as first:
            client.wait_for_lines(RESTART_REQUEST)
            stop_replay(first)
        with replay(port) as second:
            code = client.wait(timeout_s=90)
            assert re.search(r"access: refused .*401", second.stderr()), second.stderr()
    output = client.output()
    assert code == 0, output
    assert summary(output) == (4, 0), output
