"""Helpers for the engine clients' tests (clients/unity, clients/js): a live `mocap replay` of a
small recording with a token, on a port chosen before it starts, so that a client can be started
first (and must retry) and the server restarted on the same port (the client must reconnect);
and a client process whose output lines are collected on a thread."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

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
