"""Helpers for the engine clients' tests (clients/unity, clients/js, clients/blender): a live
`mocap replay` of a small recording with a token, on a port chosen before it starts, so that a
client can be started first (and must retry) and the server restarted on the same port (the
client must reconnect); mocap's WebSocket server looping RECORDED_STREAM's frames (which carry
the face's ARKit weights); and a client process whose output lines are collected on a thread."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mocap.addresses import HostPort, Origin
from mocap.publish.access import AccessRules
from mocap.publish.websocket import WebSocketServer
from tests.runs import DATA, REPO, BackgroundProcess, MocapProcess

# 36 frames of tests/data/face_hand_thumbs_up.mp4 (1280x720, 25 fps) with the solver's bones and
# blendshapes: `mocap run --video tests/data/face_hand_thumbs_up.mp4 --no-realtime --no-preview
# --solve --frames 36 --ws 127.0.0.1:0 --record tests/data/recording_thumbs_up.jsonl.gz`.
RECORDING = DATA / "recording_thumbs_up.jsonl.gz"
# A hello and four frames of it as a client received them (bones, blendshapes), with the face's
# ARKit weights that MediaPipe's FaceLandmarker (face_landmarker.task) gives on the same video
# frames, in the format of the "arkit" field: every client's tests parse it.
RECORDED_STREAM = REPO / "clients" / "unity" / "Tests" / "data" / "stream.jsonl"
TOKEN = "engine-client-test-token"
WS_LINE = r"WebSocket on ws://"
FRAME_INTERVAL_S = 0.04  # RECORDED_STREAM's source runs at 25 fps


@contextmanager
def replay(port: int, *extra: str | Path) -> Iterator[MocapProcess]:
    """`mocap replay` of RECORDING, looping, on 127.0.0.1:port with TOKEN (and extra
    arguments); up when entered."""
    with MocapProcess(
        "replay", RECORDING, "--loop", "--ws", f"127.0.0.1:{port}", "--token", TOKEN, *extra
    ) as mocap:
        mocap.wait_for_line(WS_LINE)
        yield mocap


def stop_replay(mocap: MocapProcess) -> None:
    """SIGTERM: the server stops cleanly and closes every client with code 1001."""
    mocap.process.terminate()
    assert mocap.wait(timeout_s=15) == 143, mocap.stderr()


class ClientProcess(BackgroundProcess):
    """A client program running in the background; its stdout and stderr lines collected."""

    def __init__(self, command: Sequence[str | Path], env: Mapping[str, str] | None = None) -> None:
        super().__init__(command, {**os.environ, **(env or {})}, merge_stdout=True)

    def output(self) -> str:
        return self.text()


def stream_frames(*, bones: bool) -> list[dict[str, Any]]:
    """RECORDED_STREAM's four frames; without bones (as `mocap run` without --solve sends them)
    the last one has also lost the face (no face points, "arkit": null)."""
    frames = [json.loads(line) for line in RECORDED_STREAM.read_text().splitlines()[1:]]
    if not bones:
        for frame in frames:
            del frame["bones"], frame["blendshapes"]
        frames[-1].update(face=None, arkit=None)
    return frames


def looped_frame(frames: Sequence[dict[str, Any]], seq: int) -> dict[str, Any]:
    """What publishing() sends as frame seq: frames[seq % len(frames)], with its seq and t."""
    return {**frames[seq % len(frames)], "seq": seq, "t": round(seq * FRAME_INTERVAL_S, 6)}


@contextmanager
def publishing(
    frames: Sequence[dict[str, Any]], *, token: str = "", origins: tuple[Origin, ...] = ()
) -> Iterator[int]:
    """mocap's WebSocket server on 127.0.0.1 sending RECORDED_STREAM's hello, then
    looped_frame(frames, 0), (frames, 1), ... 25 a second until the block ends; yields its
    port. token and origins: what it admits."""
    hello = RECORDED_STREAM.read_text().splitlines()[0]
    access = AccessRules(token=token, allowed_origins=origins)
    server = WebSocketServer(HostPort("127.0.0.1", 0), hello, access=access)
    server.start()
    stop = threading.Event()

    def publish() -> None:
        seq = 0
        while not stop.wait(FRAME_INTERVAL_S):  # the source's frame rate, not a wait for a state
            server.publish(json.dumps(looped_frame(frames, seq)))
            seq += 1

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    try:
        yield server.address.port
    finally:
        stop.set()
        thread.join(10)
        server.close()
