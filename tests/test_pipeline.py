"""The loop with the real model and a real file source: a failing output loses only its frames."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import closing

import numpy as np
import pytest

from mocap.bench.run import decode_all
from mocap.config import GuardConfig, ModelConfig, SolverConfig
from mocap.errors import SourceError
from mocap.frames import ImageArray, ImageSize, PoseFrame, VideoFrame, is_present
from mocap.pipeline import Pipeline
from mocap.publish.sinks import Published
from mocap.solve import AvatarFrame, AvatarSolver
from mocap.sources.base import Source
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


# --- when a frame is published: during the next frame's inference if that frame is waiting ---


class ListSource(Source):
    """Frames from a list; frame_waiting says whether the next one (or the end) is ready, as a
    file decoded ahead does, or never (a camera that has nothing queued when inference ends).
    failure: raised after the last frame, as a file that cannot be decoded further."""

    def __init__(self, count: int, *, waiting: bool, failure: Exception | None = None) -> None:
        super().__init__("list", live=not waiting, nominal_fps=25.0)
        self._waiting = waiting
        self._failure = failure
        self._frames = [
            VideoFrame(i, i / 25, np.zeros((360, 640, 3), np.uint8), 0.0) for i in range(count)
        ]

    def frames(self, stop: threading.Event) -> Iterator[VideoFrame]:
        while self._frames and not stop.is_set():
            yield self._frames.pop(0)
        if self._failure is not None:
            raise self._failure

    def frame_waiting(self) -> bool:
        return self._waiting

    def close(self) -> None:
        return None

    @property
    def dropped(self) -> int:
        return 0

    @property
    def reconnects(self) -> int:
        return 0


class NotingTracker:
    """A recording's landmarks, noting when each inference starts and ends, and when the work
    the pipeline gives it to do meanwhile runs."""

    def __init__(self, events: list[str]) -> None:
        self._recorded = recorded_tracker()
        self.face_points = self._recorded.face_points
        self.blendshape_call_s = self._recorded.blendshape_call_s
        self._events = events

    def process(
        self,
        image_bgr: ImageArray,
        *,
        index: int,
        timestamp_s: float,
        source_size: ImageSize,
        while_inferring: Callable[[], None] | None = None,
    ) -> PoseFrame:
        self._events.append(f"infer {index}")
        if while_inferring is not None:
            while_inferring()
        self._events.append(f"found {index}")
        return self._recorded.process(image_bgr, index=index, timestamp_s=timestamp_s,
                                      source_size=source_size)  # fmt: skip

    def close(self) -> None:
        self._recorded.close()


class NotingSink:
    def __init__(self, events: list[str]) -> None:
        self._events = events

    def publish(self, frame: Published) -> None:
        self._events.append(f"publish {frame.pose.index}")

    def close(self) -> None:
        return None


def run_noting(source: Source) -> list[str]:
    events: list[str] = []
    stats = RunStats()
    pipeline = Pipeline(source, NotingTracker(events), GuardConfig(), [NotingSink(events)], stats)
    pipeline.run(threading.Event())
    assert stats.frames_out == 3
    return events


def test_with_the_next_frame_waiting_a_frame_is_published_during_its_inference() -> None:
    assert run_noting(ListSource(3, waiting=True)) == [
        "infer 0", "found 0",
        "infer 1", "publish 0", "found 1",
        "infer 2", "publish 1", "found 2",
        "publish 2",  # the last one, once the source has ended
    ]  # fmt: skip


def test_with_no_frame_waiting_a_frame_is_published_at_once() -> None:
    """A camera the pipeline keeps up with: waiting for its next frame would add a frame's
    interval to the latency."""
    assert run_noting(ListSource(3, waiting=False)) == [
        "infer 0", "found 0", "publish 0",
        "infer 1", "found 1", "publish 1",
        "infer 2", "found 2", "publish 2",
    ]  # fmt: skip


def test_a_frame_left_for_the_next_inference_is_published_when_the_source_fails() -> None:
    events: list[str] = []
    source = ListSource(2, waiting=True, failure=SourceError("the file is cut short"))
    pipeline = Pipeline(source, NotingTracker(events), GuardConfig(), [NotingSink(events)],
                        RunStats())  # fmt: skip
    with pytest.raises(SourceError, match="cut short"):
        pipeline.run(threading.Event())
    assert events == ["infer 0", "found 0", "infer 1", "publish 0", "found 1", "publish 1"]


def test_a_frame_left_for_the_next_inference_is_published_when_the_next_is_refused() -> None:
    events: list[str] = []
    source = ListSource(3, waiting=True)
    source._frames[1] = VideoFrame(1, 0.04, np.zeros((4, 4, 3), np.uint8), 0.0)  # too small
    stats = RunStats()
    pipeline = Pipeline(source, NotingTracker(events), GuardConfig(), [NotingSink(events)], stats)
    pipeline.run(threading.Event())
    assert events == ["infer 0", "found 0", "publish 0", "infer 2", "found 2", "publish 2"]


def test_a_failure_in_the_work_done_during_inference_leaves_the_tracker_usable() -> None:
    """The default backend of this Python (legacy on 3.11, tasks on 3.13): the frame in flight is
    waited for and freed, the error reaches the caller, and the next frame is found."""
    image = decode_all(VIDEO, 1)[0]
    size = ImageSize.of(image)

    def failing() -> None:
        raise ZeroDivisionError("a solver bug")

    with closing(open_tracker(ModelConfig())) as tracker:
        with pytest.raises(ZeroDivisionError, match="a solver bug"):
            tracker.process(image, index=0, timestamp_s=0.0, source_size=size,
                            while_inferring=failing)  # fmt: skip
        pose = tracker.process(image, index=1, timestamp_s=0.04, source_size=size)
    assert is_present(pose.pose) and is_present(pose.face)
