"""`mocap bench`: measured throughput and latency, stage by stage, in one run.

The pipeline phases publish landmarks over OSC (to a discard port) and WebSocket (one real
client, in another process, reading); the avatar phases also solve the avatar and send VMC and
VRChat's OSC trackers, as a VTuber's or a VR user's run does, in the order `mocap run` publishes
(OSC, VMC, VRChat, WebSocket).

Phases, all on the same video and the same model instance:
1. inference alone: the tracker's process() on pre-decoded frames (the ceiling);
2. the naive loop: decode, infer, draw, encode, send, in sequence on one thread;
3. our pipeline reading every frame of the file, both outputs on, no preview;
4. the same with the avatar solver (and its rotation filter), VMC and VRChat outputs on (paced by
   their own timers with --rate): its throughput, and what solving, publishing, solving plus the
   VMC output alone, and the VRChat output alone cost the pipeline thread;
5. phase 3 with the preview drawn on another thread (as the main thread does);
6. our pipeline fed like a camera (pre-decoded frames offered at 80% of the inference rate,
   newest frame only), preview drawn: the capture-to-send latency, next to inference time in the
   same phase;
7. the same with the avatar solver, VMC and VRChat outputs on.
Ratios are to phase 1 of this run, so they hold on any machine. Where the tracker runs the face
blendshape model as a call of its own (the legacy backend), each phase also shows that call's
cost on the thread that ran it. The motion phase (jitter, lag,
overshoot, paced sends; no model) is mocap.bench.motion.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mocap.addresses import HostPort
from mocap.config import (
    FilterConfig,
    GuardConfig,
    ModelConfig,
    PreviewConfig,
    SolverConfig,
    VrchatConfig,
)
from mocap.encode.frame_json import encode_frame
from mocap.encode.osc import encode_landmarks_bundle
from mocap.encode.vmc_profiles import profile_named
from mocap.encode.vrchat import VrchatSettings
from mocap.errors import PublishError, SourceError
from mocap.frames import ImageArray, ImageSize, VideoFrame
from mocap.pipeline import Pipeline, PreviewItem
from mocap.preview.draw import draw
from mocap.publish.paced import PacedSink
from mocap.publish.sinks import (
    OscLandmarkSink,
    Published,
    Sink,
    VmcSink,
    VrchatSink,
    WebSocketSink,
)
from mocap.publish.udp import UdpSender, resolve
from mocap.publish.websocket import WebSocketServer
from mocap.solve.filter import FilteredSolver
from mocap.sources.base import Source
from mocap.sources.video import open_video
from mocap.stats import RunStats, overlay_lines, percentile_ms
from mocap.threads import LatestSlot
from mocap.track import Tracker, open_tracker
from mocap.track.holistic import warm_up

# Landmarks go to a port nobody listens on: sends cost the same, nothing receives them.
DISCARD = HostPort("127.0.0.1", 9)


@dataclass(frozen=True)
class PhaseResult:
    """One phase's raw samples (seconds); rounds of the same phase add up with +.

    ratios: per round, this phase's frame rate over inference alone's in the same round (paired,
    so a slow moment of the machine weighs on both sides of a ratio)."""

    name: str
    frames: int
    elapsed_s: float
    inference_s: tuple[float, ...] = ()
    latency_s: tuple[float, ...] = ()
    solve_s: tuple[float, ...] = ()
    publish_s: tuple[float, ...] = ()
    solve_and_vmc_s: tuple[float, ...] = ()  # per frame: solving, plus the VMC sink's publish
    # The tracker's separate blendshape model calls (legacy backend), on the pipeline thread.
    blendshapes_s: tuple[float, ...] = ()
    vrchat_s: tuple[float, ...] = ()  # per frame: the VRChat sink's publish (encode and send)
    ratios: tuple[float, ...] = ()

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def __add__(self, other: PhaseResult) -> PhaseResult:
        return PhaseResult(
            self.name,
            self.frames + other.frames,
            self.elapsed_s + other.elapsed_s,
            self.inference_s + other.inference_s,
            self.latency_s + other.latency_s,
            self.solve_s + other.solve_s,
            self.publish_s + other.publish_s,
            self.solve_and_vmc_s + other.solve_and_vmc_s,
            self.blendshapes_s + other.blendshapes_s,
            self.vrchat_s + other.vrchat_s,
            self.ratios + other.ratios,
        )

    def paired(self, inference: PhaseResult) -> PhaseResult:
        """This round's result with its ratio to the same round's inference alone."""
        ratio = self.fps / inference.fps if inference.fps > 0 else 0.0
        return dataclasses.replace(self, ratios=(ratio,))

    @property
    def median_ratio(self) -> float:
        """The median of the rounds' paired ratios: one slow round does not decide."""
        return statistics.median(self.ratios) if self.ratios else 0.0


def decode_all(video: Path, max_frames: int) -> list[ImageArray]:
    capture = cv2.VideoCapture(str(video))
    images: list[ImageArray] = []
    while len(images) < max_frames or max_frames == 0:
        ok, image = capture.read()
        if not ok:
            break
        images.append(np.asarray(image, dtype=np.uint8))
    capture.release()
    if not images:
        raise SourceError(f"cannot read any frame from {video}")
    return images


def bench_inference(tracker: Tracker, images: list[ImageArray]) -> PhaseResult:
    timings_s = []
    tracker.blendshape_call_s.clear()
    for index, image in enumerate(images):
        start_s = time.perf_counter()
        tracker.process(image, index=index, timestamp_s=0.0, source_size=ImageSize.of(image))
        timings_s.append(time.perf_counter() - start_s)
    return PhaseResult(
        "inference alone (pre-decoded)",
        len(images),
        sum(timings_s),
        inference_s=tuple(timings_s),
        blendshapes_s=tuple(tracker.blendshape_call_s),
    )


class TimedSink:
    """Another sink, named, with the time each of its publishes took on the pipeline thread."""

    def __init__(self, name: str, sink: Sink) -> None:
        self.name = name
        self._sink = sink
        self.publish_s: list[float] = []

    def publish(self, frame: Published) -> None:
        start_s = time.perf_counter()
        try:
            self._sink.publish(frame)
        finally:  # a failed publish took time too, and keeps the samples one per frame
            self.publish_s.append(time.perf_counter() - start_s)

    def close(self) -> None:
        self._sink.close()


@dataclass
class BenchOutputs:
    """The transports, for the naive loop, and the sinks over them, for the pipeline: OSC and
    WebSocket for landmarks (issue 2's "both outputs"), and those plus VMC and VRChat (each timed
    on its own) for the avatar."""

    udp: UdpSender
    server: WebSocketServer
    landmark_sinks: list[Sink]
    avatar_sinks: list[Sink]
    paced: bool  # the avatar sinks send at their own rate


def bench_naive_loop(
    tracker: Tracker, video: Path, frames: int, outputs: BenchOutputs
) -> PhaseResult:
    """What a first script does: one thread, every step in turn, the window's drawing included."""
    capture = cv2.VideoCapture(str(video))
    latencies_s = []
    started_s = time.perf_counter()
    for index in range(frames):
        read_s = time.perf_counter()
        ok, decoded = capture.read()
        if not ok:
            break
        image = np.asarray(decoded, dtype=np.uint8)
        pose = tracker.process(image, index=index, timestamp_s=0.0, source_size=ImageSize.of(image))
        draw(image, pose)
        outputs.udp.send(encode_landmarks_bundle(pose, index, 0.0))
        outputs.server.publish(encode_frame(pose, index, 0.0))
        latencies_s.append(time.perf_counter() - read_s)
    capture.release()
    return PhaseResult(
        "naive loop (decode, infer, draw, encode, send)",
        len(latencies_s),
        time.perf_counter() - started_s,
        latency_s=tuple(latencies_s),
    )


class PacedCamera(Source):
    """Pre-decoded frames delivered like a camera at rate_hz: a thread offers each frame at its
    time into a one-slot buffer, and a frame the pipeline was too busy to take is dropped."""

    def __init__(self, images: list[ImageArray], rate_hz: float) -> None:
        super().__init__(f"paced camera at {rate_hz:.1f} fps", live=True, nominal_fps=rate_hz)
        self._images = images
        self._interval_s = 1.0 / rate_hz
        self._slot: LatestSlot[VideoFrame | None] = LatestSlot()
        self._closed = threading.Event()

    def frames(self, stop: threading.Event) -> Iterator[VideoFrame]:
        thread = threading.Thread(target=self._deliver, daemon=True)
        thread.start()
        try:
            while not stop.is_set():
                frame = self._slot.take(0.05)
                if frame is not None:
                    yield frame
                elif not thread.is_alive():
                    return
        finally:
            self._closed.set()
            thread.join()

    def _deliver(self) -> None:
        origin_s = time.monotonic()
        for index, image in enumerate(self._images):
            due_s = origin_s + index * self._interval_s
            if self._closed.wait(max(0.0, due_s - time.monotonic())):
                return
            now_s = time.monotonic()
            self._slot.put(VideoFrame(index, now_s - origin_s, image, now_s))

    def close(self) -> None:
        self._closed.set()

    def frame_waiting(self) -> bool:
        return self._slot.filled()

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    @property
    def reconnects(self) -> int:
        return 0


def drawing_loop(slot: LatestSlot[PreviewItem], stats: RunStats, stop: threading.Event) -> None:
    """The preview's work without a window: what the main thread does for every shown frame (at
    the main thread's priority)."""
    while not stop.is_set():
        item = slot.take(0.05)
        if item is not None:
            video_frame, pose = item
            draw(video_frame.image, pose, overlay_lines(stats), draw_face=PreviewConfig().draw_face)


def bench_pipeline(
    name: str,
    tracker: Tracker,
    source: Source,
    frames: int,
    sinks: list[Sink],
    *,
    preview: bool,
    solve: bool = False,
    paced: bool = False,
) -> PhaseResult:
    """paced: the avatar outputs send at their own rate, so the solver estimates the lag that
    their prediction makes up (as `mocap run --rate` does)."""
    stats = RunStats(window_frames=max(frames, 1))
    slot: LatestSlot[PreviewItem] | None = LatestSlot() if preview else None
    solver = FilteredSolver(SolverConfig(), FilterConfig(), estimate_lag=paced) if solve else None
    timed = {sink.name: sink for sink in sinks if isinstance(sink, TimedSink)}
    for sink in timed.values():
        sink.publish_s.clear()
    tracker.blendshape_call_s.clear()
    pipeline = Pipeline(source, tracker, GuardConfig(), sinks, stats, max_frames=frames,
                        solver=solver, preview=slot)  # fmt: skip
    stop = threading.Event()
    drawer = None
    if slot is not None:
        drawer = threading.Thread(target=drawing_loop, args=(slot, stats, stop), daemon=True)
        drawer.start()
    started_s = time.perf_counter()
    try:
        pipeline.run(stop)
    finally:
        elapsed_s = time.perf_counter() - started_s
        stop.set()
        source.close()
        if drawer is not None:
            drawer.join()
    return PhaseResult(
        name,
        stats.frames_out,
        elapsed_s,
        inference_s=tuple(stats.inference_s),
        latency_s=tuple(stats.all_latency_s),
        solve_s=tuple(stats.solve_s),
        publish_s=tuple(stats.publish_s),
        solve_and_vmc_s=tuple(
            solve_s + vmc_s
            for sink in timed.values()
            if sink.name == "VMC"
            for solve_s, vmc_s in zip(stats.solve_s, sink.publish_s, strict=True)
        ),
        blendshapes_s=tuple(tracker.blendshape_call_s),
        vrchat_s=tuple(
            s for sink in timed.values() if sink.name == "VRChat" for s in sink.publish_s
        ),
    )


# The WebSocket client runs in a process of its own, as a real one (a browser, a game engine)
# does: in this process its frame parsing would hold the GIL that the pipeline thread needs.
_READER = """
import sys
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

with connect(sys.argv[1], max_size=None) as client:
    print("connected", flush=True)
    try:
        for _ in client:
            pass
    except ConnectionClosed:
        pass
"""


@contextmanager
def bench_outputs(face_points: int, rate_hz: float) -> Iterator[BenchOutputs]:
    """OSC, VMC and VRChat to a discard port (the avatar outputs paced at rate_hz when that is
    not 0), and a WebSocket server with one real client (in another process) reading
    everything."""
    server = WebSocketServer(HostPort("127.0.0.1", 0), "{}")
    server.start()
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, f"ws://{server.address}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    if reader.stdout is None or reader.stdout.readline().strip() != "connected":
        reader.kill()
        server.close()
        raise PublishError(
            f"the benchmark's WebSocket client could not connect to {server.address}"
        )
    osc = OscLandmarkSink([resolve(DISCARD)], "/mocap")
    vmc_sink = VmcSink([resolve(DISCARD)], profile_named("generic", vrm1_names=False))
    vmc = TimedSink("VMC", PacedSink(vmc_sink, rate_hz) if rate_hz > 0 else vmc_sink)
    # Every tracker, head and eyes, with the run's default settings (the solver's mirror undone).
    settings = VrchatSettings.of(VrchatConfig(), SolverConfig())
    vrchat_sink = VrchatSink([resolve(DISCARD)], settings)
    vrchat = TimedSink("VRChat", PacedSink(vrchat_sink, rate_hz) if rate_hz > 0 else vrchat_sink)
    websocket = WebSocketSink(server, 0.0, face_points)
    # In the order `mocap run` publishes to them (outputs.UDP_OUTPUTS): OSC, VMC, VRChat, then
    # the WebSocket.
    outputs = BenchOutputs(
        osc.sender, server, [osc, websocket], [osc, vmc, vrchat, websocket], paced=rate_hz > 0
    )
    try:
        yield outputs
    finally:
        for sink in outputs.avatar_sinks:
            sink.close()
        try:
            reader.wait(5)
        except subprocess.TimeoutExpired:
            reader.kill()
            reader.wait()


# A camera slower than the pipeline, so that a frame seldom waits for the previous one: the
# latency measured is then the pipeline's own, not the queueing of an overloaded one.
CAMERA_RATE_OF_INFERENCE = 0.8


def run_round(
    tracker: Tracker, video: Path, images: list[ImageArray], outputs: BenchOutputs
) -> list[PhaseResult]:
    """Every phase once, in order."""
    frames = len(images)
    inference = bench_inference(tracker, images)
    naive = bench_naive_loop(tracker, video, frames, outputs)
    plain = bench_pipeline("pipeline, OSC + WebSocket, no preview", tracker,
                           open_video(video, realtime=False), frames, outputs.landmark_sinks,
                           preview=False)  # fmt: skip
    solved = bench_pipeline("pipeline + solver + VMC + VRChat, OSC + WebSocket, no preview",
                            tracker, open_video(video, realtime=False), frames,
                            outputs.avatar_sinks, preview=False, solve=True,
                            paced=outputs.paced)  # fmt: skip
    drawn = bench_pipeline("pipeline, OSC + WebSocket, preview drawn", tracker,
                           open_video(video, realtime=False), frames, outputs.landmark_sinks,
                           preview=True)  # fmt: skip
    camera_hz = CAMERA_RATE_OF_INFERENCE * inference.fps
    camera = f"camera at {CAMERA_RATE_OF_INFERENCE:.0%} of inference rate"
    live = bench_pipeline(f"pipeline, {camera}, preview drawn", tracker,
                          PacedCamera(images, camera_hz), frames, outputs.landmark_sinks,
                          preview=True)  # fmt: skip
    avatar = bench_pipeline(f"pipeline + solver + VMC + VRChat, {camera}, preview drawn", tracker,
                            PacedCamera(images, camera_hz), frames, outputs.avatar_sinks,
                            preview=True, solve=True, paced=outputs.paced)  # fmt: skip
    return [inference, naive, plain, solved, drawn, live, avatar]


def run_benchmark(
    video: Path, frames: int, rounds: int, progress: Callable[[str], None], rate_hz: float = 0.0
) -> list[PhaseResult]:
    """All phases, round after round, in one process: a slow moment of the machine lands on
    every phase alike instead of on one. progress receives a line as each round starts.
    rate_hz: the avatar phases' VMC and VRChat send at this rate (0: once per frame)."""
    images = decode_all(video, frames)
    totals: list[PhaseResult] = []
    with (
        contextlib.closing(open_tracker(ModelConfig())) as tracker,
        bench_outputs(tracker.face_points, rate_hz) as outputs,
    ):
        warm_up(tracker)
        for round_number in range(1, rounds + 1):
            progress(f"round {round_number} of {rounds}: {len(images)} frames, 7 phases")
            results = paired_round(run_round(tracker, video, images, outputs))
            totals = [a + b for a, b in zip(totals, results, strict=True)] if totals else results
    return totals


def paired_round(round_results: list[PhaseResult]) -> list[PhaseResult]:
    """One round's phases, each with its ratio to the round's first phase (inference alone)."""
    return [result.paired(round_results[0]) for result in round_results]


def format_table(results: list[PhaseResult]) -> list[str]:
    """A Markdown table: the README's benchmark table is this output. "x inference" is the
    median over the rounds of each round's paired ratio; fps is over all rounds."""
    lines = [
        "| phase | fps | x inference | inference p50 ms | latency p50 ms | latency p95 ms "
        "| solve p50 / p95 ms | publish p50 / p95 ms | solve + VMC p50 / p95 ms "
        "| blendshapes p50 / p95 ms | VRChat p50 / p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        lines.append(
            f"| {result.name} | {result.fps:.1f} | {result.median_ratio:.2f} "
            f"| {fmt_ms(result.inference_s, 50)} | {fmt_ms(result.latency_s, 50)} "
            f"| {fmt_ms(result.latency_s, 95)} | {fmt_pair_ms(result.solve_s)} "
            f"| {fmt_pair_ms(result.publish_s)} | {fmt_pair_ms(result.solve_and_vmc_s)} "
            f"| {fmt_pair_ms(result.blendshapes_s)} | {fmt_pair_ms(result.vrchat_s)} |"
        )
    return lines


def fmt_ms(samples_s: tuple[float, ...], q: float) -> str:
    return f"{percentile_ms(samples_s, q):.1f}" if samples_s else "-"


def fmt_pair_ms(samples_s: tuple[float, ...]) -> str:
    """p50 / p95 with the precision a sub-millisecond cost needs."""
    if not samples_s:
        return "-"
    return f"{percentile_ms(samples_s, 50):.2f} / {percentile_ms(samples_s, 95):.2f}"
