"""The ARKit weights (PoseFrame.arkit) on real photos, against MediaPipe's own Face Landmarker.

The reference is MediaPipe's Tasks FaceLandmarker with output_face_blendshapes: it finds a face's
478 landmarks and scores them with face_blendshapes.tflite in its own graph. Its bundle is
assembled here from the three models of mocap's Holistic bundle, which are byte for byte those of
MediaPipe's face_landmarker.task (tests/test_model_bundle.py pins their SHA-256; the .task's
fourth entry, the face geometry metadata, serves only transformation matrices, not asked for).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap import skeleton
from mocap.config import ModelConfig
from mocap.frames import FloatArray, ImageArray, ImageSize, is_present
from mocap.models import HOLISTIC_BUNDLE
from mocap.track import Tracker, open_tracker
from mocap.track.blendshapes import (
    LANDMARK_SUBSET,
    MODEL_ENTRY,
    BlendshapeModel,
    model_bytes,
    model_input,
)
from tests.support import read_image
from tests.test_model_bundle import ENTRY_SHA256

mp = pytest.importorskip("mediapipe")
from mediapipe.tasks.python import BaseOptions, vision  # noqa: E402 - after the skip above

IMAGES = Path(__file__).parent / "data" / "images"
FACE_LANDMARKER_ENTRIES = (
    "face_detector.tflite", "face_landmarks_detector.tflite", "face_blendshapes.tflite"
)  # fmt: skip
NAMES = skeleton.ARKIT_NAMES
# Non-square photos (landscape, portrait) and a mirrored one.
NON_SQUARE = [("face_two_children.jpg", False), ("holistic_business_person.png", False),
              ("face_two_children.jpg", True)]  # fmt: skip
SMILING = ["face_sergey.png", "face_astronaut.png", "holistic_business_person.png"]
EYES_OPEN = ["face_two_children.jpg", "face_astronaut.png", "holistic_business_person.png"]


def face_landmarker_bundle() -> bytes:
    source = zipfile.ZipFile(HOLISTIC_BUNDLE)
    packed = io.BytesIO()
    with source, zipfile.ZipFile(packed, "w", zipfile.ZIP_STORED) as bundle:
        for entry in FACE_LANDMARKER_ENTRIES:
            bundle.writestr(entry, source.read(entry))
    return packed.getvalue()


@pytest.fixture(scope="module")
def official() -> Iterator[object]:
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=face_landmarker_bundle()),
        output_face_blendshapes=True,
        num_faces=1,
    )
    with vision.FaceLandmarker.create_from_options(options) as landmarker:
        yield landmarker


@pytest.fixture(scope="module")
def arkit_tracker() -> Iterator[Tracker]:
    """The default backend of this interpreter in photo mode, with the ARKit weights on."""
    tracker = open_tracker(ModelConfig(arkit=True), photo_mode=True)
    yield tracker
    tracker.close()


def photo(name: str, *, mirrored: bool = False) -> ImageArray:
    image = read_image(IMAGES / name)
    return np.ascontiguousarray(image[:, ::-1]) if mirrored else image


def official_face(landmarker: object, image: ImageArray) -> tuple[FloatArray, FloatArray]:
    """The Face Landmarker's (478, 3) landmarks and its 51 ARKit weights (`_neutral` dropped,
    found by name)."""
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))  # type: ignore[attr-defined]
    assert len(result.face_landmarks) == 1, "the reference finds the face"
    face = np.array([(p.x, p.y, p.z) for p in result.face_landmarks[0]], dtype=np.float32)
    scores = {c.category_name: c.score for c in result.face_blendshapes[0]}
    return face, np.array([scores[name] for name in NAMES], dtype=np.float32)


def tracked_arkit(tracker: Tracker, image: ImageArray) -> FloatArray:
    size = ImageSize.of(image)
    return tracker.process(image, index=0, timestamp_s=0.0, source_size=size).arkit


def weight(weights: FloatArray, name: str) -> float:
    return float(weights[NAMES.index(name)])


def other_side(name: str) -> str:
    return name.replace("Left", "#").replace("Right", "Left").replace("#", "Right")


def sides_swapped(weights: FloatArray) -> FloatArray:
    """The weights with every ...Left and ...Right name's values exchanged."""
    return weights[[NAMES.index(other_side(name)) for name in NAMES]]


def test_the_model_is_the_pinned_entry_of_the_bundle() -> None:
    """MediaPipe's face_blendshapes.tflite of face_landmarker.task (2023-05-03), 955,312 bytes."""
    model = model_bytes()
    assert len(model) == 955_312
    assert hashlib.sha256(model).hexdigest() == ENTRY_SHA256[MODEL_ENTRY]


def test_the_input_is_the_subset_in_pixels_of_the_whole_image() -> None:
    face = np.random.default_rng(3).uniform(0.2, 0.8, (478, 3)).astype(np.float32)
    tensor = model_input(face, ImageSize(1280, 720))
    assert tensor.shape == (1, 146, 2) and tensor.dtype == np.float32
    assert len(set(LANDMARK_SUBSET)) == 146 and set(range(468, 478)) <= set(LANDMARK_SUBSET)
    nose_tip = LANDMARK_SUBSET.index(1)
    np.testing.assert_allclose(tensor[0, nose_tip], face[1, :2] * [1280, 720], rtol=1e-6)


@pytest.mark.parametrize("name", ["face_two_children.jpg", "holistic_business_person.png",
                                  "face_sergey.png"])  # fmt: skip
def test_official_landmarks_give_the_official_weights(official: object, name: str) -> None:
    image = photo(name)
    face, expected = official_face(official, image)
    weights = BlendshapeModel().weights(face, ImageSize.of(image))
    np.testing.assert_allclose(weights, expected, atol=1e-4)


def test_the_aspect_ratio_matters_and_the_scale_does_not(official: object) -> None:
    image = photo("face_two_children.jpg")  # 1280 x 853
    face, expected = official_face(official, image)
    model = BlendshapeModel()
    np.testing.assert_allclose(model.weights(face, ImageSize(640, 426)), expected, atol=2e-3)
    squashed = model.weights(face, ImageSize(1280, 1280))
    assert np.abs(squashed - expected).max() > 0.05


@pytest.mark.parametrize(("name", "mirrored"), NON_SQUARE, ids=str)
def test_holistic_weights_are_near_the_official(
    official: object, arkit_tracker: Tracker, name: str, mirrored: bool
) -> None:
    image = photo(name, mirrored=mirrored)
    assert image.shape[0] != image.shape[1]
    _, expected = official_face(official, image)
    weights = tracked_arkit(arkit_tracker, image)
    assert np.abs(weights - expected).mean() < 0.06
    strong = expected > 0.3
    assert strong.any()
    far = np.abs(weights - expected) >= 0.2
    assert not (strong & far).any(), [NAMES[i] for i in np.flatnonzero(strong & far)]


@pytest.mark.parametrize("name", SMILING)
def test_smiles_are_smiles(arkit_tracker: Tracker, name: str) -> None:
    weights = tracked_arkit(arkit_tracker, photo(name))
    assert weight(weights, "mouthSmileLeft") > 0.5 and weight(weights, "mouthSmileRight") > 0.5


@pytest.mark.parametrize("name", EYES_OPEN)
def test_open_eyes_do_not_blink(arkit_tracker: Tracker, name: str) -> None:
    weights = tracked_arkit(arkit_tracker, photo(name))
    assert weight(weights, "eyeBlinkLeft") < 0.3 and weight(weights, "eyeBlinkRight") < 0.3
    assert ((weights >= 0) & (weights <= 1)).all()


def test_a_mirror_image_swaps_left_and_right(arkit_tracker: Tracker) -> None:
    """The children's photo: the girl looks to her left (her left eye out, her right eye in)."""
    weights = tracked_arkit(arkit_tracker, photo("face_two_children.jpg"))
    mirrored = tracked_arkit(arkit_tracker, photo("face_two_children.jpg", mirrored=True))
    assert weight(weights, "eyeLookOutLeft") > 0.1 > weight(weights, "eyeLookOutRight")
    assert weight(mirrored, "eyeLookOutRight") > 0.1 > weight(mirrored, "eyeLookOutLeft")
    swapped_error = np.abs(sides_swapped(mirrored) - weights).mean()
    assert swapped_error < 0.04
    assert swapped_error < 0.75 * np.abs(mirrored - weights).mean()


@pytest.mark.parametrize(
    "config", [ModelConfig(arkit=False), ModelConfig(refine_face=False)], ids=["off", "468"]
)
def test_no_weights_when_off_or_without_irises(config: ModelConfig) -> None:
    image = photo("face_sergey.png")
    with closing(open_tracker(config, photo_mode=True)) as tracker:
        frame = tracker.process(image, index=0, timestamp_s=0.0, source_size=ImageSize.of(image))
    assert is_present(frame.face) and np.isnan(frame.arkit).all()


def test_no_face_no_weights(arkit_tracker: Tracker) -> None:
    weights = tracked_arkit(arkit_tracker, photo("negative_hand_only_thumb_up.jpg"))
    assert weights.shape == (51,) and np.isnan(weights).all()
