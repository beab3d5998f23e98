"""Compare the VRM0 expressions read from the face's geometry with ones read from its ARKit
weights, on the real media in tests/data (the measurement behind mocap/solve/arkit.py's choice).

Ground truth is what the media visibly show: the video's face (tests/data/face_hand_thumbs_up.mp4)
keeps its eyes open and its mouth closed throughout, relaxed in frames 0-20 and smiling in frames
40-55; face_two_children.jpg is relaxed, the other photos smile (fullbody_sitting_woman.jpg
laughs, mouth open, eyes squeezed). Closed eyes and looking down are made from real frames by
moving their landmarks (tests/test_expressions_real.py's reshaping), and the model is run on the
moved landmarks.

Run from the repository, with the project's venv:

    PYTHONPATH=. python tools/compare_expressions.py

The ARKit candidates for Blink and the mouth's openness are the mappings tried and not kept.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing

import cv2
import numpy as np

from mocap.config import ModelConfig
from mocap.frames import ImageSize, PoseFrame
from mocap.skeleton import ARKIT_NAMES
from mocap.solve.arkit import joy as arkit_joy
from mocap.solve.face import EXPRESSIONS, FaceState, read_face
from mocap.track import open_tracker
from mocap.track.blendshapes import BlendshapeModel
from tests.runs import DATA, VIDEO
from tests.test_expressions_real import LEFT, RIGHT, close_lids, look_down, reshaped

INDEX = {name: i for i, name in enumerate(ARKIT_NAMES)}
SMILING = ["face_astronaut.png", "face_sergey.png", "fullbody_sitting_woman.jpg",
           "holistic_business_person.png", "small_children_on_horse.jpg"]  # fmt: skip
RELAXED = ["face_two_children.jpg"]
OPEN_EYED = ["face_astronaut.png", "face_sergey.png", "face_two_children.jpg",
             "holistic_business_person.png"]  # fmt: skip
# The rejected candidates: eyeBlink from 0.35 (open) to 0.6 (closed); jawOpen from 0.05 to 0.5.
BLINK_OPEN, BLINK_CLOSED = 0.35, 0.6
JAW_CLOSED, JAW_OPEN = 0.05, 0.5

Reading = dict[str, float]  # R, L (each eye's closure), Joy, mouth (the vowels' total)


def unit(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def geometric(frame: PoseFrame, state: FaceState) -> Reading:
    reading = read_face(frame.face, frame.image_size, state)
    assert reading is not None
    shown = dict(zip(EXPRESSIONS, reading.expressions, strict=True))
    return {
        "R": shown["Blink"] + shown["Blink_R"],
        "L": shown["Blink"] + shown["Blink_L"],
        "Joy": shown["Joy"],
        "mouth": sum(shown[vowel] for vowel in "AIUEO"),
    }


def from_weights(weights: list[float]) -> Reading:
    def closure(name: str) -> float:
        return unit((weights[INDEX[name]] - BLINK_OPEN) / (BLINK_CLOSED - BLINK_OPEN))

    return {
        "R": closure("eyeBlinkRight"),
        "L": closure("eyeBlinkLeft"),
        "Joy": arkit_joy(weights, None),
        "mouth": unit((weights[INDEX["jawOpen"]] - JAW_CLOSED) / (JAW_OPEN - JAW_CLOSED)),
    }


def video_frames(count: int) -> list[PoseFrame]:
    capture = cv2.VideoCapture(str(VIDEO))
    frames = []
    with closing(open_tracker(ModelConfig(), photo_mode=False)) as tracker:
        for index in range(count):
            ok, read = capture.read()
            assert ok
            image = np.asarray(read, dtype=np.uint8)
            size = ImageSize.of(image)
            frame = tracker.process(image, index=index, timestamp_s=index / 25, source_size=size)
            frames.append(frame)
    capture.release()
    return frames


def photo_frames(names: list[str]) -> list[PoseFrame]:
    frames = []
    with closing(open_tracker(ModelConfig(), photo_mode=True)) as tracker:
        for name in names:
            image = cv2.imread(str(DATA / "images" / name))
            for shown in (image, cv2.flip(image, 1)):
                pixels = np.ascontiguousarray(shown, dtype=np.uint8)
                size = ImageSize.of(pixels)
                frames.append(tracker.process(pixels, index=0, timestamp_s=0.0, source_size=size))
    return frames


def report(name: str, read: Callable[[PoseFrame], Reading], video: list[PoseFrame]) -> None:
    seen = [read(frame) for frame in video]
    open_eyes = seen + [read(f) for f in photo_frames(OPEN_EYED)]
    false_blinks = np.mean([r[eye] > 0.3 for r in open_eyes for eye in "RL"])
    samples = [video[i] for i in (0, 50, 100, 150, 190)]
    closed = [read(reshaped(f, close_lids((RIGHT, LEFT), 1.0)))[e] for f in samples for e in "RL"]
    down = [read(reshaped(f, look_down(25.0, 0.5, 20.0)))[e] for f in samples for e in "RL"]
    smiles = [read(f)["Joy"] for f in photo_frames(SMILING)]
    smiles += [seen[i]["Joy"] for i in range(40, 56)]
    relaxed = [read(f)["Joy"] for f in photo_frames(RELAXED)]
    relaxed += [seen[i]["Joy"] for i in range(21)]
    held = np.array([seen[i]["Joy"] for i in range(40, 56)])
    laughing = ", ".join(
        f"{read(frame)['mouth']:.2f}" for frame in photo_frames(["fullbody_sitting_woman.jpg"])
    )
    figures = [
        f"open eyes read > 0.3 closed {false_blinks:.1%}",
        f"closed lids > 0.8 {np.mean(np.array(closed) > 0.8):.0%}",
        f"looking down max {max(down):.2f}",
        f"smiles Joy > 0.5 {np.mean(np.array(smiles) > 0.5):.0%}",
        f"relaxed Joy max {max(relaxed):.2f}",
        f"held smile mean step {np.abs(np.diff(held)).mean() / held.mean():.0%} of its level",
        f"laughing open mouth {laughing}",
        f"closed mouth max {max(r['mouth'] for r in seen):.2f}",
    ]
    print(f"{name}: {'; '.join(figures)}")


def main() -> None:
    video = video_frames(195)
    model = BlendshapeModel()

    def weights(frame: PoseFrame) -> list[float]:
        # The model on the frame's (possibly moved) landmarks, as the tracker runs it.
        values: list[float] = model.weights(frame.face, frame.image_size).tolist()
        return values

    # One state follows the video (its open-eye ratio adapts as in a run); the photos and moved
    # frames are read as first frames, with the typical baseline.
    state = FaceState(link_blinks=False)
    in_video = {id(frame) for frame in video}

    def geometry(frame: PoseFrame) -> Reading:
        return geometric(frame, state if id(frame) in in_video else FaceState(link_blinks=False))

    report("geometry", geometry, video)
    report("ARKit weights", lambda frame: from_weights(weights(frame)), video)


if __name__ == "__main__":
    main()
