"""A paced avatar output: sends at a fixed rate from its own timer thread, each send carrying the
pose predicted for its own time (mocap.solve.predict), so the avatar moves smoothly whatever the
inference rate.

The pipeline hands each frame over through a one-slot mailbox (mocap.threads.LatestSlot) and
never waits. The timer thread, on each tick: takes the newest frame (if one came), maps the
monotonic clock onto the source's (SourceClock: the same clock as `t`, the recording's `t` and
/VMC/Ext/T), asks the prediction for the pose at that time and hands it to the wrapped sink,
whose `t` (/VMC/Ext/T) is that send time. The frame's world landmarks go along, interpolated to
that time too (VRChat's tracker positions come from them; VMC reads none). Ticks are due at
absolute times, so the rate does not drift; a thread held up for longer than MAX_BEHIND_S starts
afresh from now instead of sending a burst. The thread keeps normal priority (not the helpers'
higher nice value): a timer must keep time, and a tick's work (one prediction, one encode) is a
fraction of a millisecond.

Latency compensation (outputs.lead_latency): frames are placed on the sends' clock at their
capture instead of their hand-off, and the prediction leads by the measured capture-to-hand-off
latency on top of its bounded lead: the avatar is where the person is now, not where they were
when the frame was captured, at the price of overshooting a stop by up to speed x latency.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

from mocap.frames import PoseFrame, frozen
from mocap.publish.sinks import Published, UdpSink
from mocap.publish.udp import UdpSender
from mocap.solve.predict import Predictor, SourceClock
from mocap.threads import LatestSlot

log = logging.getLogger("mocap.publish")

MAX_BEHIND_S = 0.25
# Latency compensation leads by at most this (a stalled pipeline is not a latency to make up),
# following the measured latency at this rate per frame.
MAX_LEAD_S = 0.15
LATENCY_FOLLOW = 0.1
JOIN_TIMEOUT_S = 2.0


class PacedSink:
    """Wraps an avatar sink (VMC): publish() only hands the frame over; sends happen at rate_hz."""

    def __init__(self, sink: UdpSink, rate_hz: float, *, lead_latency: bool = False) -> None:
        self.sender: UdpSender = sink.sender
        self.sends = 0
        self._sink = sink
        self._period_s = 1.0 / rate_hz
        self._lead_latency = lead_latency
        self._latency_s = 0.0  # capture to hand-off, followed like the clock's offset
        self._slot: LatestSlot[tuple[Published, float]] = LatestSlot()
        self._stop = threading.Event()
        self._predictor = Predictor()
        self._clock = SourceClock()
        self._latest: Published | None = None
        self._thread = threading.Thread(target=self._run, name="mocap-paced", daemon=True)
        self._thread.start()

    def publish(self, frame: Published) -> None:
        if frame.avatar is not None:
            self._slot.put((frame, time.monotonic()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT_S)
        self._sink.close()

    def _observe(self, frame: Published, handed_monotonic_s: float) -> None:
        """Place the frame on the sends' clock: at its hand-off, or with lead_latency at its
        capture, so that the sends show where the person is now."""
        latency_s = min(max(handed_monotonic_s - frame.captured_monotonic_s, 0.0), MAX_LEAD_S)
        self._latency_s += LATENCY_FOLLOW * (latency_s - self._latency_s)
        if self._lead_latency:
            self._clock.observe(frame.t_s, frame.captured_monotonic_s)
        else:
            self._clock.observe(frame.t_s, handed_monotonic_s)

    def _run(self) -> None:
        due_s = time.monotonic()
        while not self._stop.wait(max(0.0, due_s - time.monotonic())):
            try:
                self._tick()
            except Exception:  # a bug here must not end the run: the pipeline goes on
                log.exception("the paced output failed; it stops sending")
                return
            due_s += self._period_s
            if time.monotonic() - due_s > MAX_BEHIND_S:
                due_s = time.monotonic()

    def _tick(self) -> None:
        handed = self._slot.take(0.0)
        if handed is not None:
            frame, handed_monotonic_s = handed
            assert frame.avatar is not None
            self._predictor.add(frame.t_s, frame.avatar, frame.pose.pose_world)
            self._observe(frame, handed_monotonic_s)
            self._latest = frame
        latest = self._latest
        if latest is None:
            return
        t_s = self._clock.at(time.monotonic())
        ahead_s = self._latency_s if self._lead_latency else 0.0
        self._sink.publish(
            Published(
                seq=self.sends,
                t_s=t_s,
                pose=self._pose_at(latest.pose, t_s),
                avatar=self._predictor.at(t_s, ahead_s),
                captured_monotonic_s=latest.captured_monotonic_s,
            )
        )
        self.sends += 1

    def _pose_at(self, pose: PoseFrame, t_s: float) -> PoseFrame:
        """The last frame's landmarks with its world landmarks as the prediction places them."""
        world = self._predictor.pose_world_at(t_s)
        if world is None:
            return pose
        return dataclasses.replace(pose, pose_world=frozen(world, *pose.pose_world.shape))
