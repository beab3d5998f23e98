"""The real model on the real photos: which parts are found matches tests/data/MANIFEST.md."""

from __future__ import annotations

from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np
import pytest

from mocap.config import ModelConfig
from mocap.errors import ModelError
from mocap.frames import ImageSize, is_present
from mocap.track import legacy_installed
from mocap.track.holistic import HolisticTracker, check_model_installed
from tests.runs import VIDEO
from tests.support import read_image

DATA = Path(__file__).parent / "data"
# Where the tasks backend (the default where mediapipe 0.10.21 is not installed) differs from the
# manifest (legacy Holistic's findings): its face comes from a short-range face detector on the
# whole image, not from the pose, and misses faces this small (about 20 px wide).
TASKS_DIFFERENCES = {"images/fullbody_couple_walking.jpg": {"face": False}}
pytestmark = pytest.mark.skipif(not legacy_installed(), reason="mediapipe 1.x: no legacy API")


def manifest_rows() -> list[tuple[str, dict[str, bool]]]:
    """(file, {part: found}) for each photo row of the manifest's detection table, as the
    default backend finds them."""
    rows = []
    for line in (DATA / "MANIFEST.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) > 6 and cells[0].startswith("images/"):
            found = [cell == "y" for cell in cells[2:6]]
            parts = dict(zip(("pose", "face", "left_hand", "right_hand"), found, strict=True))
            if not legacy_installed():
                parts |= TASKS_DIFFERENCES.get(cells[0], {})
            rows.append((cells[0], parts))
    return rows


def test_manifest_lists_the_photos() -> None:
    assert len(manifest_rows()) == 8


@pytest.mark.parametrize(("photo", "expected"), manifest_rows(), ids=lambda v: str(v)[:30])
def test_parts_found_match_the_manifest(
    photo_tracker: HolisticTracker, photo: str, expected: dict[str, bool]
) -> None:
    image = read_image(DATA / photo)
    pose = photo_tracker.process(image, index=0, timestamp_s=0.0, source_size=ImageSize.of(image))
    found = {part: is_present(getattr(pose, part)) for part in expected}
    assert found == expected
    assert is_present(pose.pose_world) == expected["pose"]
    assert pose.image_size == ImageSize.of(image)
    assert pose.face.shape == (478, 3) and pose.pose.shape == (33, 4)
    if expected["face"]:
        inside = (pose.face[:, :2] > -0.05) & (pose.face[:, :2] < 1.05)
        assert inside.all(), "the face box lies inside the image"
    if expected["pose"]:
        nose_y, hip_y = pose.pose[0, 1], pose.pose[23:25, 1].mean()
        assert nose_y < hip_y, "the nose is above the hips (y grows downwards)"
        assert np.all(pose.pose[:, 3] >= 0) and np.all(pose.pose[:, 3] <= 1)


def test_refine_face_off_gives_468_points() -> None:
    image = read_image(DATA / "images/face_sergey.png")
    with HolisticTracker(ModelConfig(refine_face=False), photo_mode=True) as tracker:
        pose = tracker.process(image, index=0, timestamp_s=0.0, source_size=ImageSize.of(image))
    assert pose.face.shape == (468, 3) and is_present(pose.face)


@pytest.mark.parametrize("complexity", [0, 2])
def test_missing_model_file_is_a_clear_error_not_a_download(complexity: int) -> None:
    with pytest.raises(ModelError, match="never downloads models") as refused:
        check_model_installed(complexity)
    assert refused.value.exit_code == 2


def test_a_stream_reads_what_holistic_process_gives_and_calls_back_once_a_frame() -> None:
    """The tracker hands each frame to the graph and waits in two steps (its caller works in
    between); the landmarks are those of mediapipe's own `Holistic.process` on the same frames."""
    capture = cv2.VideoCapture(str(VIDEO))
    images = [np.asarray(capture.read()[1], np.uint8) for _ in range(12)]
    capture.release()
    calls: list[int] = []

    def note_call() -> None:
        calls.append(len(calls))

    with (
        HolisticTracker(ModelConfig()) as tracker,
        mp.solutions.holistic.Holistic(model_complexity=1, refine_face_landmarks=True) as theirs,
    ):
        for index, image in enumerate(images):
            ours = tracker.process(image, index=index, timestamp_s=index / 25,
                                   source_size=ImageSize.of(image),
                                   while_inferring=note_call)  # fmt: skip
            results = theirs.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            for part in ("pose", "face", "left_hand", "right_hand"):
                found = getattr(results, f"{part}_landmarks")
                block = getattr(ours, part)
                if found is None:
                    assert not is_present(block), (index, part)
                    continue
                expected = np.array([[p.x, p.y, p.z] for p in found.landmark], np.float32)
                np.testing.assert_array_equal(block[:, :3], expected, err_msg=part)
            assert is_present(ours.pose) and is_present(ours.face)
    assert calls == list(range(12))
