"""The Tasks-API backend (mocap/track/tasks.py) on the real photos and video, on whichever
mediapipe this interpreter has: mediapipe 1.x (Python 3.13+) runs it, 0.10.21 refuses it
(tools/compare_backends.py compares the two backends across their two interpreters)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from mocap.bench.run import decode_all
from mocap.config import ModelConfig
from mocap.errors import ModelError
from mocap.frames import ImageSize, PoseFrame, is_present
from mocap.track import Tracker, legacy_installed, open_tracker, tasks_supported
from mocap.track.blendshapes import BlendshapeModel
from mocap.track.tasks import TasksTracker
from tests.runs import run_mocap
from tests.support import read_image
from tests.test_holistic import manifest_rows

DATA = Path(__file__).parent / "data"
VIDEO = DATA / "face_hand_thumbs_up.mp4"
TASKS = ModelConfig(backend="tasks")
needs_tasks = pytest.mark.skipif(not tasks_supported(), reason="mediapipe 0.10: no tasks backend")


@pytest.fixture(scope="module")
def tasks_photos() -> Iterator[TasksTracker]:
    with TasksTracker(TASKS, photo_mode=True) as tracker:
        yield tracker


def on_photo(tracker: Tracker, name: str) -> PoseFrame:
    image = read_image(DATA / "images" / name)
    return tracker.process(image, index=0, timestamp_s=0.0, source_size=ImageSize.of(image))


@needs_tasks
@pytest.mark.parametrize(("photo", "expected"), manifest_rows(), ids=lambda v: str(v)[:30])
def test_parts_found_match_the_manifest(
    tasks_photos: TasksTracker, photo: str, expected: dict[str, bool]
) -> None:
    pose = on_photo(tasks_photos, photo.removeprefix("images/"))
    assert {part: is_present(getattr(pose, part)) for part in expected} == expected
    assert is_present(pose.pose_world) == expected["pose"]
    assert pose.face.shape == (478, 3) and pose.pose.shape == (33, 4)
    assert pose.pose_world.shape == (33, 4)
    if expected["pose"]:
        assert np.all(pose.pose[:, 3] >= 0) and np.all(pose.pose[:, 3] <= 1)
        hips_m = pose.pose_world[23:25, :3].mean(axis=0)
        assert np.abs(hips_m).max() < 0.1, "world landmarks: metres, origin between the hips"


@needs_tasks
def test_each_photo_stands_alone(tasks_photos: TasksTracker) -> None:
    """IMAGE mode keeps state between calls: the same photo again must give the same result."""
    first = on_photo(tasks_photos, "holistic_business_person.png")
    on_photo(tasks_photos, "fullbody_sitting_woman.jpg")
    again = on_photo(tasks_photos, "holistic_business_person.png")
    np.testing.assert_array_equal(first.pose, again.pose)
    np.testing.assert_array_equal(first.right_hand, again.right_hand)


@needs_tasks
def test_refine_face_off_gives_468_points() -> None:
    with TasksTracker(ModelConfig(backend="tasks", refine_face=False), photo_mode=True) as tracker:
        pose = on_photo(tracker, "face_sergey.png")
    assert pose.face.shape == (468, 3) and is_present(pose.face)


@needs_tasks
@pytest.mark.parametrize("name", ["face_two_children.jpg", "holistic_business_person.png"])
def test_the_graphs_arkit_weights_are_the_model_on_its_face(
    tasks_photos: TasksTracker, name: str
) -> None:
    """One inference gives the weights: they must be what the blendshape model gives for the
    face the graph found, in pixels of the whole image (the settings of its graph are right)."""
    image = read_image(DATA / "images" / name)
    pose = on_photo(tasks_photos, name)
    expected = BlendshapeModel().weights(pose.face, ImageSize.of(image))
    assert not np.isnan(expected).any()
    np.testing.assert_allclose(pose.arkit, expected, atol=1e-4)


@needs_tasks
@pytest.mark.parametrize("refine_face", [True, False])
def test_a_stream_read_from_the_c_result_is_what_mediapipes_python_api_gives(
    refine_face: bool,
) -> None:
    """The pipeline's reading of the C result (ctypes offsets into numpy) against mediapipe's own
    conversion of it (a dataclass per landmark), frame by frame on the video, in two VIDEO-mode
    landmarkers fed the same frames and timestamps; the caller's work (`while_inferring`, run
    while the C call computes) is done once a frame."""
    config = ModelConfig(backend="tasks", refine_face=refine_face)
    calls: list[int] = []

    def note_call() -> None:
        calls.append(len(calls))

    with TasksTracker(config) as fast, TasksTracker(config) as reference:
        assert fast._reader is not None, "mediapipe 1.x has the C result to read"
        reference._reader = None  # its Python API, as photos take
        found = {part: 0 for part in ("pose", "face", "left_hand", "right_hand")}
        for index, image in enumerate(decode_all(VIDEO, 60)):
            size = ImageSize.of(image)
            ours = fast.process(image, index=index, timestamp_s=index / 25, source_size=size,
                                while_inferring=note_call)  # fmt: skip
            theirs = reference.process(image, index=index, timestamp_s=index / 25, source_size=size)
            for part in ("pose", "pose_world", "face", "left_hand", "right_hand", "arkit"):
                np.testing.assert_array_equal(getattr(ours, part), getattr(theirs, part), part)
                assert not getattr(ours, part).flags.writeable
            for part in found:
                found[part] += is_present(getattr(ours, part))
    assert found["pose"] == found["face"] == 60 and found["right_hand"] > 30  # real data compared
    assert calls == list(range(60))


@needs_tasks
def test_a_complexity_not_in_the_bundle_is_refused() -> None:
    with pytest.raises(ModelError, match="never downloads models") as refused:
        TasksTracker(ModelConfig(backend="tasks", complexity=2))
    assert refused.value.exit_code == 2


@needs_tasks
def test_video_mode_survives_timestamps_that_repeat_or_step_back() -> None:
    image = read_image(DATA / "images" / "holistic_business_person.png")
    with TasksTracker(TASKS) as tracker:
        poses = [
            tracker.process(image, index=i, timestamp_s=t, source_size=ImageSize.of(image))
            for i, t in enumerate((0.0, 0.0, 0.04, 0.02))
        ]
    assert all(is_present(pose.pose) for pose in poses)
    assert [pose.timestamp_s for pose in poses] == [0.0, 0.0, 0.04, 0.02]  # the frames' own


def test_auto_picks_legacy_where_installed() -> None:
    with closing(open_tracker(ModelConfig(), photo_mode=True)) as tracker:
        backend = type(tracker).__name__
    assert backend == ("HolisticTracker" if legacy_installed() else "TasksTracker")


@needs_tasks
def test_mocap_run_with_the_tasks_backend() -> None:
    result = run_mocap("run", "--video", VIDEO, "--no-realtime", "--no-preview", "--frames",
                       "20", "--backend", "tasks", "--osc", "127.0.0.1:9", "--ws",
                       "127.0.0.1:0")  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(legacy_installed(), reason="the legacy API is installed here")
def test_the_legacy_backend_without_its_api_is_a_clear_error() -> None:
    result = run_mocap("run", "--demo", "--no-preview", "--backend", "legacy")
    assert result.returncode == 2, result.stderr
    assert "legacy backend needs mediapipe 0.10.21" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(tasks_supported(), reason="mediapipe 1.x is installed here")
def test_the_tasks_backend_on_mediapipe_0_10_is_a_clear_error() -> None:
    """0.10.21's HolisticLandmarker binding aborts the process when a part is not found."""
    result = run_mocap("run", "--demo", "--no-preview", "--backend", "tasks")
    assert result.returncode == 2, result.stderr
    assert "the tasks backend needs mediapipe 1.x" in result.stderr
    assert "Traceback" not in result.stderr
