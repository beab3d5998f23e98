"""Image files built by hand for the photo checks: headers that claim any size, with pixel data
that is valid, invalid or missing, so that a test can tell a header check from a decode."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import cv2
import numpy.typing as npt

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encoded(image: npt.NDArray[Any], suffix: str, *params: int) -> bytes:
    ok, data = cv2.imencode(suffix, image, list(params))
    assert ok
    return bytes(data)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def black_rows(width: int, height: int) -> bytes:
    """The compressed pixel data of an 8-bit gray PNG, all black, made row by row: a valid
    12000x12000 image costs ~0.2 s and ~140 kB this way, never 144 MB at once."""
    packer = zlib.compressobj(9)
    row = bytes(width + 1)  # a filter-type byte (0: none), then the row's pixels
    return b"".join(packer.compress(row) for _ in range(height)) + packer.flush()


def png_bytes(width: int, height: int, pixel_data: bytes | None = None) -> bytes:
    """An 8-bit gray PNG; pixel_data: the IDAT payload (default: valid, all black)."""
    if pixel_data is None:
        pixel_data = black_rows(width, height)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixel_data)
        + png_chunk(b"IEND", b"")
    )


def jpeg_header_only(width: int, height: int) -> bytes:
    """A JPEG start-of-frame (baseline, 3 components) with no tables and no scan: it states a
    size and cannot be decoded."""
    components = b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    frame = struct.pack(">BHHB", 8, height, width, 3) + components
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", 2 + len(frame)) + frame + b"\xff\xd9"


def webp_header_only(width: int, height: int) -> bytes:
    """An extended WebP (VP8X chunk) with that canvas size and no image chunk."""
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", 10) + bytes(4) + canvas
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def bmp_header_only(width: int, height: int) -> bytes:
    """A 24-bit BMP's file and info headers with no pixel rows after them."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info)) + info


def gif_bytes(width: int, height: int) -> bytes:
    """A GIF's signature and screen descriptor, then its trailer."""
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b";"


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The JPEG with an EXIF segment (APP1) saying how to turn it, as phone cameras write."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)  # Orientation, SHORT, 1 value
    tiff = b"MM\x00\x2a" + struct.pack(">IH", 8, 1) + entry + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", 2 + len(payload)) + payload + jpeg[2:]
