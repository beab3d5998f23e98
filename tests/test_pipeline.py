"""The loop with the real model and a real file source: a failing output loses only its frames."""

from __future__ import annotations

import threading
from contextlib import closing

from mocap.config import GuardConfig, ModelConfig
from mocap.pipeline import Pipeline
from mocap.publish.sinks import Published
from mocap.sources.video import open_video
from mocap.stats import RunStats, summary_lines
from mocap.track import open_tracker
from tests.runs import VIDEO


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
