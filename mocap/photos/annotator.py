"""Photos in, annotated photos and landmarks out: MediaPipe Holistic in photo mode."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2

from mocap.config import ModelConfig, PhotoConfig
from mocap.encode.frame_json import encode_photo
from mocap.errors import MocapError
from mocap.frames import ImageArray, ImageSize, PoseFrame
from mocap.photos.checks import read_photo
from mocap.preview.draw import draw
from mocap.track import open_tracker

WRITABLE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")  # for the annotated copy
LOSSY_QUALITY = 90  # JPEG and WebP: landmarks drawn 1-2 px wide stay crisp


@dataclass(frozen=True)
class PhotoResult:
    """One annotated photo. pose.image_size is the decoded photo's size."""

    name: str
    pose: PoseFrame
    annotated: ImageArray  # the photo at full size with the landmarks drawn


class PhotoAnnotator:
    """MediaPipe Holistic in photo mode (each photo on its own, no tracking between them).

    Threads may share one: photos are processed one at a time.
    """

    def __init__(self, model: ModelConfig, limits: PhotoConfig) -> None:
        self.limits = limits
        self._tracker = open_tracker(model, photo_mode=True)
        self._lock = threading.Lock()

    def annotate(self, data: bytes, name: str) -> PhotoResult:
        """Check, decode and annotate a photo; PhotoRefused when it is not accepted."""
        return self.annotate_image(self.decode(data, name), name)

    def decode(self, data: bytes, name: str) -> ImageArray:
        """A photo's pixels, once its header passed the limits (PhotoRefused otherwise)."""
        return read_photo(data, self.limits, name)

    def annotate_image(self, image: ImageArray, name: str) -> PhotoResult:
        """The landmarks of a decoded photo, and the photo with them drawn."""
        with self._lock:
            pose = self._tracker.process(
                image, index=0, timestamp_s=0.0, source_size=ImageSize.of(image)
            )
        return PhotoResult(name, pose, draw(image, pose))

    def close(self) -> None:
        self._tracker.close()

    def __enter__(self) -> PhotoAnnotator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def photo_json(result: PhotoResult) -> str:
    """The landmarks as JSON: the frame message's fields (size, pose, pose_world, face,
    left_hand, right_hand, null for absent parts; arkit, null without a face), "type": "photo"
    and "file": the name."""
    return encode_photo(result.pose, result.name)


def encode_image(image: ImageArray, suffix: str) -> bytes:
    """An image in the format its file suffix names: .jpg, .jpeg, .png, .webp or .bmp."""
    quality = [cv2.IMWRITE_JPEG_QUALITY, LOSSY_QUALITY, cv2.IMWRITE_WEBP_QUALITY, LOSSY_QUALITY]
    try:
        ok, encoded = cv2.imencode(suffix, image, quality)
    except cv2.error:
        ok = False
    if not ok:
        raise MocapError(f"cannot write an image as {suffix} (use {', '.join(WRITABLE_SUFFIXES)})")
    return bytes(encoded)


def encode_jpeg(image: ImageArray) -> bytes:
    """The annotated copy as JPEG, as the viewer sends it back."""
    return encode_image(image, ".jpg")
