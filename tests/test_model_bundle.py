"""The shipped Holistic bundle is exactly what tools/build_holistic_bundle.py builds from its
pinned inputs: every entry's SHA-256 and the whole file's are pinned here (rebuild, then update
these together with the script, never alone)."""

from __future__ import annotations

import hashlib
import zipfile

from mocap.models import HOLISTIC_BUNDLE

BUNDLE_SHA256 = "65313f8849b8ff09812e479c5c9c39885aec73fa35886792fd547877a27b9ee7"
ENTRY_SHA256 = {
    "pose_detector.tflite": "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    "pose_landmarks_detector.tflite":
        "f5b3cbd675cbe964617d13fdd55c8d54d893c54945801804f9a1c33205f3b13c",
    "hand_landmarks_detector.tflite":
        "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
    "hand_roi_refinement.tflite":
        "f5db9fae685d78a4519baa8047ccbc365c62bba9445b7fcf2ea59b3bcae71cf6",
    "face_detector.tflite": "b4578f35940bf5a1a655214a1cce5cab13eba73c1297cd78e1a04c2380b0152f",
    "face_landmarks_detector.tflite":
        "c7d54204ce0448474c7f3fa9af494787c0965cbdd6f20fc72867e43046bd43d5",
    "face_blendshapes.tflite": "4f36dded049db18d76048567439b2a7f58f1daabc00d78bfe8f3ad396a2d2082",
}  # fmt: skip
ALIGNMENT_BYTES = 64
LOCAL_HEADER_BYTES = 30


def test_the_bundle_is_the_pinned_build() -> None:
    assert hashlib.sha256(HOLISTIC_BUNDLE.read_bytes()).hexdigest() == BUNDLE_SHA256


def test_every_entry_is_pinned_in_order() -> None:
    with zipfile.ZipFile(HOLISTIC_BUNDLE) as bundle:
        hashes = {info.filename: hashlib.sha256(bundle.read(info)).hexdigest()
                  for info in bundle.infolist()}  # fmt: skip
    assert list(hashes) == list(ENTRY_SHA256)
    assert hashes == ENTRY_SHA256


def test_entries_are_stored_and_aligned_for_mapping_in_place() -> None:
    with zipfile.ZipFile(HOLISTIC_BUNDLE) as bundle:
        for info in bundle.infolist():
            # the local header's extra field is the central directory's one (the script writes both)
            data_offset = (info.header_offset + LOCAL_HEADER_BYTES
                           + len(info.filename.encode()) + len(info.extra))  # fmt: skip
            assert info.compress_type == zipfile.ZIP_STORED, info.filename
            assert data_offset % ALIGNMENT_BYTES == 0, info.filename
