"""Expressions on real faces (MediaPipe's output in tests/data): eyes open looking down are not a
blink, a wink stays a wink, an unclear difference between the eyes is one blink, a smile's squint
counts less, and without a calibration the open-eye ratio adapts to the user; Joy from the face's
ARKit weights where the frame has them (smiles the mouth corners' height misses), read against a
calibration's neutral smile.

Faces are reshaped in the image's pixel space, where the head's frame is a rotation and a scale
away: moving an upper lid toward its lower lid by a fraction of the gap closes that gap by that
fraction in the head's frame too."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from contextlib import closing

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from scipy.spatial.transform import Rotation

from mocap.config import ModelConfig, SolverConfig
from mocap.frames import ImageSize, PoseFrame, absent_weights, frozen
from mocap.recording.reader import RecordingReader
from mocap.solve import AvatarSolver
from mocap.solve.arkit import smile_weight
from mocap.solve.calibration import Calibration
from mocap.solve.face import (
    CANONICAL_FACE_CM,
    EYEBALL_RADIUS_CM,
    EYES,
    IRIS_CENTRES,
    MOUTH_CORNERS,
    neutral_face,
    read_face,
)
from mocap.track import open_tracker
from tests.runs import DATA, VIDEO
from tests.support import PLAIN_SOLVER

Array = npt.NDArray[np.float64]
RECORDING = DATA / "recording_thumbs_up.jsonl.gz"
OPEN_EYED_FRAME = 10  # eyes open looking ahead, mouth relaxed
EYE_WIDTH_CM = math.dist(CANONICAL_FACE_CM[33], CANONICAL_FACE_CM[133])
RIGHT, LEFT = 0, 1  # the subject's own eyes, in EYES order


@pytest.fixture(scope="module")
def open_eyed() -> PoseFrame:
    frames = RecordingReader(RECORDING).frames(lambda number, reason: pytest.fail(reason))
    for index, frame in enumerate(frames):
        if index == OPEN_EYED_FRAME:
            return frame.pose
    raise AssertionError("the recording is shorter than expected")


def shown(frame: PoseFrame, config: SolverConfig = PLAIN_SOLVER) -> dict[str, float]:
    return AvatarSolver(config)(frame).blendshapes


def reshaped(frame: PoseFrame, change: Callable[[Array], None]) -> PoseFrame:
    """frame with its face's points in pixels (x W, y H, z W) changed in place by change."""
    width, height = frame.image_size
    scale = np.array([width, height, width], dtype=np.float64)
    points = np.array(frame.face, dtype=np.float64) * scale
    change(points)
    return dataclasses.replace(frame, face=frozen(points / scale, len(points), 3))


def close_lids(eyes: tuple[int, ...], fraction: float) -> Callable[[Array], None]:
    def change(points: Array) -> None:
        for eye in eyes:
            for upper, lower in EYES[eye][2]:
                points[upper] += fraction * (points[lower] - points[upper])

    return change


def downward(points: Array, eye: int) -> Array:
    """The head's down direction at an eye (from its upper lid to its lower), unit, pixels."""
    upper, lower = EYES[eye][2][0]
    direction = points[lower] - points[upper]
    unit: Array = direction / float(np.linalg.norm(direction))
    return unit


def pixels_per_cm(points: Array, eye: int) -> float:
    outer, inner, _ = EYES[eye]
    return float(np.linalg.norm(points[outer] - points[inner]) / EYE_WIDTH_CM)


def look_down(gaze_deg: float, lid_drop: float, head_pitch_deg: float) -> Callable[[Array], None]:
    """Eyes turned down by gaze_deg with the upper lids following them down by lid_drop of the
    gap, and the whole head pitched down by head_pitch_deg (about the image's x axis)."""

    def change(points: Array) -> None:
        for eye, iris in enumerate(IRIS_CENTRES):
            down = downward(points, eye)
            points[iris] += (
                down
                * EYEBALL_RADIUS_CM
                * math.sin(math.radians(gaze_deg))
                * (pixels_per_cm(points, eye))
            )
        close_lids((RIGHT, LEFT), lid_drop)(points)
        # Pitching down turns the face's front (toward the camera, -z) toward the image's
        # bottom (+y).
        centre = points.mean(axis=0)
        points[:] = (
            Rotation.from_euler("x", head_pitch_deg, degrees=True).apply(points - centre) + centre
        )

    return change


def raise_mouth_corners(lift_cm: float) -> Callable[[Array], None]:
    def change(points: Array) -> None:
        up = -downward(points, RIGHT) * lift_cm * pixels_per_cm(points, RIGHT)
        for corner in MOUTH_CORNERS:
            points[corner] += up

    return change


# --- looking down --------------------------------------------------------------------------------


def test_eyes_open_looking_down_do_not_blink(open_eyed: PoseFrame) -> None:
    assert shown(open_eyed)["Blink"] == 0.0
    down = shown(reshaped(open_eyed, look_down(gaze_deg=25.0, lid_drop=0.5, head_pitch_deg=20.0)))
    assert down["Blink"] < 0.3
    assert down["LookDown"] > 0.5


def test_closed_eyes_looking_down_still_blink(open_eyed: PoseFrame) -> None:
    closed = shown(reshaped(open_eyed, look_down(gaze_deg=25.0, lid_drop=1.0, head_pitch_deg=20.0)))
    assert closed["Blink"] > 0.8


@pytest.fixture(scope="module")
def pitched_down_video_frames() -> list[PoseFrame]:
    """Frames 100-140 of the video, where the head is pitched down about 16 degrees."""
    capture = cv2.VideoCapture(str(VIDEO))
    frames = []
    with closing(open_tracker(ModelConfig(), photo_mode=True)) as tracker:
        for index in range(100, 141, 10):
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, read = capture.read()
            assert ok
            image = np.asarray(read, dtype=np.uint8)
            frames.append(
                tracker.process(
                    image, index=index, timestamp_s=0.0, source_size=ImageSize.of(image)
                )
            )
    capture.release()
    return frames


def head_pitch_down_deg(frame: PoseFrame) -> float:
    reading = read_face(frame.face, frame.image_size)
    assert reading is not None
    forward = np.array(reading.head_rotation) @ [0.0, 0.0, 1.0]
    return float(np.degrees(np.arcsin(-forward[1])))


def test_real_frames_with_the_head_pitched_down_do_not_blink(
    pitched_down_video_frames: list[PoseFrame],
) -> None:
    for frame in pitched_down_video_frames:
        assert head_pitch_down_deg(frame) > 12.0
        assert shown(frame)["Blink"] < 0.3


# --- winks and linked blinks ---------------------------------------------------------------------


def test_a_wink_stays_a_wink(open_eyed: PoseFrame) -> None:
    wink = shown(reshaped(open_eyed, close_lids((RIGHT,), 1.0)))
    assert wink["Blink_R"] > 0.7
    assert wink["Blink"] < 0.15 and wink["Blink_L"] < 0.05


def test_an_unclear_difference_is_one_blink_unless_unlinked(open_eyed: PoseFrame) -> None:
    uneven = reshaped(open_eyed, close_lids((RIGHT,), 0.4))
    linked = shown(uneven)
    assert linked["Blink"] > 0.05
    assert linked["Blink_R"] < 0.03 and linked["Blink_L"] < 0.03
    separate = shown(uneven, dataclasses.replace(PLAIN_SOLVER, link_blinks=False))
    assert separate["Blink_R"] > 0.2 and separate["Blink"] == 0.0


def test_a_smile_s_squint_counts_less_than_a_blink(open_eyed: PoseFrame) -> None:
    half_closed = reshaped(open_eyed, close_lids((RIGHT, LEFT), 0.5))
    smiling = reshaped(half_closed, raise_mouth_corners(1.0))
    plain, smile = shown(half_closed), shown(smiling)
    assert smile["Joy"] > 0.8 and plain["Joy"] < 0.2
    assert plain["Blink"] > 0.3
    assert smile["Blink"] < 0.6 * plain["Blink"]


# --- the open-eye ratio: adapted, or a calibration's ---------------------------------------------


def blink_after(frame: PoseFrame, frames: int, calibration: Calibration | None) -> list[float]:
    solver = AvatarSolver(PLAIN_SOLVER, calibration)
    return [
        solver(dataclasses.replace(frame, timestamp_s=i / 30)).blendshapes["Blink"]
        for i in range(frames)
    ]


def test_without_a_calibration_the_open_eye_ratio_adapts(open_eyed: PoseFrame) -> None:
    narrow_eyed = reshaped(open_eyed, close_lids((RIGHT, LEFT), 0.4))
    blinks = blink_after(narrow_eyed, 300, None)
    assert blinks[0] > 0.15  # typical eyes this narrow would be closing
    assert blinks[-1] < 0.05  # this user's eyes are open like this


def test_a_calibration_s_open_eye_ratio_stays(open_eyed: PoseFrame) -> None:
    neutral = neutral_face(open_eyed.face, open_eyed.image_size)
    calibration = Calibration(0.0, 0.0, neutral, frames=1)
    narrow_eyed = reshaped(open_eyed, close_lids((RIGHT, LEFT), 0.4))
    blinks = blink_after(narrow_eyed, 300, calibration)
    assert min(blinks) > 0.15


# --- Joy from the ARKit weights ------------------------------------------------------------------

# Looked at: every face here smiles, but for the boy in face_two_children.jpg (lips closed,
# relaxed) and the video's first second; fullbody_sitting_woman.jpg laughs with her mouth open.
SMILING_PHOTOS = [
    "face_astronaut.png", "face_sergey.png", "holistic_business_person.png",
    "fullbody_sitting_woman.jpg",
]  # fmt: skip
NEUTRAL_PHOTO = "face_two_children.jpg"
VIDEO_NEUTRAL = range(0, 21)  # frames: a relaxed face looking at the camera
VIDEO_SMILE = range(42, 56)  # ... a closed-mouth smile


@pytest.fixture(scope="module")
def photo_frames() -> dict[str, PoseFrame]:
    """Each photo, and its mirror image, as the photo tracker sees it (ARKit weights on)."""
    frames = {}
    with closing(open_tracker(ModelConfig(), photo_mode=True)) as tracker:
        for name in [*SMILING_PHOTOS, NEUTRAL_PHOTO]:
            image = cv2.imread(str(DATA / "images" / name))
            for key, shown_image in ((name, image), (f"{name} mirrored", cv2.flip(image, 1))):
                pixels = np.ascontiguousarray(shown_image, dtype=np.uint8)
                frames[key] = tracker.process(
                    pixels, index=0, timestamp_s=0.0, source_size=ImageSize.of(pixels)
                )
    return frames


@pytest.fixture(scope="module")
def video_joy() -> list[float]:
    """Joy over the video's first 56 frames, tracked and solved as a run does."""
    capture = cv2.VideoCapture(str(VIDEO))
    solver = AvatarSolver(PLAIN_SOLVER)
    joy = []
    with closing(open_tracker(ModelConfig(), photo_mode=False)) as tracker:
        for index in range(VIDEO_SMILE.stop):
            ok, read = capture.read()
            assert ok
            image = np.asarray(read, dtype=np.uint8)
            frame = tracker.process(
                image, index=index, timestamp_s=index / 25, source_size=ImageSize.of(image)
            )
            assert np.isfinite(frame.arkit).all()
            joy.append(solver(frame).blendshapes["Joy"])
    capture.release()
    return joy


def without_weights(frame: PoseFrame) -> PoseFrame:
    return dataclasses.replace(frame, arkit=absent_weights(len(frame.arkit)))


def test_every_smile_is_joy_and_the_neutral_face_is_not(photo_frames: dict[str, PoseFrame]) -> None:
    for name, frame in photo_frames.items():
        assert np.isfinite(frame.arkit).all(), name
        joy = shown(frame)["Joy"]
        if name.startswith(NEUTRAL_PHOTO):
            assert joy < 0.2, name
        else:
            assert joy > 0.5, name


def test_the_weights_read_the_smiles_the_mouth_corners_miss(
    photo_frames: dict[str, PoseFrame],
) -> None:
    # The comparison that chose the weights for Joy: a laughing mouth, pulled open, keeps its
    # corners low; without the weights (the fallback) Joy reads from the corners.
    # (0.31 here with the legacy backend's landmarks, 0.63 with the Tasks backend's.)
    laughing = photo_frames["fullbody_sitting_woman.jpg"]
    assert shown(without_weights(laughing))["Joy"] < 0.8 < shown(laughing)["Joy"]


def test_a_held_smile_is_steady_joy_and_a_relaxed_face_none(video_joy: list[float]) -> None:
    assert max(video_joy[i] for i in VIDEO_NEUTRAL) < 0.2
    smile = [video_joy[i] for i in VIDEO_SMILE]
    assert min(smile) > 0.5
    steps = np.abs(np.diff(smile))
    assert steps.mean() < 0.15 * np.mean(smile)


def test_joy_is_read_against_the_calibration_s_neutral_smile(
    photo_frames: dict[str, PoseFrame],
) -> None:
    # A user whose relaxed face the model reads as this much of a smile shows no Joy with it.
    frame = photo_frames["holistic_business_person.png"]
    neutral = neutral_face(frame.face, frame.image_size, frame.arkit.tolist())
    assert neutral is not None and neutral.smile_weight is not None
    assert neutral.smile_weight == pytest.approx(smile_weight(frame.arkit.tolist()))
    own = Calibration(0.0, 0.0, neutral, frames=1)
    assert AvatarSolver(PLAIN_SOLVER, own)(frame).blendshapes["Joy"] == 0.0
    assert AvatarSolver(PLAIN_SOLVER)(frame).blendshapes["Joy"] > 0.5


def test_blinks_stay_with_the_lids_when_the_weights_are_there(
    photo_frames: dict[str, PoseFrame],
) -> None:
    # The weights change Joy only: closing the lids of a face that has them still blinks (a
    # relaxed face: a smile's Joy would ease the blink, as it does without the weights).
    frame = photo_frames[NEUTRAL_PHOTO]
    assert shown(frame)["Blink"] < 0.3
    assert shown(reshaped(frame, close_lids((RIGHT, LEFT), 1.0)))["Blink"] > 0.8
