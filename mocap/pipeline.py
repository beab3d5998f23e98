"""The loop, and only the loop: frames -> guard -> detect -> smooth -> solve -> publish.

It runs on its own thread and keeps the stats. Everything it calls is either pure or a
non-blocking hand-off, so its pace is inference's pace; a slow preview or client only loses
frames of its own.

When the next frame is already waiting (a file, or a camera faster than inference), a frame's
smoothing, solving and publishing run while the next frame's inference computes on the model's
own threads (the tracker calls back once it has handed the image over), instead of between two
inferences: inference uses about 1.3 of 2 cores, so this work then costs the loop little, and
the frame waits only for the next one's hand-off (its colour conversion and copy). When no frame
is waiting (a camera the pipeline keeps up with), the frame is published at once. The stats'
inference time is the tracker call's, so it includes whatever of that work inference waited for.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mocap.config import GuardConfig
from mocap.errors import FrameRefused
from mocap.frames import ImageSize, PoseFrame, VideoFrame
from mocap.publish.sinks import Published, Sink
from mocap.solve.avatar import AvatarFrame
from mocap.sources.base import Source
from mocap.stats import RunStats
from mocap.threads import LatestSlot
from mocap.track import Tracker, guards

log = logging.getLogger("mocap.pipeline")

PoseFilter = Callable[[PoseFrame], PoseFrame]
Solver = Callable[[PoseFrame], AvatarFrame]
PreviewItem = tuple[VideoFrame, PoseFrame]


@dataclass(frozen=True)
class _Inferred:
    """A frame whose landmarks are found, not yet smoothed, solved and published."""

    video_frame: VideoFrame
    pose: PoseFrame
    inference_s: float


class Pipeline:
    def __init__(
        self,
        source: Source,
        tracker: Tracker,
        guard_config: GuardConfig,
        sinks: Sequence[Sink],
        stats: RunStats,
        *,
        pose_filter: PoseFilter | None = None,
        solver: Solver | None = None,
        max_frames: int = 0,
        preview: LatestSlot[PreviewItem] | None = None,
    ) -> None:
        self.source = source
        self.tracker = tracker
        self.guard_config = guard_config
        self.sinks = sinks
        self.stats = stats
        self.pose_filter = pose_filter
        self.solver = solver
        self.max_frames = max_frames  # 0: no limit
        self.preview = preview
        self._unpublished: _Inferred | None = None

    def run(self, stop: threading.Event) -> None:
        """Process frames until the source ends, a limit is reached or stop is set."""
        try:
            for video_frame in self.source.frames(stop):
                self.stats.frame_arrived(time.monotonic())
                self.process(video_frame)
                if stop.is_set() or 0 < self.max_frames <= self.stats.frames_in:
                    break
        finally:  # also when the source or the tracker fails: the frame before it was found
            self.publish_unpublished()

    def process(self, video_frame: VideoFrame) -> None:
        try:
            inference_image = guards.prepare(video_frame.image, self.guard_config)
        except FrameRefused as refusal:
            if self.stats.frame_refused(refusal.reason):
                log.warning(
                    "frame %d refused, %s (further ones are counted)", video_frame.index, refusal
                )
            self.publish_unpublished()
            return
        inference_start_s = time.perf_counter()
        pose = self.tracker.process(
            inference_image,
            index=video_frame.index,
            timestamp_s=video_frame.timestamp_s,
            source_size=ImageSize.of(video_frame.image),
            while_inferring=self.publish_unpublished,
        )
        inferred = _Inferred(video_frame, pose, time.perf_counter() - inference_start_s)
        if self.source.frame_waiting():
            self._unpublished = inferred  # published during the next frame's inference
        else:
            self.publish(inferred)

    def publish_unpublished(self) -> None:
        """Publish the frame left for the next inference's time, if one is."""
        inferred, self._unpublished = self._unpublished, None
        if inferred is not None:
            self.publish(inferred)

    def publish(self, inferred: _Inferred) -> None:
        """Smooth, solve and send one frame, and count it."""
        video_frame, pose = inferred.video_frame, inferred.pose
        solve_start_s = time.perf_counter()
        if self.pose_filter is not None:
            pose = self.pose_filter(pose)
        published = Published(
            seq=self.stats.frames_out,
            t_s=video_frame.timestamp_s,
            pose=pose,
            avatar=self.solver(pose) if self.solver is not None else None,
            captured_monotonic_s=video_frame.captured_monotonic_s,
        )
        publish_start_s = time.perf_counter()
        for sink in self.sinks:
            self.publish_to(sink, published)
        sent_s = time.monotonic()
        self.stats.frame_published(
            inference_s=inferred.inference_s,
            solve_s=publish_start_s - solve_start_s,
            publish_s=time.perf_counter() - publish_start_s,
            latency_s=sent_s - video_frame.captured_monotonic_s,
            now_s=sent_s,
        )
        if self.preview is not None:
            self.preview.put((video_frame, pose))

    def publish_to(self, sink: Sink, published: Published) -> None:
        """One sink's fault loses that sink's frame, never the run (counted, logged once)."""
        try:
            sink.publish(published)
        except Exception:  # a bug in one output must not stop the others
            if self.stats.publish_failed(type(sink).__name__):
                log.exception(
                    "frame %d could not be published (further ones are counted)", published.seq
                )
