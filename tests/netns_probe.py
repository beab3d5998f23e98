"""Run inside a network namespace that has only loopback (see test_network_isolation.py).

Brings `lo` up, runs `mocap run` on the test video with OSC and WebSocket outputs on 127.0.0.1,
receives both here, in the same namespace, and prints one JSON line of what it saw.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from tests.runs import VIDEO, MocapProcess, UdpCollector, receive_all

FRAMES = 40


def main() -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    interfaces = [name for _, name in socket.if_nameindex()]
    with (
        UdpCollector() as udp,
        MocapProcess(
            "run", "--video", VIDEO, "--no-realtime", "--no-preview", "--frames", str(FRAMES),
            "--osc", f"127.0.0.1:{udp.port}", "--ws", "127.0.0.1:0",
        ) as mocap,
    ):  # fmt: skip
        url = mocap.wait_for_line(r"WebSocket on (ws://[^\s,]+)").group(1)
        messages = len(receive_all(url))
        exit_code = mocap.wait(60)
        udp.wait_for_count(FRAMES, timeout_s=10)
        report = {
            "interfaces": interfaces,
            "exit_code": exit_code,
            "datagrams": len(udp.datagrams),
            "ws_messages": messages,
            "stderr": mocap.stderr(),
        }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
