"""The progress bar of offline runs: its text from counts, and when it is written."""

from __future__ import annotations

import io

import pytest

from mocap.progress import (
    PLAIN_INTERVAL_S,
    FrameProgress,
    duration_text,
    progress_line,
)
from tests.support import Terminal


@pytest.mark.parametrize(
    ("done", "total", "elapsed_s", "line"),
    [
        (120, 195, 5.0, "[##############..........] 120/195 frames  62% | 24.0 fps | 0:03 left"),
        (0, 195, 0.0, "[........................] 0/195 frames   0% | -- fps | --:-- left"),
        (195, 195, 9.75, "[########################] 195/195 frames 100% | 20.0 fps | 0:00 left"),
        (10, 54_000, 1.0, "[" + "." * 24 + "] 10/54000 frames   0% | 10.0 fps | 1:29:59 left"),
        (120, 0, 5.0, "120 frames | 24.0 fps"),
    ],
)
def test_progress_line(done: int, total: int, elapsed_s: float, line: str) -> None:
    assert progress_line(done, total, elapsed_s) == line


def test_more_frames_than_the_container_said_stay_at_a_full_bar() -> None:
    assert progress_line(200, 195, 10.0).startswith("[" + "#" * 24 + "] 200/195 frames 100%")


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (59.6, "1:00"), (3725, "1:02:05")])
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_plain_lines_every_few_seconds_then_the_final_one() -> None:
    stream = io.StringIO()
    progress = FrameProgress(stream, 100, started_s=0.0)
    for tick in range(1, 121):  # 12 s in ticks of 0.1 s
        progress.update(tick // 2, tick / 10)
    progress.finish(100, 12.5)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 12 // int(PLAIN_INTERVAL_S) + 1
    assert all(line.startswith("mocap: [") for line in lines)
    assert lines[-1].startswith("mocap: [" + "#" * 24 + "] 100/100 frames 100%")
    assert "\r" not in stream.getvalue()


def test_on_a_terminal_the_bar_is_redrawn_in_place() -> None:
    stream = Terminal()
    progress = FrameProgress(stream, 100, started_s=0.0)
    for tick in range(1, 11):
        progress.update(tick * 10, tick / 10)
    progress.finish(100, 1.0)
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    redraws = text.split("\r\x1b[K")[1:]
    assert len(redraws) == 4  # at 0.3, 0.6 and 0.9 s (0.25 s apart at least), and the final one
    assert redraws[-1].startswith("[" + "#" * 24 + "] 100/100 frames 100%")
