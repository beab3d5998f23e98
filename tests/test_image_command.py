"""`mocap image` as a user runs it (patterns, outputs, refusals, exit codes); the progress line."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mocap import skeleton
from mocap.progress import Progress
from tests.photo_files import encoded, gif_bytes, png_bytes
from tests.runs import run_mocap
from tests.support import Terminal, read_image
from tests.test_holistic import manifest_rows

DATA = Path(__file__).parent / "data"
PHOTO = DATA / "images/small_children_on_horse.jpg"  # 257x257: quick
PART_LABELS = {"pose": "pose", "face": "face", "left_hand": "left hand", "right_hand": "right hand"}


def run_image(*args: str | Path) -> subprocess.CompletedProcess[str]:
    result = run_mocap("image", *args)
    assert "Traceback" not in result.stderr + result.stdout
    return result


def image_size(path: Path) -> tuple[int, int]:
    image = read_image(path)
    return image.shape[1], image.shape[0]


def test_the_shared_photos_annotated_into_folders(tmp_path: Path) -> None:
    images, landmarks = tmp_path / "annotated", tmp_path / "json"
    pattern = str(DATA / "images" / "*")  # expanded by mocap, not by a shell
    result = run_image(pattern, "-o", images, "--json", landmarks)
    assert result.returncode == 0, result.stderr
    rows = manifest_rows()
    assert re.search(rf"^mocap: \[1/{len(rows)}\] \S+", result.stderr, re.MULTILINE)
    assert f"{len(rows)} of {len(rows)} photos annotated" in result.stderr
    for photo, expected in rows:
        stem = Path(photo).stem
        assert image_size(images / f"{stem}.annotated.jpg") == image_size(DATA / photo)
        message = json.loads((landmarks / f"{stem}.json").read_text())
        assert message["type"] == "photo" and message["file"].endswith(Path(photo).name)
        assert message["size"] == list(image_size(DATA / photo))
        assert {part: message[part] is not None for part in expected} == expected
        assert (message["pose_world"] is not None) == expected["pose"]
        assert (message["arkit"] is not None) == expected["face"]  # the weights of the face found
        assert message["arkit"] is None or list(message["arkit"]) == list(skeleton.ARKIT_NAMES)
        line = next(line for line in result.stdout.splitlines() if Path(photo).name in line)
        found = [label for part, label in PART_LABELS.items() if expected[part]]
        assert f": {', '.join(found) or 'no person found'} -> " in line


def test_good_photos_are_written_and_each_bad_one_is_one_line(tmp_path: Path) -> None:
    shutil.copy(PHOTO, tmp_path / "horse.jpg")
    shutil.copy(PHOTO, tmp_path / "jpeg_named.png")  # content wins over the name
    bad = {
        "notes.jpg": (b"shopping list\n", "not an image (a JPEG, PNG, WebP or BMP file)"),
        "noise.jpg": (np.random.default_rng(1).bytes(3000), "not an image"),
        "tiny.png": (encoded(np.zeros((32, 32, 3), np.uint8), ".png"), "32x32 px; the short"),
        "huge.png": (png_bytes(12000, 12000, b"junk"), "12000x12000 px is over 10,000,000"),
        "anim.gif": (gif_bytes(200, 200), "a GIF image, not a JPEG, PNG, WebP or BMP file"),
        "cut.jpg": (PHOTO.read_bytes()[:5000], "a JPEG file that does not decode"),
    }
    for name, (data, _) in bad.items():
        (tmp_path / name).write_bytes(data)
    result = run_image(tmp_path / "*", tmp_path / "missing.jpg", tmp_path / "none*.webp")
    assert result.returncode == 2
    for good in ("horse", "jpeg_named"):
        assert image_size(tmp_path / f"{good}.annotated.jpg") == (257, 257)
        assert json.loads((tmp_path / f"{good}.json").read_text())["pose"] is not None
    errors = [line for line in result.stderr.splitlines() if not line.startswith("mocap: [")]
    for name, (_, reason) in bad.items():
        (line,) = [line for line in errors if name in line]
        assert line.startswith(f"mocap: {tmp_path / name}: {reason}")
        assert not (tmp_path / f"{Path(name).stem}.json").exists()
    assert [line for line in errors if "missing.jpg" in line] == [
        f"mocap: {tmp_path / 'missing.jpg'}: cannot be read (No such file or directory)"
    ]
    assert f"mocap: {tmp_path / 'none*.webp'}: no photo matches this pattern" in errors
    assert "2 of 9 photos annotated" in result.stderr


def test_o_and_json_name_files_for_one_photo(tmp_path: Path) -> None:
    copy = tmp_path / "me.jpg"
    shutil.copy(PHOTO, copy)
    result = run_image(copy, "-o", tmp_path / "out/me.png", "--json", tmp_path / "me-pose.json")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/me.png").read_bytes().startswith(b"\x89PNG")  # the suffix decides
    assert json.loads((tmp_path / "me-pose.json").read_text())["size"] == [257, 257]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me-pose.json", "me.jpg", "out"]


def test_a_pattern_writes_into_a_folder_even_when_it_matches_one_photo(tmp_path: Path) -> None:
    shutil.copy(PHOTO, tmp_path / "one.jpg")
    result = run_image(tmp_path / "*.jpg", "-o", tmp_path / "results")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["one.annotated.jpg"]
    assert not (tmp_path / "one.json").exists(), "only what -o names is written"


def test_a_second_run_over_a_folder_skips_the_first_runs_outputs(tmp_path: Path) -> None:
    shutil.copy(PHOTO, tmp_path / "a.jpg")
    for _ in range(2):
        result = run_image(tmp_path / "*")
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.annotated.jpg", "a.jpg", "a.json"]


def test_outputs_never_overwrite_a_photo_or_each_other(tmp_path: Path) -> None:
    shutil.copy(PHOTO, tmp_path / "a.jpg")
    shutil.copy(PHOTO, tmp_path / "a.png")  # both would write a.annotated.jpg and a.json
    result = run_image(tmp_path / "a.jpg", tmp_path / "a.png")
    assert result.returncode == 2
    assert f"{tmp_path / 'a.annotated.jpg'} was just written for {tmp_path / 'a.jpg'}" in (
        result.stderr
    )
    alone = run_image(tmp_path / "a.jpg", "-o", tmp_path / "a.jpg")
    assert alone.returncode == 2 and "would overwrite the photo itself" in alone.stderr
    assert (tmp_path / "a.jpg").read_bytes() == PHOTO.read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("PHOTO", "-o", "OUT/x.txt"), "-o OUT/x.txt: the annotated copy needs an image suffix"),
        (("PHOTO", "PHOTO", "--json", "OUT/taken"), "--json OUT/taken is a file: several photos"),
    ],
)
def test_outputs_that_cannot_be_named_are_usage_errors(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "taken").write_text("a file")

    def filled_in(text: str) -> str:
        return text.replace("PHOTO", str(PHOTO)).replace("OUT", str(tmp_path))

    result = run_image(*map(filled_in, args))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"mocap: error: {filled_in(message)}")


# --- the progress line -------------------------------------------------------------------------


def test_progress_is_plain_lines_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(3, stream)
    for step in (1, 2, 3):
        progress.show(step, f"photo{step}.jpg")
        progress.clear()
    assert stream.getvalue().splitlines() == [
        "mocap: [1/3] photo1.jpg", "mocap: [2/3] photo2.jpg", "mocap: [3/3] photo3.jpg",
    ]  # fmt: skip


def test_progress_is_a_bar_redrawn_in_place_on_a_terminal() -> None:
    stream = Terminal()
    progress = Progress(4, stream)
    progress.show(3, "c.jpg")
    assert stream.getvalue() == "\r\x1b[K[" + "#" * 12 + "." * 12 + "] 3/4 c.jpg"
    progress.clear()
    assert stream.getvalue().endswith("\r\x1b[K") and "\n" not in stream.getvalue()
