"""The data that travels between stages: video frames in, pose frames out. Data only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from mocap import skeleton

FloatArray = npt.NDArray[np.float32]
ImageArray = npt.NDArray[np.uint8]


class ImageSize(NamedTuple):
    """An image's size in pixels, width first (never numpy's (rows, cols) order)."""

    width: int
    height: int

    @classmethod
    def of(cls, image: npt.NDArray[np.generic]) -> ImageSize:
        return cls(width=int(image.shape[1]), height=int(image.shape[0]))


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One decoded frame as a source delivered it.

    timestamp_s: the source's clock in seconds since the source opened (monotonic clock for live
    sources, the container's time for files). captured_monotonic_s: time.monotonic() when the frame
    was read, the start of the capture-to-send latency.
    """

    index: int
    timestamp_s: float
    image: npt.NDArray[np.uint8]
    captured_monotonic_s: float


def absent(count: int, channels: int) -> FloatArray:
    """An all-NaN, read-only landmark block: how an undetected part is represented."""
    block = np.full((count, channels), np.nan, dtype=np.float32)
    block.flags.writeable = False
    return block


def absent_weights(count: int) -> FloatArray:
    """An all-NaN, read-only vector: the weights of a part that was not found."""
    weights = np.full(count, np.nan, dtype=np.float32)
    weights.flags.writeable = False
    return weights


def frozen(block: npt.ArrayLike, count: int, channels: int) -> FloatArray:
    """A read-only float32 copy of `block`, checked to be (count, channels)."""
    # C order: the encoders (orjson, the OSC packer) read blocks as rows.
    array = np.array(block, dtype=np.float32, order="C", copy=True)
    if array.shape != (count, channels):
        raise ValueError(f"expected a ({count}, {channels}) landmark block, got {array.shape}")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True)
class PoseFrame:
    """Everything found in one processed frame. The only type that leaves holistic.py.

    Image landmarks: x right and y down in [0, 1] of the source image's width and height, z a
    relative depth (smaller is nearer). pose and pose_world carry a 4th column, visibility in
    [0, 1]. pose_world is metres with the origin between the hips, y down. left_hand is the
    subject's own left hand. An absent part is all-NaN of its usual shape, never None.
    arkit: the 51 ARKit blendshape weights in 0..1 (skeleton.ARKIT_NAMES order) of MediaPipe's
    face blendshape model, all-NaN without a face (or with the model off).
    """

    index: int
    timestamp_s: float
    image_size: ImageSize
    pose: FloatArray
    pose_world: FloatArray
    face: FloatArray
    left_hand: FloatArray
    right_hand: FloatArray
    arkit: FloatArray = field(default_factory=lambda: absent_weights(skeleton.ARKIT_COUNT))

    @classmethod
    def empty(
        cls, index: int, timestamp_s: float, image_size: ImageSize, face_points: int
    ) -> PoseFrame:
        """A frame in which nothing was found."""
        blocks = {name: absent(*shape) for name, shape in skeleton.part_shapes(face_points).items()}
        return cls(index=index, timestamp_s=timestamp_s, image_size=image_size, **blocks)

    def with_parts(self, parts: Mapping[str, FloatArray]) -> PoseFrame:
        """This frame with every landmark block replaced by parts[name] (skeleton.PART_NAMES),
        its ARKit weights kept."""
        return PoseFrame(
            index=self.index,
            timestamp_s=self.timestamp_s,
            image_size=self.image_size,
            arkit=self.arkit,
            **parts,
        )

    def parts(self) -> dict[str, FloatArray]:
        """The landmark blocks by their wire name (skeleton.PART_NAMES), in wire order."""
        blocks: dict[str, FloatArray] = {name: getattr(self, name) for name in skeleton.PART_NAMES}
        return blocks


def is_present(block: FloatArray) -> bool:
    """Whether a landmark block was detected (absent blocks are all-NaN)."""
    return bool(block.size) and not bool(np.isnan(block[0, 0]))
