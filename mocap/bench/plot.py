"""`mocap bench --plot`: the benchmark's results as one PNG chart (matplotlib, no display).

Three panels, one colour per phase throughout: throughput (frames per second, with the ratio to
inference alone), the per-frame cost of each stage (inference, solve, publish: median bars, 95th
percentile whiskers, on a log scale since they differ a hundredfold), and the distribution of
capture-to-send latency (cumulative, one line per phase that measures it).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, NullFormatter

if TYPE_CHECKING:  # bench imports mediapipe; the chart needs only the result type
    from mocap.bench.run import PhaseResult

FIGURE_SIZE_IN = (12.0, 9.0)
DPI = 100
LABEL_WIDTH_CHARS = 28
STAGES = ("inference", "blendshapes", "solve", "solve + VMC", "VRChat", "publish")


def _label(name: str) -> str:
    return textwrap.fill(name, LABEL_WIDTH_CHARS)


Colour = tuple[float, float, float, float]


def _colours(count: int) -> list[Colour]:
    return [colormaps["tab10"](i % 10) for i in range(count)]


def _throughput(axes: Axes, results: Sequence[PhaseResult], colours: list[Colour]) -> None:
    baseline_fps = results[0].fps
    rows = np.arange(len(results))
    fps = [result.fps for result in results]
    axes.barh(rows, fps, color=colours)
    for row, value in zip(rows, fps, strict=True):
        ratio = value / baseline_fps if baseline_fps else 0.0
        axes.text(value, row, f" {value:.1f} fps  x{ratio:.2f}", va="center", fontsize=9)
    axes.set_yticks(rows, [_label(result.name) for result in results], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, max(fps) * 1.45)
    axes.set_xlabel("frames per second (x: ratio to inference alone)")
    axes.set_title("Throughput")


def _stage_samples(result: PhaseResult) -> dict[str, tuple[float, ...]]:
    """The table's per-frame columns, by STAGES name (a phase without a stage has no samples)."""
    return {
        "inference": result.inference_s,
        "blendshapes": result.blendshapes_s,
        "solve": result.solve_s,
        "solve + VMC": result.solve_and_vmc_s,
        "VRChat": result.vrchat_s,
        "publish": result.publish_s,
    }


def _stage_times(axes: Axes, results: Sequence[PhaseResult], colours: list[Colour]) -> None:
    """Median bars with 95th-percentile whiskers, a group per stage, a bar per phase."""
    height = 0.8 / len(results)
    for index, (result, colour) in enumerate(zip(results, colours, strict=True)):
        for group, stage in enumerate(STAGES):
            samples = _stage_samples(result)[stage]
            if not samples:
                continue
            p50_ms, p95_ms = np.percentile(np.asarray(samples) * 1000.0, [50, 95])
            row = group + (index - (len(results) - 1) / 2) * height
            axes.barh(row, p50_ms, height=height, color=colour)
            axes.plot([p50_ms, p95_ms], [row, row], color="black", linewidth=1)
            axes.text(p95_ms, row, f" {p50_ms:.2f}", va="center", fontsize=7)
    axes.set_xscale("log")
    left, right = axes.get_xlim()
    axes.set_xlim(left, right * 2.0)  # room for the labels right of the whiskers
    axes.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_yticks(range(len(STAGES)), STAGES)
    axes.invert_yaxis()
    axes.set_xlabel("ms per frame (bar: median, line: to the 95th percentile; log scale)")
    axes.set_title("Per-frame cost of each stage (colours: the phases)")


def _latency(axes: Axes, results: Sequence[PhaseResult], colours: list[Colour]) -> None:
    for result, colour in zip(results, colours, strict=True):
        if not result.latency_s:
            continue
        latencies_ms = np.sort(np.asarray(result.latency_s) * 1000.0)
        share = np.arange(1, len(latencies_ms) + 1) / len(latencies_ms)
        p50_ms, p95_ms = np.percentile(latencies_ms, [50, 95])
        label = f"{result.name} (p50 {p50_ms:.0f} ms, p95 {p95_ms:.0f} ms)"
        axes.step(latencies_ms, share, where="post", color=colour, label=label)
    axes.set_xscale("log")
    # Few decades: label the minor ticks too (20, 30, 50 ms ...), as plain numbers.
    axes.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    axes.xaxis.set_minor_formatter(FormatStrFormatter("%g"))
    axes.set_ylim(0, 1.02)
    axes.grid(True, which="both", alpha=0.3)
    axes.set_xlabel("capture-to-send latency, ms (log scale)")
    axes.set_ylabel("share of frames at or below")
    axes.set_title("Latency distribution (cumulative)")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8)


def plot_results(results: Sequence[PhaseResult], path: Path, title: str) -> None:
    """Write the chart of one benchmark run to path (PNG)."""
    figure = Figure(figsize=FIGURE_SIZE_IN, dpi=DPI, layout="constrained")
    grid = figure.add_gridspec(2, 2, height_ratios=(1.0, 1.1))
    colours = _colours(len(results))
    _throughput(figure.add_subplot(grid[0, 0]), results, colours)
    _stage_times(figure.add_subplot(grid[0, 1]), results, colours)
    _latency(figure.add_subplot(grid[1, :]), results, colours)
    figure.suptitle(title)
    figure.savefig(path, format="png")
