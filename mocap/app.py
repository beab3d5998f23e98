"""Builds a run from a Config, starts the threads in order, and stops them in reverse.

Order at start: model (fails fast on a bad option), source (fails fast on a missing camera),
outputs (servers listening before the first frame), then the pipeline thread. The main thread
keeps the preview window (HighGUI wants it there), the stats line, live recalibration (the
preview's c key, a WebSocket client's request) and the signals.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from contextlib import ExitStack

from mocap.calibrate import LiveCalibration, configured_calibration, live_calibration
from mocap.config import Config
from mocap.errors import MocapError
from mocap.outputs import Outputs, check_exposure, open_outputs
from mocap.photos.uploads import PhotoUploads
from mocap.pipeline import Pipeline, PreviewItem
from mocap.preview.draw import draw
from mocap.preview.window import Key, PreviewWindow
from mocap.progress import FrameProgress
from mocap.publish.sinks import Sink
from mocap.recording.writer import RecordSink, start_recording
from mocap.solve.filter import FilteredSolver
from mocap.sources import Source, open_source
from mocap.stats import RunStats, overlay_lines, stats_line, summary_lines
from mocap.threads import LatestSlot, StopSignals
from mocap.track import Tracker, open_tracker
from mocap.track.holistic import warm_up
from mocap.track.smoothing import PoseSmoother

log = logging.getLogger("mocap")

JOIN_TIMEOUT_S = 5.0
TICK_S = 0.05


class Run:
    """One `mocap run`: everything built from the config, driven by run()."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.stop = threading.Event()
        self.stats = RunStats()
        self.preview_slot: LatestSlot[PreviewItem] | None = (
            LatestSlot() if config.preview.enabled else None
        )
        self.failure: MocapError | None = None
        self.outputs: Outputs | None = None
        self.source: Source | None = None
        self.recording: RecordSink | None = None
        self.solver: FilteredSolver | None = None
        self.calibration: LiveCalibration | None = None

    def run(self) -> int:
        """Run to the end; returns the exit code (0, or 130/143 when stopped by a signal)."""
        signals = StopSignals(self.stop)
        with ExitStack() as cleanup, signals.installed():
            destinations = check_exposure(self.config)  # refuses before anything starts
            self.solver, self.calibration = self.build_solver()  # a bad file: before the model
            tracker = open_tracker(self.config.model)
            cleanup.callback(tracker.close)
            self.source = open_source(self.config.source)
            cleanup.callback(self.source.close)
            uploads = PhotoUploads(self.config.model, self.config.photos)
            cleanup.callback(uploads.close)  # after the server has stopped sending it uploads
            self.outputs = open_outputs(
                self.config,
                cleanup,
                destinations,
                source_fps=self.source.nominal_fps,
                face_points=tracker.face_points,
                on_upload=uploads,
                on_calibrate=self.calibration.request,
            )
            log.info("reading %s; %s", self.source.description, self.outputs.description)
            self.recording = start_recording(self.config, self.source, tracker.face_points)
            if self.recording is not None:
                cleanup.callback(self.recording.close)
                log.info("recording to %s", self.recording.path)
            warm_up(tracker)
            pipeline = self.build_pipeline(self.source, tracker)
            worker = threading.Thread(
                target=self.run_pipeline, args=(pipeline,), name="mocap-pipeline", daemon=True
            )
            worker.start()
            self.supervise(worker)
            self.stop.set()
            self.source.close()  # unblocks a pipeline waiting for a frame
            worker.join(JOIN_TIMEOUT_S)
            if self.recording is not None:
                self.recording.close()  # every queued frame written before the summary counts it
            self.log_summary()
        if self.failure is not None:
            raise self.failure
        return signals.exit_code

    def build_solver(self) -> tuple[FilteredSolver | None, LiveCalibration]:
        """The solver (when an output needs it), with the configured calibration, and live
        recalibration (which, without a solver, only saves the file)."""
        calibration = configured_calibration(self.config)
        if not self.config.solver_runs():
            return None, live_calibration(self.config, lambda _: None)
        solver = FilteredSolver(
            self.config.solver,
            self.config.filter,
            calibration,
            estimate_lag=self.config.outputs.rate_hz > 0.0,  # only paced sends predict
        )
        return solver, live_calibration(self.config, solver.calibrate)

    def build_pipeline(self, source: Source, tracker: Tracker) -> Pipeline:
        assert self.outputs is not None and self.calibration is not None
        smoother = PoseSmoother(self.config.smoothing) if self.config.smoothing.enabled else None
        recording: list[Sink] = [self.recording] if self.recording is not None else []
        return Pipeline(
            source,
            tracker,
            self.config.guards,
            [*self.outputs.sinks, *recording, self.calibration],
            self.stats,
            pose_filter=smoother,
            solver=self.solver,
            max_frames=self.config.run.frames,
            preview=self.preview_slot,
        )

    def run_pipeline(self, pipeline: Pipeline) -> None:
        try:
            pipeline.run(self.stop)
        except MocapError as exc:
            self.failure = exc
        except Exception as exc:  # the thread's boundary: a bug must end the run with exit 1
            log.debug("the pipeline failed", exc_info=True)
            self.failure = MocapError(
                f"internal error in the pipeline: {exc!r} (--verbose shows the traceback)"
            )
        finally:
            self.stop.set()

    def supervise(self, worker: threading.Thread) -> None:
        """The main thread's loop: preview window (if any), stats lines, the duration limit."""
        window = self.open_window()
        deadline_s = self.config.run.duration_s or float("inf")
        # On the run's clock, like the duration: a slow start does not push the lines back.
        next_stats_s = self.stats.started_monotonic_s + self.config.stats.interval_s
        progress = self.open_progress()
        try:
            while worker.is_alive() and not self.stop.is_set():
                if window is not None:
                    self.show_newest(window)
                else:
                    self.stop.wait(TICK_S)
                if self.calibration is not None:
                    self.calibration.step()
                now_s = time.monotonic()
                if now_s - self.stats.started_monotonic_s >= deadline_s:
                    break
                if self.config.stats.enabled and now_s >= next_stats_s:
                    log.info("%s", stats_line(self.stats, self.dropped(), self.clients()))
                    next_stats_s = now_s + self.config.stats.interval_s
                if progress is not None:
                    progress.update(self.stats.frames_in, now_s)
        finally:
            if window is not None:
                window.close()
            if progress is not None:
                progress.finish(self.stats.frames_in, time.monotonic())

    def open_progress(self) -> FrameProgress | None:
        """A progress bar when recording a file read frame by frame, whose length is known."""
        source = self.source
        if self.recording is None or source is None or source.live or not source.total_frames:
            return None
        total = source.total_frames
        if self.config.run.frames:
            total = min(total, self.config.run.frames)
        return FrameProgress(sys.stderr, total, time.monotonic())

    def open_window(self) -> PreviewWindow | None:
        if self.preview_slot is None:
            return None
        window = PreviewWindow()
        if window.open("mocap preview (q or Esc to quit)"):
            return window
        log.warning(
            "no display for the preview window; running headless (--no-preview hides this notice)"
        )
        self.preview_slot = None
        return None

    def show_newest(self, window: PreviewWindow) -> None:
        assert self.preview_slot is not None
        item = self.preview_slot.take(TICK_S)
        calibration = self.calibration
        if item is not None:
            video_frame, pose = item
            countdown = calibration.overlay() if calibration is not None else []
            window.show(
                draw(
                    video_frame.image,
                    pose,
                    [*overlay_lines(self.stats), *countdown],
                    draw_face=self.config.preview.draw_face,
                )
            )
        key = window.poll_key(1)
        if key is Key.QUIT:
            self.stop.set()
        elif key is Key.CALIBRATE and calibration is not None:
            log.info("recalibrating; saving to %s", calibration.path)
            calibration.request()

    def dropped(self) -> int:
        return self.source.dropped if self.source is not None else 0

    def clients(self) -> int:
        return self.outputs.clients() if self.outputs is not None else 0

    def log_summary(self) -> None:
        elapsed_s = time.monotonic() - self.stats.started_monotonic_s
        for line in summary_lines(self.stats, self.dropped(), elapsed_s):
            log.info("%s", line)
        for line in self.outputs.summary_lines() if self.outputs is not None else []:
            log.info("%s", line)
        if self.recording is not None:
            log.info("%s", self.recording.summary())
