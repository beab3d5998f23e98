"""Raw landmarks as one OSC bundle per frame (OSC 1.0, big-endian, 4-byte aligned).

Written by hand rather than with python-osc's builder because the builder takes ~1 ms for the
~1,400 floats of a frame, rejects numpy scalars and reads 4-tuples as MIDI; here a part's float
block is one numpy byte-swap. tests/test_encode_osc.py checks the bytes against python-osc's
parser. The building blocks (osc_string, message, sized, bundle) also serve the VMC encoder.
"""

from __future__ import annotations

import struct
from functools import lru_cache

import numpy as np

from mocap.frames import FloatArray, PoseFrame, is_present

BUNDLE_HEADER = b"#bundle\x00"
TIMETAG_IMMEDIATELY = struct.pack(">Q", 1)


def osc_string(text: str) -> bytes:
    """An OSC string: UTF-8, at least one NUL, padded with NULs to a multiple of 4 bytes."""
    raw = text.encode("utf-8")
    return raw + b"\x00" * (4 - len(raw) % 4)


def message_head(address: str, tags: str) -> bytes:
    """Address and type tag string of a message whose arguments have these tags (e.g. "sf")."""
    return osc_string(address) + osc_string("," + tags)


@lru_cache(maxsize=64)
def float_message_head(address: str, float_count: int) -> bytes:
    """Address and type tags of a message carrying float_count float32 arguments."""
    return message_head(address, "f" * float_count)


def float_message(address: str, block: FloatArray) -> bytes:
    """A message whose arguments are the block's values, row by row, as big-endian float32."""
    return float_message_head(address, block.size) + block.astype(">f4").tobytes()


def frame_message(address: str, seq: int, timestamp_s: float) -> bytes:
    return osc_string(address) + osc_string(",if") + struct.pack(">if", seq, timestamp_s)


def message(address: str, *args: str | float | int) -> bytes:
    """A message with s, f and i arguments, each tagged by its Python type: pass float(x) where
    an f is meant, since an int is sent as i. bool is refused (OSC's T/F carry no data)."""
    encoded = [_argument(value) for value in args]
    tags = "".join(tag for tag, _ in encoded)
    return message_head(address, tags) + b"".join(data for _, data in encoded)


def _argument(value: str | float | int) -> tuple[str, bytes]:
    if isinstance(value, str):
        return "s", osc_string(value)
    if isinstance(value, bool):
        raise TypeError("bool has no s/f/i OSC tag: pass int(value) or float(value)")
    if isinstance(value, int):
        return "i", struct.pack(">i", value)
    if isinstance(value, float):
        return "f", struct.pack(">f", value)
    raise TypeError(f"{type(value).__name__} has no s/f/i OSC tag")


def sized(element: bytes) -> bytes:
    """A bundle element: its int32 size, then its bytes."""
    return struct.pack(">i", len(element)) + element


def bundle(elements: list[bytes], timetag: bytes = TIMETAG_IMMEDIATELY) -> bytes:
    """An OSC bundle of already-encoded messages (each prefixed by its int32 size)."""
    return BUNDLE_HEADER + timetag + b"".join(map(sized, elements))


# The OSC address of each part under the prefix; the order is the order in the bundle.
PART_ADDRESSES: dict[str, str] = {
    "pose": "/pose",
    "pose_world": "/pose_world",
    "face": "/face",
    "left_hand": "/hand/left",
    "right_hand": "/hand/right",
}
# The face's 51 ARKit weights (skeleton.ARKIT_NAMES order), after the parts.
ARKIT_ADDRESS = "/face/arkit"


def encode_landmarks_bundle(
    frame: PoseFrame, seq: int, t_s: float, prefix: str = "/mocap"
) -> bytes:
    """`{prefix}/frame ,if seq t`, then one float message per present part, then
    `{prefix}/face/arkit` with the 51 ARKit weights; absent parts and weights omitted.

    t_s is seconds since the run started on the source's clock (never wall-clock time).
    """
    elements = [frame_message(prefix + "/frame", seq, t_s)]
    parts = frame.parts()
    for name, suffix in PART_ADDRESSES.items():
        block = parts[name]
        if is_present(block):
            elements.append(float_message(prefix + suffix, np.ascontiguousarray(block)))
    if not np.isnan(frame.arkit).any():
        elements.append(float_message(prefix + ARKIT_ADDRESS, frame.arkit))
    return bundle(elements)
