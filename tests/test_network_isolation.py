"""No network use but what the user configured, shown two ways on the real pipeline."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from websockets.sync.client import connect

from tests.audited_mocap import EXIT_VIOLATION
from tests.runs import REPO, VIDEO, MocapProcess, UdpCollector, mocap_env

AUDITED = [str(REPO / "tests" / "audited_mocap.py")]
FRAMES = 60


def test_the_pipeline_touches_the_network_only_for_its_configured_outputs() -> None:
    """Every connect, bind, sendto and name lookup of the whole run (model loading included)
    goes through an audit hook that kills the run on anything but the two outputs."""
    with UdpCollector() as udp:
        allowed = ["127.0.0.1:0", f"127.0.0.1:{udp.port}"]
        with MocapProcess(
            "run", "--video", VIDEO, "--no-realtime", "--no-preview", "--frames", str(FRAMES),
            "--osc", f"127.0.0.1:{udp.port}", "--ws", "127.0.0.1:0",
            launcher=[*AUDITED, *allowed, "--"],
        ) as mocap:  # fmt: skip
            url = mocap.wait_for_line(r"WebSocket on (ws://[^\s,]+)").group(1)
            with connect(url) as client:
                assert '"hello"' in str(client.recv(timeout=30))
            assert mocap.wait(90) == 0, mocap.stderr()
        udp.wait_for_count(FRAMES)
    assert "AUDIT" not in mocap.stderr()


def test_the_audit_hook_does_stop_an_unlisted_address() -> None:
    """The check above is only as good as its hook: an output left off the list is caught."""
    with UdpCollector() as udp, MocapProcess(
        "run", "--video", VIDEO, "--no-realtime", "--no-preview", "--frames", "5",
        "--osc", f"127.0.0.1:{udp.port}",
        launcher=[*AUDITED, "127.0.0.1:0", "--"],
    ) as mocap:  # fmt: skip
        assert mocap.wait(60) == EXIT_VIOLATION
    assert f"AUDIT: socket.getaddrinfo ('127.0.0.1', {udp.port}" in mocap.stderr()


def _can_unshare_network() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], check=False).returncode == 0
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not _can_unshare_network(), reason="needs root for `unshare -n`")
def test_mocap_runs_end_to_end_in_a_namespace_with_only_loopback() -> None:
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "tests.netns_probe"],
        cwd=REPO,
        env=mocap_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["interfaces"] == ["lo"]  # nothing but loopback exists in there
    assert report["exit_code"] == 0, report["stderr"]
    assert report["datagrams"] == 40
    assert report["ws_messages"] >= 2  # the hello and frames
    assert "Traceback" not in report["stderr"]
