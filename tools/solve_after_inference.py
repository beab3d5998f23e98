"""What solving plus VMC costs a frame on a warm core, after an inference, and after a pause.

`mocap bench` times solving plus VMC in the pipeline, where it always runs just after (or beside)
an inference. This script takes the video's landmarks once, then solves (solver and rotation
filter, as the bench's avatar phases) and encodes VMC for every frame in three conditions, in
alternating order, and prints the p50 of the pipeline thread's CPU time (not wall time, so no
wait for another thread or a core is counted) per part:

- warm: the frames one after another, nothing in between;
- after inference: each frame right after that frame's inference on the same thread;
- after a pause: each frame after a 20 ms sleep (the core idle, as between a camera's frames).

    python tools/solve_after_inference.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from mocap.bench.run import decode_all
from mocap.config import FilterConfig, ModelConfig, SolverConfig
from mocap.encode.vmc import encode_vmc_frame
from mocap.encode.vmc_profiles import profile_named
from mocap.frames import ImageArray, ImageSize, PoseFrame
from mocap.solve.filter import FilteredSolver
from mocap.track import Tracker, open_tracker
from mocap.track.holistic import warm_up

VIDEO = Path(__file__).resolve().parent.parent / "tests" / "data" / "face_hand_thumbs_up.mp4"
PAUSE_S = 0.02

Before = Callable[[int], None]  # runs before frame i is solved


def solve_all(poses: list[PoseFrame], before: Before, start_s: float) -> list[float]:
    """Per frame, the thread CPU milliseconds of solving and encoding VMC."""
    solver = FilteredSolver(SolverConfig(), FilterConfig(), estimate_lag=False)
    profile = profile_named("generic", vrm1_names=False)
    cpu_ms = []
    for index, pose in enumerate(poses):
        before(index)
        start_ns = time.thread_time_ns()
        encode_vmc_frame(solver(pose), start_s + pose.timestamp_s, profile)
        cpu_ms.append((time.thread_time_ns() - start_ns) / 1e6)
    return cpu_ms


def landmarks(tracker: Tracker, images: list[ImageArray]) -> list[PoseFrame]:
    return [
        tracker.process(image, index=i, timestamp_s=i / 25, source_size=ImageSize.of(image))
        for i, image in enumerate(images)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    images = decode_all(VIDEO, 0)
    with contextlib.closing(open_tracker(ModelConfig())) as tracker:
        warm_up(tracker)
        poses = landmarks(tracker, images)
        frame_count = len(images)

        def infer(index: int) -> None:
            image = images[index]
            tracker.process(image, index=frame_count + index, timestamp_s=0.0,
                            source_size=ImageSize.of(image))  # fmt: skip

        conditions: dict[str, Before] = {
            "warm": lambda _index: None,
            "after inference": infer,
            f"after a {PAUSE_S * 1000:.0f} ms pause": lambda _index: time.sleep(PAUSE_S),
        }
        found: dict[str, list[float]] = {name: [] for name in conditions}
        for number in range(args.rounds):
            order = list(conditions) if number % 2 == 0 else list(reversed(conditions))
            for name in order:
                found[name] += solve_all(poses, conditions[name], start_s=100.0 * number)
    for name, cpu_ms in found.items():
        p95_ms = statistics.quantiles(cpu_ms, n=20)[-1]
        print(f"{name:22s} solve + VMC CPU p50 {statistics.median(cpu_ms):.3f} ms, "
              f"p95 {p95_ms:.3f} ms ({len(cpu_ms)} frames)")  # fmt: skip


if __name__ == "__main__":
    main()
