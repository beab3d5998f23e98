"""Measure the tasks backend against the legacy one, side by side (issue 15's parity rule).

The two backends cannot share an interpreter (mediapipe 0.10.21 needs numpy < 2, mediapipe 1.x
numpy 2), so each runs in a worker process of its own venv, alternately, in one run of this
script; the workers write their landmarks and timings to .npz files and this script compares them:

- photos (tests/data/images, photo mode): pose mean pixel difference, hands found by each;
- the video (tests/data/face_hand_thumbs_up.mp4, video mode, every frame): per-frame pose pixel
  difference, frames with each hand found, inference ms per frame (median of each round);
- still-pose jitter: one photo fed as a 40-frame stream, the pose's frame-to-frame movement in px
  once tracking has settled (frame 10 on).

    python tools/compare_backends.py --legacy-python .venv/bin/python \\
        --tasks-python .venv-313/bin/python [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
VIDEO = DATA / "face_hand_thumbs_up.mp4"
STILL_PHOTO = "holistic_business_person.png"
STILL_FRAMES = 40
SETTLED_FRAME = 10
HANDS = ("left_hand", "right_hand")


# --- the worker: one backend, in its own interpreter -------------------------------------------


def photo_names() -> list[str]:
    return sorted(path.name for path in (DATA / "images").iterdir())


def video_frames() -> tuple[list[Any], float]:
    import cv2  # noqa: PLC0415 - the worker's interpreter has it, this script's may not

    capture = cv2.VideoCapture(str(VIDEO))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames, fps


def run_worker(backend: str, output: Path) -> None:
    from mocap.config import ModelConfig  # noqa: PLC0415 - run from the worker's interpreter
    from mocap.frames import ImageSize  # noqa: PLC0415
    from mocap.track import open_tracker  # noqa: PLC0415
    from tests.support import read_image  # noqa: PLC0415

    config = ModelConfig(backend=backend)
    result: dict[str, Any] = {}
    with closing(open_tracker(config, photo_mode=True)) as tracker:
        for name in photo_names():
            image = read_image(DATA / "images" / name)
            pose = tracker.process(image, index=0, timestamp_s=0.0, source_size=ImageSize.of(image))
            for part in ("pose", *HANDS):
                result[f"photo/{name}/{part}"] = getattr(pose, part)
    frames, fps = video_frames()
    with closing(open_tracker(config)) as tracker:
        blank = np.zeros((256, 256, 3), np.uint8)
        tracker.process(blank, index=-1, timestamp_s=0.0, source_size=ImageSize(256, 256))
        poses, times_ms = [], []
        for index, image in enumerate(frames):
            started = time.perf_counter()
            poses.append(tracker.process(image, index=index, timestamp_s=index / fps,
                                         source_size=ImageSize.of(image)))  # fmt: skip
            times_ms.append((time.perf_counter() - started) * 1000)
    result["video/pose"] = np.stack([pose.pose for pose in poses])
    for part in HANDS:
        result[f"video/{part}"] = np.stack([getattr(pose, part) for pose in poses])
    result["video/ms"] = np.array(times_ms)
    result["video/size"] = np.array([frames[0].shape[1], frames[0].shape[0]])
    still = read_image(DATA / "images" / STILL_PHOTO)
    with closing(open_tracker(config)) as tracker:
        result["still/pose"] = np.stack([
            tracker.process(still, index=i, timestamp_s=i / fps,
                            source_size=ImageSize.of(still)).pose
            for i in range(STILL_FRAMES)
        ])  # fmt: skip
    result["still/size"] = np.array([still.shape[1], still.shape[0]])
    np.savez(output, **result)


# --- the comparison ---------------------------------------------------------------------------


def run_backend(python: str, backend: str, output: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([python, __file__, "--worker", backend, "--output", str(output)],
                   check=True, env=env, cwd=REPO)  # fmt: skip
    with np.load(output) as saved:
        return dict(saved)


def pose_gap_px(a: Any, b: Any, size: Any) -> Any:
    """Per-landmark pixel distance between two (..., 33, 4) pose blocks."""
    return np.hypot((a[..., 0] - b[..., 0]) * size[0], (a[..., 1] - b[..., 1]) * size[1])


def found(block: Any) -> Any:
    return ~np.isnan(block).all(axis=(-1, -2)) if block.ndim == 3 else ~np.isnan(block).all()


def still_jitter_px(result: dict[str, Any]) -> float:
    poses = result["still/pose"][SETTLED_FRAME:]
    steps = pose_gap_px(poses[1:], poses[:-1], result["still/size"])
    return float(steps.mean())


def photo_lines(legacy: dict[str, Any], tasks: dict[str, Any]) -> list[str]:
    import cv2  # noqa: PLC0415 - only for the photos' sizes

    lines = ["photo | pose mean px | hands legacy (L,R) | hands tasks (L,R)", "---|---|---|---"]
    for name in photo_names():
        image = cv2.imread(str(DATA / "images" / name))
        size = (image.shape[1], image.shape[0])
        key = f"photo/{name}/"
        pose_l, pose_t = legacy[key + "pose"], tasks[key + "pose"]
        if found(pose_l) and found(pose_t):
            gap = f"{np.nanmean(pose_gap_px(pose_l, pose_t, size)):.1f}"
        else:
            gap = f"found: legacy {bool(found(pose_l))}, tasks {bool(found(pose_t))}"
        hands_l = ",".join("y" if found(legacy[key + h]) else "n" for h in HANDS)
        hands_t = ",".join("y" if found(tasks[key + h]) else "n" for h in HANDS)
        lines.append(f"{name} | {gap} | {hands_l} | {hands_t}")
    return lines


def video_lines(legacy: dict[str, Any], tasks: dict[str, Any]) -> list[str]:
    both = found(legacy["video/pose"]) & found(tasks["video/pose"])
    gaps = pose_gap_px(legacy["video/pose"][both], tasks["video/pose"][both], legacy["video/size"])
    per_frame = gaps.mean(axis=1)
    lines = [
        f"video: {len(both)} frames, pose in both {int(both.sum())}; per-frame pose mean px: "
        f"median {np.median(per_frame):.1f}, p95 {np.percentile(per_frame, 95):.1f}, "
        f"max {per_frame.max():.1f}"
    ]
    for hand in HANDS:
        found_l, found_t = found(legacy[f"video/{hand}"]), found(tasks[f"video/{hand}"])
        lines.append(f"{hand}: legacy {int(found_l.sum())} frames, tasks {int(found_t.sum())}, "
                     f"legacy's missed by tasks {int((found_l & ~found_t).sum())}")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--legacy-python", default=sys.executable)
    parser.add_argument("--tasks-python", default=str(REPO / ".venv-313" / "bin" / "python"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", choices=("legacy", "tasks"), help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args.worker, args.output)
        return 0
    pythons = {"legacy": args.legacy_python, "tasks": args.tasks_python}
    results: dict[str, list[dict[str, Any]]] = {"legacy": [], "tasks": []}
    with tempfile.TemporaryDirectory() as folder:
        for round_number in range(args.rounds):  # alternated, so both see the same load
            for backend, python in pythons.items():
                output = Path(folder) / f"{backend}-{round_number}.npz"
                results[backend].append(run_backend(python, backend, output))
    legacy, tasks = results["legacy"][0], results["tasks"][0]
    print("\n".join(photo_lines(legacy, tasks)))
    print("\n".join(video_lines(legacy, tasks)))
    for backend, rounds in results.items():
        medians = ", ".join(f"{np.median(r['video/ms']):.1f}" for r in rounds)
        jitter = ", ".join(f"{still_jitter_px(r):.2f}" for r in rounds)
        print(f"{backend}: inference ms/frame (median per round) {medians}; "
              f"still-pose jitter px/frame {jitter}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
