"""Builds a run from a Config, starts the threads in order, and stops them in reverse.

Order at start: model (fails fast on a bad option), source (fails fast on a missing camera),
outputs (servers listening before the first frame), then the pipeline thread. The main thread
keeps the preview window (HighGUI wants it there), the stats line and the signals.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from types import FrameType

from mocap.config import Config
from mocap.encode.frame_json import encode_hello
from mocap.encode.vmc import profile_named
from mocap.errors import MocapError
from mocap.exposure import check_exposure
from mocap.holistic import HolisticTracker, warm_up
from mocap.outputs import OscLandmarkSink, Sink, VmcSink, WebSocketSink
from mocap.pipeline import Pipeline, PreviewItem
from mocap.preview import PreviewWindow, draw
from mocap.progress import FrameProgress
from mocap.publish.access_log import open_access_log
from mocap.publish.websocket import UploadHandler, WebSocketServer
from mocap.record import RecordSink, start_recording
from mocap.slot import LatestSlot
from mocap.smoothing import PoseSmoother
from mocap.solve import AvatarSolver
from mocap.sources import Source, open_source
from mocap.stats import RunStats, overlay_lines, stats_line, summary_lines
from mocap.threads import lower_this_thread_priority
from mocap.webserver import PhotoUploads, viewer_url, websocket_server

log = logging.getLogger("mocap")

EXIT_SIGINT = 130
EXIT_SIGTERM = 143
JOIN_TIMEOUT_S = 5.0
TICK_S = 0.05


@dataclass
class Outputs:
    sinks: list[Sink]
    websocket: WebSocketServer | None

    def clients(self) -> int:
        return self.websocket.clients if self.websocket is not None else 0

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


def start_outputs(
    config: Config, source_fps: float, face_points: int, on_upload: UploadHandler | None = None
) -> Outputs:
    """Open every configured output; servers are listening when this returns.

    source_fps and face_points: what the WebSocket hello announces (a run's source, or the one a
    replayed recording was made from). on_upload: answers the viewer's photo uploads (none:
    uploads are ignored)."""
    sinks: list[Sink] = []
    websocket = None
    try:
        osc_targets = config.osc_endpoints()
        if osc_targets:
            sinks.append(OscLandmarkSink(osc_targets, config.outputs.osc_prefix))
        vmc_targets = config.vmc_endpoints()
        if vmc_targets:
            profile = profile_named(config.vmc.profile, config.vmc.vrm1_names)
            sinks.append(VmcSink(vmc_targets, profile))
        ws_endpoint = config.ws_endpoint()
        if ws_endpoint is not None:
            hello = encode_hello(None, source_fps, face_points, {})
            websocket = websocket_server(config, ws_endpoint, hello, on_upload)
            websocket.start()
            sinks.append(WebSocketSink(websocket, source_fps, face_points))
    except MocapError:
        Outputs(sinks, websocket).close()
        raise
    return Outputs(sinks, websocket)


def describe_outputs(config: Config, outputs: Outputs) -> str:
    parts = []
    if outputs.websocket is not None:
        parts.append(f"WebSocket on ws://{outputs.websocket.address}")
    parts.extend(f"OSC to {endpoint}" for endpoint in config.osc_endpoints())
    parts.extend(f"VMC ({config.vmc.profile}) to {endpoint}" for endpoint in config.vmc_endpoints())
    return ", ".join(parts) if parts else "no outputs"


class StopSignals:
    """SIGINT and SIGTERM set the stop event and remember the exit code they stand for."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.exit_code = 0

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.exit_code = EXIT_SIGTERM if signum == signal.SIGTERM else EXIT_SIGINT
        self.stop.set()

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals can only be handled on the main thread (e.g. in tests)
            return
        previous = {
            sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


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

    def run(self) -> int:
        """Run to the end; returns the exit code (0, or 130/143 when stopped by a signal)."""
        signals = StopSignals(self.stop)
        with ExitStack() as cleanup, signals.installed():
            for notice in check_exposure(self.config):  # refuses before anything starts
                log.warning("%s", notice)
            cleanup.enter_context(open_access_log(self.config.server.log_file))
            tracker = HolisticTracker(self.config.model)
            cleanup.callback(tracker.close)
            self.source = open_source(self.config.source)
            cleanup.callback(self.source.close)
            uploads = PhotoUploads(self.config.model, self.config.photos)
            cleanup.callback(uploads.close)  # after the server has stopped sending it uploads
            self.outputs = start_outputs(
                self.config, self.source.nominal_fps, tracker.face_points, uploads
            )
            cleanup.callback(self.outputs.close)
            if self.outputs.websocket is not None:
                url = viewer_url(self.outputs.websocket.address, self.config.server.token)
                log.info("viewer: %s", url)
            log.info(
                "reading %s; %s",
                self.source.description,
                describe_outputs(self.config, self.outputs),
            )
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
            # The preview's drawing and the stats yield to inference (the pipeline thread and
            # MediaPipe's own threads keep the priority they were created with).
            lower_this_thread_priority()
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

    def build_pipeline(self, source: Source, tracker: HolisticTracker) -> Pipeline:
        assert self.outputs is not None
        smoother = PoseSmoother(self.config.smoothing) if self.config.smoothing.enabled else None
        solver = AvatarSolver(self.config.solver) if self.config.solver_runs() else None
        recording: list[Sink] = [self.recording] if self.recording is not None else []
        return Pipeline(
            source,
            tracker,
            self.config.guards,
            [*self.outputs.sinks, *recording],
            self.stats,
            pose_filter=smoother,
            solver=solver,
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
        next_stats_s = time.monotonic() + self.config.stats.interval_s
        progress = self.open_progress()
        try:
            while worker.is_alive() and not self.stop.is_set():
                if window is not None:
                    self.show_newest(window)
                else:
                    self.stop.wait(TICK_S)
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
        if item is not None:
            video_frame, pose = item
            window.show(
                draw(
                    video_frame.image,
                    pose,
                    overlay_lines(self.stats),
                    draw_face=self.config.preview.draw_face,
                )
            )
        if window.poll_key(1):
            self.stop.set()

    def dropped(self) -> int:
        return self.source.dropped if self.source is not None else 0

    def clients(self) -> int:
        return self.outputs.clients() if self.outputs is not None else 0

    def log_summary(self) -> None:
        elapsed_s = time.monotonic() - self.stats.started_monotonic_s
        for line in summary_lines(self.stats, self.dropped(), elapsed_s):
            log.info("%s", line)
        if self.recording is not None:
            log.info("%s", self.recording.summary())
