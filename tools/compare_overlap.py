"""Measure the pipeline with and without publishing during the next frame's inference.

The pipeline publishes a frame while the next frame's inference computes when that frame is
already waiting (mocap/pipeline.py). This script runs the same phases as `mocap bench` (the file
read by the pipeline with OSC and a WebSocket client, with and without the solver, VMC and VRChat)
twice in each round, once as the pipeline runs and once with the source saying that no frame is
ever waiting (each frame then published before the next inference, as before the change), in
alternating order, each against inference alone in the same round:

    python tools/compare_overlap.py [--rounds 6] [--rate 60]

It prints each round's ratios, then the median ratio of each variant and its inference p50.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
from pathlib import Path

from mocap.bench.run import BenchOutputs, bench_inference, bench_outputs, bench_pipeline, decode_all
from mocap.config import ModelConfig
from mocap.frames import ImageArray
from mocap.sources.base import Source
from mocap.sources.video import open_video
from mocap.track import Tracker, open_tracker
from mocap.track.holistic import warm_up

VIDEO = Path(__file__).resolve().parent.parent / "tests" / "data" / "face_hand_thumbs_up.mp4"


def file_source(overlap: bool) -> Source:
    source = open_video(VIDEO, realtime=False)
    if not overlap:
        source.frame_waiting = lambda: False  # type: ignore[method-assign]
    return source


def one_round(
    tracker: Tracker, images: list[ImageArray], outputs: BenchOutputs, reverse: bool
) -> dict[str, tuple[float, float]]:
    """Each variant's (ratio to inference alone, inference p50 ms) in this round."""
    alone = bench_inference(tracker, images)
    found = {}
    phases = (("avatar", outputs.avatar_sinks, True), ("plain", outputs.landmark_sinks, False))
    for name, sinks, solve in phases:
        for overlap in (False, True) if reverse else (True, False):
            result = bench_pipeline(name, tracker, file_source(overlap), len(images), sinks,
                                    preview=False, solve=solve, paced=outputs.paced)  # fmt: skip
            key = f"{name}, {'during the next inference' if overlap else 'before it'}"
            found[key] = (alone.elapsed_s / result.elapsed_s, 1000 * statistics.median(
                result.inference_s))  # fmt: skip
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--rate", type=float, default=0.0, help="the avatar outputs' rate (Hz)")
    args = parser.parse_args()
    images = decode_all(VIDEO, 0)
    rounds: list[dict[str, tuple[float, float]]] = []
    with (
        contextlib.closing(open_tracker(ModelConfig())) as tracker,
        bench_outputs(tracker.face_points, args.rate) as outputs,
    ):
        warm_up(tracker)
        for number in range(args.rounds):
            rounds.append(one_round(tracker, images, outputs, reverse=number % 2 == 1))
            print(number + 1, {key: round(ratio, 3) for key, (ratio, _) in rounds[-1].items()})
    for key in rounds[0]:
        ratios = [found[key][0] for found in rounds]
        inference_ms = [found[key][1] for found in rounds]
        print(f"{key:42s} x inference: median {statistics.median(ratios):.3f}, "
              f"mean {statistics.mean(ratios):.3f}; inference p50 "
              f"{statistics.median(inference_ms):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
