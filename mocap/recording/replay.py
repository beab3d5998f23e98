"""`mocap replay`: a recording published to the outputs again, with its original timing.

The outputs are a run's own (mocap.outputs: the same hello, the same frame messages, seq from
0), so a consumer cannot tell a replay from a live run. Timing is absolute: each frame is due at
the replay's start plus its offset in the recording divided by the speed, waited for on the
monotonic clock, so a late frame (a slow moment of the machine) does not delay the ones after
it and a long replay does not drift. With --loop the recording starts over one frame interval
after its last frame, on the same timeline, so `t` (and VMC's /VMC/Ext/T) keep increasing.

Bones and expressions go out as recorded; a recording made without the solver is solved here when
an output needs it (--vmc, or solver.enabled for the stream's bones), unless --no-solve. A
calibration (--calibration, or one made live: a WebSocket client's {"type": "calibrate"}) is
applied by solving the landmarks anew, recorded bones or not.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mocap.calibrate import configured_calibration, live_calibration
from mocap.config import Config
from mocap.encode.recording import RecordedFrame, mean_frame_interval_s
from mocap.outputs import check_exposure, open_outputs
from mocap.publish.sinks import Published, Sink
from mocap.recording.reader import LineProblems, RecordingReader
from mocap.solve import AvatarFrame
from mocap.solve.arkit import avatar_arkit
from mocap.solve.calibration import Calibration
from mocap.solve.filter import FilteredSolver
from mocap.threads import StopSignals

log = logging.getLogger("mocap")


# A speed outside these turns a frame's due time into hours or into an overflow.
MIN_SPEED = 0.01
MAX_SPEED = 100.0


@dataclass(frozen=True)
class ReplayOptions:
    speed: float = 1.0  # 2.0 plays twice as fast; within MIN_SPEED..MAX_SPEED
    loop: bool = False
    solve: bool = True  # solve a recording that has no bones when an output needs them


class Timeline:
    """Where each recorded frame falls on the replay's clock, across loops. Pure arithmetic.

    Offsets are seconds after the first frame is sent. A pass through the recording lasts from
    its first frame to its last plus one frame interval; later passes start where it ends.
    """

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.first_t_s: float | None = None
        self._pass_start_s = 0.0  # on the recording's clock, from its first frame

    def offset_s(self, t_s: float) -> float:
        """When the frame recorded at t_s (this pass) is due."""
        if self.first_t_s is None:
            self.first_t_s = t_s
        return (self._pass_start_s + t_s - self.first_t_s) / self.speed

    def sent_t_s(self, offset_s: float) -> float:
        """The `t` a frame due at offset_s carries: the recorded t on the first pass at speed 1,
        and the replay's own clock otherwise (so it always rises with the sending time)."""
        assert self.first_t_s is not None
        return self.first_t_s + offset_s

    def next_pass(self, last_t_s: float, interval_s: float) -> None:
        """Start the next pass interval_s after the last frame of this one."""
        assert self.first_t_s is not None
        self._pass_start_s += last_t_s - self.first_t_s + interval_s


def _with_recorded_mirror(
    config: Config, settings: Mapping[str, Any], calibration: Calibration | None
) -> Config:
    """config with solver.mirror as recorded when the recording's bones are sent as recorded:
    they are mirrored as they were solved, which the VRChat output (never mirrored) undoes by
    this key, and a live calibration's solver then keeps the same side (no flip mid-replay)."""
    recorded = settings.get("solver")
    mirror = recorded.get("mirror") if isinstance(recorded, dict) else None
    if calibration is not None or not isinstance(mirror, bool):
        return config
    return dataclasses.replace(config, solver=dataclasses.replace(config.solver, mirror=mirror))


class Replay:
    """One `mocap replay`: the recording is checked at construction (exit 2 if it is not one),
    the outputs start in run()."""

    def __init__(self, config: Config, path: Path, options: ReplayOptions) -> None:
        self.path = path
        self.options = options
        self.reader = RecordingReader(path)
        self.calibration = configured_calibration(config)
        self.config = _with_recorded_mirror(config, self.reader.header.settings, self.calibration)
        self.live_calibration = live_calibration(config, self.calibrate)
        self.active_solver: FilteredSolver | None = None
        self.stop = threading.Event()
        self.frames_sent = 0
        self.passes = 0
        self.problems = LineProblems(path)

    def run(self) -> int:
        """Replay to the end (or until stopped); returns 0, or 130/143 when stopped by a signal."""
        signals = StopSignals(self.stop)
        header = self.reader.header
        with ExitStack() as cleanup, signals.installed():
            destinations = check_exposure(self.config)
            outputs = open_outputs(
                self.config,
                cleanup,
                destinations,
                source_fps=header.source_fps,
                face_points=header.face_points,
                on_calibrate=self.live_calibration.request,
            )
            log.info(
                "replaying %s (%s, recorded %s) at speed %g%s; %s",
                self.path,
                header.source_description,
                header.started_utc,
                self.options.speed,
                ", looping" if self.options.loop else "",
                outputs.description,
            )
            started_s = time.monotonic()
            self.active_solver = self.solver()
            self.play([*outputs.sinks, self.live_calibration])
            self.problems.finish()
            log.info(
                "replayed %d frames in %.1f s (%d %s); %d lines skipped",
                self.frames_sent,
                time.monotonic() - started_s,
                self.passes,
                "pass" if self.passes == 1 else "passes",
                self.problems.count,
            )
            for line in outputs.summary_lines():
                log.info("%s", line)
        return signals.exit_code

    def solver(self) -> FilteredSolver | None:
        """A solver when an output wants bones and the recording has none, or a calibration is
        to be applied."""
        recorded = self.reader.header.settings.get("solver") is not None
        if not self.config.solver_runs() or (recorded and self.calibration is None):
            return None  # no bones wanted, or sent as recorded
        if not self.options.solve:
            if not recorded:
                log.warning(
                    "the recording has no solved bones and --no-solve is set: VMC gets none"
                )
            return None
        if recorded:
            log.info("solving the bones anew from the recording's landmarks, with the calibration")
        else:
            log.info("the recording has no solved bones: solving them from its landmarks")
        return FilteredSolver(
            self.config.solver,
            self.config.filter,
            self.calibration,
            estimate_lag=self.config.outputs.rate_hz > 0.0,  # only paced sends predict
        )

    def calibrate(self, calibration: Calibration) -> None:
        """Apply a live calibration: from the next frame, bones are solved with it."""
        self.calibration = calibration
        if self.active_solver is not None:
            self.active_solver.calibrate(calibration)
        else:
            self.active_solver = self.solver()

    def play(self, sinks: Sequence[Sink]) -> None:
        timeline = Timeline(self.options.speed)
        origin_s = 0.0
        for pass_number in itertools.count():
            if self.active_solver is not None:
                self.active_solver.reset()  # each pass is solved as the first one was
            frames, last_t_s = 0, 0.0
            report = self.problems if pass_number == 0 else _ignore_problem
            for frame in self.reader.frames(report):
                solver = self.active_solver
                avatar = self.recorded_avatar(frame) if solver is None else solver(frame.pose)
                offset_s = timeline.offset_s(frame.t_s)
                if self.frames_sent == 0:
                    origin_s = time.monotonic() - offset_s
                due_s = origin_s + offset_s
                if self.stop.wait(max(0.0, due_s - time.monotonic())):
                    return
                self.send(sinks, frame, avatar, timeline.sent_t_s(offset_s), due_s)
                self.live_calibration.step()
                frames, last_t_s = frames + 1, frame.t_s
            self.passes += 1
            if frames == 0:
                log.warning("%s has no frame to replay", self.path)
                return
            if not self.options.loop or self.stop.is_set():
                return
            assert timeline.first_t_s is not None
            interval_s = mean_frame_interval_s(
                timeline.first_t_s, last_t_s, frames, self.reader.header.source_fps
            )
            timeline.next_pass(last_t_s, interval_s)

    def recorded_avatar(self, frame: RecordedFrame) -> AvatarFrame | None:
        """The recorded bones, with the frame's ARKit weights on the avatar's sides by the
        config's mirror (a recording does not say which mirror its bones were solved with)."""
        if frame.avatar is None:
            return None
        arkit = avatar_arkit(frame.pose.arkit, self.config.solver.mirror)
        return replace(frame.avatar, arkit=arkit)

    def send(
        self,
        sinks: Sequence[Sink],
        frame: RecordedFrame,
        avatar: AvatarFrame | None,
        t_s: float,
        due_s: float,
    ) -> None:
        published = Published(
            seq=self.frames_sent,
            t_s=t_s,
            pose=frame.pose,
            avatar=avatar,
            captured_monotonic_s=due_s,
        )
        for sink in sinks:
            sink.publish(published)
        self.frames_sent += 1


def _ignore_problem(line_number: int, reason: str) -> None:
    """Later passes skip the same lines: they were reported on the first."""
