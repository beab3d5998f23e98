"""Photo checks (type by content, size from the header), decoding, and annotation with the real
model on the real photos."""

from __future__ import annotations

import json
import os
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocap.config import ModelConfig, PhotoConfig
from mocap.frames import ImageArray, ImageSize, is_present
from mocap.photos.annotator import PhotoAnnotator, encode_jpeg, photo_json
from mocap.photos.checks import PhotoRefused, read_header, read_photo, read_photo_file
from tests.photo_files import (
    PNG_SIGNATURE,
    bmp_header_only,
    encoded,
    gif_bytes,
    jpeg_header_only,
    png_bytes,
    webp_header_only,
    with_exif_orientation,
)
from tests.test_holistic import manifest_rows

DATA = Path(__file__).parent / "data"
PHOTOS = sorted((DATA / "images").iterdir())
LIMITS = PhotoConfig()
OVER_LIMIT = "12000x12000 px is over 10,000,000 pixels (photos.max_pixels)"


def gradient(width: int, height: int) -> ImageArray:
    """A BGR test image whose three channels differ, so a channel mix-up shows."""
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, axis=0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, axis=1)
    return np.dstack([x, y, np.full_like(x, 90)])


def refusal(data: bytes, name: str = "photo.jpg", limits: PhotoConfig = LIMITS) -> str:
    with pytest.raises(PhotoRefused) as refused:
        read_photo(data, limits, name)
    assert refused.value.exit_code == 2
    assert "\n" not in str(refused.value)
    assert str(refused.value) == f"{name}: {refused.value.reason}"
    return str(refused.value)


# --- accepted ----------------------------------------------------------------------------------


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda path: path.name)
def test_every_real_photo_is_accepted_at_the_size_its_header_says(photo: Path) -> None:
    data = photo.read_bytes()
    image = read_photo(data, LIMITS, photo.name)
    reference = cv2.imread(str(photo))  # an independent decode
    assert image.dtype == np.uint8 and image.shape == reference.shape
    assert read_header(data, photo.name).size == ImageSize.of(reference)


@pytest.mark.parametrize(
    ("suffix", "params", "kind"),
    [
        (".jpg", (), "JPEG"),
        (".png", (), "PNG"),
        (".webp", (cv2.IMWRITE_WEBP_QUALITY, 80), "WebP"),  # lossy: a VP8 chunk
        (".webp", (cv2.IMWRITE_WEBP_QUALITY, 101), "WebP"),  # lossless: a VP8L chunk
        (".bmp", (), "BMP"),
    ],
    ids=["jpeg", "png", "webp-lossy", "webp-lossless", "bmp"],
)
def test_accepted_types_decode_to_bgr_of_their_size(
    suffix: str, params: tuple[int, ...], kind: str
) -> None:
    original = gradient(130, 90)
    data = encoded(original, suffix, *params)
    assert read_header(data, "x") == (kind, ImageSize(130, 90))
    image = read_photo(data, LIMITS, "x")
    assert image.shape == (90, 130, 3) and image.dtype == np.uint8
    assert np.abs(image.astype(int) - original).mean() < 3  # the same picture, lossy or not


def test_webp_with_alpha_has_an_extended_header_and_loses_the_alpha() -> None:
    bgra = np.dstack([gradient(100, 70), np.full((70, 100), 128, np.uint8)])
    data = encoded(bgra, ".webp", cv2.IMWRITE_WEBP_QUALITY, 90)
    assert data[12:16] == b"VP8X"
    assert read_header(data, "x").size == ImageSize(100, 70)
    assert read_photo(data, LIMITS, "x").shape == (70, 100, 3)


@pytest.mark.parametrize(
    ("pixels", "expected_bgr"),
    [
        (np.full((70, 90), 200, np.uint8), (200, 200, 200)),  # gray
        (np.full((70, 90, 4), (10, 20, 30, 0), np.uint8), (10, 20, 30)),  # BGRA, transparent
        (np.full((70, 90), 0xABCD, np.uint16), (0xAB, 0xAB, 0xAB)),  # 16-bit gray
        (np.full((70, 90, 3), (0x1234, 0x5678, 0x9ABC), np.uint16), (0x12, 0x56, 0x9A)),
    ],
    ids=["gray", "bgra", "gray16", "bgr16"],
)
def test_png_variants_become_8_bit_bgr(
    pixels: npt.NDArray[Any], expected_bgr: tuple[int, ...]
) -> None:
    image = read_photo(encoded(pixels, ".png"), LIMITS, "x.png")
    assert image.shape == (70, 90, 3) and image.dtype == np.uint8
    assert (image == expected_bgr).all()


def test_a_jpeg_named_png_is_read_as_the_jpeg_it_is(tmp_path: Path) -> None:
    path = tmp_path / "really_a_jpeg.png"
    path.write_bytes((DATA / "images/small_children_on_horse.jpg").read_bytes())
    data = read_photo_file(path, path.name)
    assert read_header(data, path.name).kind == "JPEG"
    assert read_photo(data, LIMITS, path.name).shape == (257, 257, 3)


def test_exif_orientation_turns_the_photo_as_viewers_show_it() -> None:
    jpeg = encoded(gradient(160, 100), ".jpg")
    turned = with_exif_orientation(jpeg, 6)  # "rotate 90 degrees clockwise to display"
    assert read_header(turned, "x").size == ImageSize(160, 100)  # the stored size
    assert read_photo(turned, LIMITS, "x").shape == (160, 100, 3)


def test_the_size_limits_come_from_the_config() -> None:
    data = (DATA / "images/face_astronaut.png").read_bytes()  # 512x512
    assert "512x512 px is over 100,000 pixels" in refusal(
        data, limits=PhotoConfig(max_pixels=10**5)
    )
    small_side = refusal(data, limits=PhotoConfig(min_side_px=600))
    assert "the short side must be at least 600 px (photos.min_side_px)" in small_side


# --- refused -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        png_bytes(12000, 12000, pixel_data=b"not zlib data at all"),
        jpeg_header_only(12000, 12000),
        webp_header_only(12000, 12000),
        bmp_header_only(12000, 12000),
    ],
    ids=["png", "jpeg", "webp", "bmp"],
)
def test_an_image_over_the_limit_is_refused_from_its_header_alone(data: bytes) -> None:
    # Nothing past these headers decodes (no or invalid pixel data): had the photo been decoded,
    # the refusal would say so, not give the size.
    assert refusal(data, "huge.png") == f"huge.png: {OVER_LIMIT}"


def test_the_hand_built_headers_describe_real_images() -> None:
    """The builders above write valid headers: the same ones at a small size are read and, with
    pixel data, decoded; without it they are refused for not decoding."""
    assert read_photo(png_bytes(100, 80), LIMITS, "x").shape == (80, 100, 3)
    assert read_header(bmp_header_only(100, -80), "x").size == ImageSize(100, 80)  # top-down
    for header in (jpeg_header_only, webp_header_only, bmp_header_only):
        data = header(100, 80)
        assert read_header(data, "x").size == ImageSize(100, 80)
        assert "does not decode" in refusal(data)


def test_a_valid_12000x12000_png_is_refused() -> None:
    data = png_bytes(12000, 12000)
    assert len(data) < 1_000_000
    assert refusal(data, "huge.png") == f"huge.png: {OVER_LIMIT}"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "an empty file, not an image (a JPEG, PNG, WebP or BMP file)"),
        (b"meeting notes: bring the camera\n", "not an image (a JPEG, PNG, WebP or BMP file)"),
        (np.random.default_rng(7).bytes(5000), "not an image (a JPEG, PNG, WebP or BMP file)"),
        (b"BMW service notes, 12 May\n" * 4, "not an image (a JPEG, PNG, WebP or BMP file)"),
        (gif_bytes(320, 240), "a GIF image, not a JPEG, PNG, WebP or BMP file"),
        (encoded(gradient(80, 80), ".tiff"), "a TIFF image, not a JPEG, PNG, WebP or BMP file"),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "a HEIC image, not a JPEG, PNG, WebP or BMP file"),
        (encoded(gradient(32, 32), ".png"), "32x32 px; the short side must be at least 64 px"),
        (encoded(gradient(400, 40), ".jpg"), "400x40 px; the short side must be at least 64 px"),
        (PNG_SIGNATURE + b"\0\0\0\x0dIHD", "a PNG file cut short in its header"),
        (PNG_SIGNATURE + png_bytes(100, 80)[8:12] + b"IDAT" + bytes(12), "corrupt header"),
        (png_bytes(0, 80), "a PNG file whose header says 0x80 px"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "a JPEG file cut short in its header"),
        (b"\xff\xd8\xff\xda\x00\x08" + bytes(20), "no frame header before the image data"),
        (b"\xff\xd8" + b"\xff" * 50_000, "no frame header in its first 10,000 segments"),
        (b"BM" + bytes(12) + struct.pack("<IHHHH", 12, 12000, 12000, 1, 24), OVER_LIMIT),
    ],
    ids=[
        "empty", "text", "random", "starts-with-BM", "gif", "tiff", "heic", "32x32", "thin",
        "png-cut-in-header", "png-without-ihdr", "png-zero-width", "jpeg-cut-in-header",
        "jpeg-without-frame-header", "jpeg-all-fill-bytes", "bmp-os2-huge",
    ],
)  # fmt: skip
def test_refusals_say_why(data: bytes, reason: str) -> None:
    assert reason in refusal(data, "notes.jpg")


@pytest.mark.parametrize("photo", ["face_two_children.jpg", "face_sergey.png"])
@pytest.mark.parametrize("kept", [0.5, 0.99])
def test_a_truncated_photo_is_refused(photo: str, kept: float) -> None:
    data = (DATA / "images" / photo).read_bytes()
    message = refusal(data[: int(len(data) * kept)], photo)
    assert "does not decode (corrupt or cut short)" in message


def test_reading_a_file_that_is_missing_or_a_folder_is_a_refusal(tmp_path: Path) -> None:
    for path, reason in [(tmp_path / "gone.jpg", "No such file"), (tmp_path, "Is a directory")]:
        with pytest.raises(PhotoRefused, match=reason):
            read_photo_file(path, str(path))


def test_a_file_that_is_no_image_is_refused_from_its_first_bytes(tmp_path: Path) -> None:
    """A named pipe that never ends: reading it to the end would hang."""
    pipe = tmp_path / "endless.jpg"
    os.mkfifo(pipe)
    done = threading.Event()

    def write_forever() -> None:
        with pipe.open("wb") as writer:
            writer.write(b"this is not an image, and it goes on and on" * 4)
            writer.flush()
            done.wait(30)

    refusals: list[str] = []

    def read() -> None:
        try:
            read_photo_file(pipe, "endless.jpg")
        except PhotoRefused as exc:
            refusals.append(str(exc))

    writer = threading.Thread(target=write_forever, daemon=True)
    reader = threading.Thread(target=read, daemon=True)
    writer.start()
    reader.start()
    reader.join(timeout=10)
    done.set()
    writer.join(timeout=10)
    assert not reader.is_alive(), "read_photo_file read past the first bytes"
    assert refusals == ["endless.jpg: not an image (a JPEG, PNG, WebP or BMP file)"]


# --- fuzz --------------------------------------------------------------------------------------

MAGIC_PREFIXES = [
    b"",
    b"\xff\xd8\xff",
    PNG_SIGNATURE,
    PNG_SIGNATURE + b"\0\0\0\x0dIHDR",
    b"RIFF\0\0\0\0WEBPVP8 ",
    b"RIFF\0\0\0\0WEBPVP8L",
    b"RIFF\0\0\0\0WEBPVP8X",
    b"BM" + bytes(12) + b"\x28\0\0\0",
    b"BM" + bytes(12) + b"\x0c\0\0\0",
]
SEED_FILES = [
    (DATA / "images/small_children_on_horse.jpg").read_bytes(),
    encoded(gradient(96, 80), ".png"),
    encoded(gradient(96, 80), ".webp", cv2.IMWRITE_WEBP_QUALITY, 50),
    encoded(gradient(96, 80), ".bmp"),
]


def assert_photo_or_refusal(data: bytes) -> None:
    """What read_photo may do with any bytes: return a checked image, or raise PhotoRefused."""
    try:
        image = read_photo(data, LIMITS, "fuzz")
    except PhotoRefused:
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert min(image.shape[:2]) >= LIMITS.min_side_px
    assert image.shape[0] * image.shape[1] <= LIMITS.max_pixels


@settings(max_examples=300)
@given(prefix=st.sampled_from(MAGIC_PREFIXES), rest=st.binary(max_size=600))
def test_any_bytes_give_a_photo_or_a_refusal(prefix: bytes, rest: bytes) -> None:
    assert_photo_or_refusal(prefix + rest)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEED_FILES),
    changes=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 20_000)),
)
def test_mutated_real_headers_give_a_photo_or_a_refusal(
    seed: bytes, changes: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(seed)
    for offset, value in changes:  # the first 400 bytes: the headers
        if offset < len(data):
            data[offset] = value
    assert_photo_or_refusal(bytes(data[:cut]))


# --- annotation (the real model) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def annotator() -> Iterator[PhotoAnnotator]:
    with PhotoAnnotator(ModelConfig(), PhotoConfig()) as photo_annotator:
        yield photo_annotator


@pytest.mark.parametrize(("photo", "expected"), manifest_rows()[:4], ids=lambda v: str(v)[:24])
def test_annotate_finds_the_manifest_parts_and_draws_them(
    annotator: PhotoAnnotator, photo: str, expected: dict[str, bool]
) -> None:
    path = DATA / photo
    original = cv2.imread(str(path))
    result = annotator.annotate(path.read_bytes(), path.name)
    assert result.name == path.name
    assert {part: is_present(getattr(result.pose, part)) for part in expected} == expected
    assert result.pose.image_size == ImageSize.of(original)
    assert result.annotated.shape == original.shape
    assert (result.annotated != original).any(), "the landmarks are drawn"

    message = json.loads(photo_json(result), parse_constant=pytest.fail)
    assert list(message) == [
        "type", "file", "size", "pose", "pose_world", "face", "left_hand", "right_hand", "arkit",
    ]  # fmt: skip
    assert message["type"] == "photo" and message["file"] == path.name
    assert message["size"] == list(ImageSize.of(original))
    for part, found in expected.items():
        assert (message[part] is not None) == found
    assert (message["arkit"] is not None) == expected["face"]
    if expected["pose"]:
        assert np.array(message["pose"]).shape == (33, 4)
        assert np.array(message["face"]).shape == (478, 3)

    jpeg = encode_jpeg(result.annotated)
    assert read_header(jpeg, "annotated").kind == "JPEG"
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == original.shape


def test_annotate_refuses_before_running_the_model(annotator: PhotoAnnotator) -> None:
    with pytest.raises(PhotoRefused, match=r"^notes\.jpg: not an image"):
        annotator.annotate(b"just text", "notes.jpg")
