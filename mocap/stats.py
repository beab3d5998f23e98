"""Run statistics: counters and timings from the pipeline thread, lines for people. No I/O.

Rates and percentiles are over a sliding window of recent frames so that the periodic line shows
the present, while the summary at exit covers the whole run.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

WINDOW_FRAMES = 300


def percentile_ms(samples_s: Collection[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples_s), q) * 1000.0) if samples_s else float("nan")


@dataclass
class RunStats:
    """Updated by the pipeline thread; read (never written) by the thread that prints.

    The deques keep the last window_frames samples; all_latency_s keeps every one for the
    summary.
    """

    window_frames: int = WINDOW_FRAMES
    started_monotonic_s: float = field(default_factory=time.monotonic)
    frames_in: int = 0
    frames_out: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    publish_failures: Counter[str] = field(default_factory=Counter)
    all_latency_s: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.inference_s: deque[float] = deque(maxlen=self.window_frames)
        self.solve_s: deque[float] = deque(maxlen=self.window_frames)
        self.latency_s: deque[float] = deque(maxlen=self.window_frames)
        self.publish_s: deque[float] = deque(maxlen=self.window_frames)
        self.arrivals_s: deque[float] = deque(maxlen=self.window_frames)
        self.sends_s: deque[float] = deque(maxlen=self.window_frames)

    def frame_arrived(self, now_s: float) -> None:
        self.frames_in += 1
        self.arrivals_s.append(now_s)

    def frame_refused(self, reason: str) -> bool:
        """Count a refused frame; True the first time this reason is seen (worth a log line)."""
        self.refused[reason] += 1
        return self.refused[reason] == 1

    def publish_failed(self, sink_name: str) -> bool:
        """Count a frame a sink failed to publish; True the first time for this sink."""
        self.publish_failures[sink_name] += 1
        return self.publish_failures[sink_name] == 1

    def frame_published(
        self, inference_s: float, solve_s: float, publish_s: float, latency_s: float, now_s: float
    ) -> None:
        """solve_s: smoothing and solving; publish_s: encoding and handing off to every sink."""
        self.frames_out += 1
        self.inference_s.append(inference_s)
        self.solve_s.append(solve_s)
        self.publish_s.append(publish_s)
        self.latency_s.append(latency_s)
        self.all_latency_s.append(latency_s)
        self.sends_s.append(now_s)

    @staticmethod
    def rate_hz(times_s: deque[float]) -> float:
        if len(times_s) < 2 or times_s[-1] <= times_s[0]:
            return 0.0
        return (len(times_s) - 1) / (times_s[-1] - times_s[0])

    def input_fps(self) -> float:
        return self.rate_hz(self.arrivals_s)

    def output_fps(self) -> float:
        return self.rate_hz(self.sends_s)

    def inference_ms(self) -> float:
        return percentile_ms(self.inference_s, 50)

    def latency_ms(self, q: float) -> float:
        return percentile_ms(self.latency_s, q)


def stats_line(stats: RunStats, dropped: int, clients: int) -> str:
    return (
        f"in {stats.input_fps():5.1f} fps | out {stats.output_fps():5.1f} fps | "
        f"inference {stats.inference_ms():5.1f} ms | latency p50 {stats.latency_ms(50):5.1f} ms "
        f"p95 {stats.latency_ms(95):5.1f} ms | solve {percentile_ms(stats.solve_s, 50):.2f} ms | "
        f"publish {percentile_ms(stats.publish_s, 50):.2f} ms"
        f" | dropped {dropped} | refused {sum(stats.refused.values())} | clients {clients}"
    )


def summary_lines(stats: RunStats, dropped: int, elapsed_s: float) -> list[str]:
    rate = stats.frames_out / elapsed_s if elapsed_s > 0 else 0.0
    lines = [
        f"frames: {stats.frames_in} in, {stats.frames_out} published in {elapsed_s:.1f} s "
        f"({rate:.1f} fps); {dropped} dropped by the live source",
        f"latency capture-to-send: p50 {percentile_ms(stats.all_latency_s, 50):.1f} ms, "
        f"p95 {percentile_ms(stats.all_latency_s, 95):.1f} ms",
    ]
    if stats.refused:
        counts = ", ".join(f"{count} {reason}" for reason, count in sorted(stats.refused.items()))
        lines.append(f"refused frames: {counts}")
    if stats.publish_failures:
        counts = ", ".join(f"{n} by {sink}" for sink, n in sorted(stats.publish_failures.items()))
        lines.append(f"frames not published: {counts}")
    return lines


def overlay_lines(stats: RunStats) -> list[str]:
    """The short lines drawn on the preview."""
    return [
        f"{stats.output_fps():.1f} fps",
        f"inference {stats.inference_ms():.1f} ms",
        f"latency {stats.latency_ms(50):.0f} ms",
    ]
