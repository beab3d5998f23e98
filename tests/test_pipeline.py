"""The loop with the real model and a real file source: a failing output loses only its frames."""

from __future__ import annotations

import threading
from contextlib import closing

import pytest

from mocap.config import GuardConfig, ModelConfig, SolverConfig
from mocap.frames import ImageSize, PoseFrame
from mocap.pipeline import Pipeline
from mocap.publish.sinks import Published
from mocap.solve import AvatarFrame, AvatarSolver
from mocap.sources.video import open_video
from mocap.stats import RunStats, summary_lines
from mocap.track import open_tracker
from mocap.track.recorded import RecordedTracker
from tests.runs import DATA, VIDEO, VIDEO_FRAMES


class Collecting:
    def __init__(self) -> None:
        self.frames: list[Published] = []

    def publish(self, frame: Published) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        return None


class FailingOnEvenFrames:
    def publish(self, frame: Published) -> None:
        if frame.seq % 2 == 0:
            raise ValueError("a bug in an encoder")

    def close(self) -> None:
        return None


def test_a_failing_sink_does_not_stop_the_others_or_the_run() -> None:
    stats = RunStats()
    collected = Collecting()
    with (
        closing(open_tracker(ModelConfig())) as tracker,
        open_video(VIDEO, realtime=False) as source,
    ):
        pipeline = Pipeline(source, tracker, GuardConfig(), [FailingOnEvenFrames(), collected],
                            stats, max_frames=6)  # fmt: skip
        pipeline.run(threading.Event())
    assert [frame.seq for frame in collected.frames] == list(range(6))
    assert stats.publish_failures == {"FailingOnEvenFrames": 3}
    assert "frames not published: 3 by FailingOnEvenFrames" in summary_lines(stats, 0, 1.0)
    assert all(frame.avatar is None for frame in collected.frames)  # no solver given
    times = [frame.t_s for frame in collected.frames]
    assert times == sorted(times) and times[0] == 0.0


# --- the loop on a recording's landmarks (no model) ------------------------------------------

RECORDING = DATA / "recording_thumbs_up.jsonl.gz"
_NO_AVATAR = AvatarSolver(SolverConfig())(PoseFrame.empty(0, 0.0, ImageSize(640, 360), 478))


def recorded_tracker() -> RecordedTracker:
    def unexpected(line: int, reason: str) -> None:
        raise AssertionError(f"line {line}: {reason}")

    return RecordedTracker(RECORDING, unexpected)


def test_every_detected_frame_is_published_in_order() -> None:
    collected = Collecting()
    stats = RunStats()
    solved: list[int] = []

    def solver(pose: PoseFrame) -> AvatarFrame:
        solved.append(pose.index)
        return _NO_AVATAR

    with open_video(VIDEO, realtime=False) as source:
        pipeline = Pipeline(source, recorded_tracker(), GuardConfig(), [collected], stats,
                            solver=solver)  # fmt: skip
        pipeline.run(threading.Event())
    assert [frame.seq for frame in collected.frames] == list(range(VIDEO_FRAMES))
    assert [frame.pose.index for frame in collected.frames] == list(range(VIDEO_FRAMES))
    assert solved == list(range(VIDEO_FRAMES))  # solved in order, once each
    assert stats.frames_out == VIDEO_FRAMES


def test_a_bug_in_the_solver_ends_the_run_with_its_error() -> None:
    def failing_solver(pose: PoseFrame) -> AvatarFrame:
        if pose.index == 5:
            raise ZeroDivisionError("a solver bug")
        return _NO_AVATAR

    collected = Collecting()
    with open_video(VIDEO, realtime=False) as source:
        pipeline = Pipeline(source, recorded_tracker(), GuardConfig(), [collected], RunStats(),
                            solver=failing_solver)  # fmt: skip
        with pytest.raises(ZeroDivisionError, match="a solver bug"):
            pipeline.run(threading.Event())
    assert [frame.seq for frame in collected.frames] == list(range(5))
