"""Photo checks for `mocap image` and the viewer's upload panel.

The checks a careful service makes before it decodes anything: the type is judged by content
(JPEG, PNG, WebP, BMP), never by the file name, and the pixel size is read from the header, so an
image over the limit is never decoded. Each header is parsed here, in a few lines per format, so
that nothing but a PhotoRefused can come out of any bytes.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from mocap.config import PhotoConfig
from mocap.errors import FrameRefused, MocapError
from mocap.frames import ImageArray, ImageSize
from mocap.track.guards import check_size

ACCEPTED = "a JPEG, PNG, WebP or BMP file"

# How many bytes tell the type (and, for BMP, its info header size): read_photo_file() reads
# this much before it reads a whole file, so a big video in a folder of photos is not loaded.
_MAGIC_BYTES = 32
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BMP_INFO_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
# Start-of-frame markers hold a JPEG's size; 0xC4 (DHT), 0xC8 (JPG), 0xCC (DAC) in that range
# are other segments. TEM and RSTn stand alone, without a length.
_JPEG_START_OF_FRAME = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_END_MARKERS = frozenset({0xD9, 0xDA})  # end of image, start of scan: past the header
# A real JPEG has a few dozen segments before its frame header; the cap bounds the walk over a
# hostile file made of millions of tiny segments or fill bytes.
_JPEG_MAX_SEGMENTS = 10_000
_JPEG_START_OF_SCAN = b"\xff\xda"
# A progressive photo has about 10 scans. Decoding makes a pass over every pixel per scan, so a
# small hostile file of thousands of scans takes minutes to decode (1,000 scans of a 9 MP image:
# 10 s here); this many take a second at most.
_JPEG_MAX_SCANS = 100
# HEIF brands (the box type after "ftyp"): phones save photos as HEIC, which OpenCV cannot read.
_HEIF_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"avif": "AVIF"}


class PhotoRefused(MocapError):  # noqa: N818 - an outcome for one photo, named like FrameRefused
    """A photo that is not accepted: not an image of an accepted type, too small or too large,
    or corrupt (and in `mocap image`, one whose outputs cannot be written). The message is one
    line naming the file and the reason."""

    exit_code = 2

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class PhotoHeader(NamedTuple):
    kind: str  # "JPEG", "PNG", "WebP" or "BMP"
    size: ImageSize  # as stored; EXIF orientation may turn the decoded image by 90 degrees


# --- type and size, from the first bytes -------------------------------------------------------


def _accepted_kind(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(_PNG_SIGNATURE):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    # "BM" alone starts too many text files: the info header's size must be a known one too.
    if data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in _BMP_INFO_HEADER_SIZES:
        return "BMP"
    return None


def _other_image_kind(data: bytes) -> str | None:
    """The name of a common image type that is not accepted, for a message that says so."""
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[4:8] == b"ftyp":
        return _HEIF_BRANDS.get(data[8:12])
    return None


def _kind(data: bytes, name: str) -> str:
    """The accepted type of data, judged by its first bytes; anything else is refused."""
    kind = _accepted_kind(data)
    if kind is not None:
        return kind
    if not data:
        raise PhotoRefused(name, f"an empty file, not an image ({ACCEPTED})")
    other = _other_image_kind(data)
    if other is not None:
        raise PhotoRefused(name, f"a {other} image, not {ACCEPTED}")
    raise PhotoRefused(name, f"not an image ({ACCEPTED})")


def _jpeg_size(data: bytes) -> ImageSize:
    """Walk the marker segments to the start-of-frame segment, which holds the size."""
    offset = 2  # after the start-of-image marker
    for _ in range(_JPEG_MAX_SEGMENTS):
        prefix, marker = struct.unpack_from(">BB", data, offset)
        if prefix != 0xFF:
            raise ValueError(f"no marker at byte {offset}")
        if marker == 0xFF:  # a fill byte before a marker
            offset += 1
        elif marker in _JPEG_STANDALONE:
            offset += 2
        elif marker in _JPEG_END_MARKERS:
            raise ValueError("no frame header before the image data")
        elif marker in _JPEG_START_OF_FRAME:
            height, width = struct.unpack_from(">HH", data, offset + 5)
            return ImageSize(width, height)
        else:
            (length,) = struct.unpack_from(">H", data, offset + 2)
            offset += 2 + length
    raise ValueError(f"no frame header in its first {_JPEG_MAX_SEGMENTS:,} segments")


def _check_jpeg_scans(data: bytes, name: str) -> None:
    """Refuse a JPEG with more scans than any photo has, before it is decoded."""
    # In the entropy-coded data a 0xFF byte is always followed by 0x00 or by a marker, so each
    # FF DA pair starts a scan (or sits in a metadata segment: an EXIF thumbnail's one scan).
    scans = data.count(_JPEG_START_OF_SCAN)
    if scans > _JPEG_MAX_SCANS:
        raise PhotoRefused(
            name,
            f"a JPEG file of {scans:,} scans (photos have about 10; more than "
            f"{_JPEG_MAX_SCANS} would take minutes to decode)",
        )


def _png_size(data: bytes) -> ImageSize:
    chunk, width, height = struct.unpack_from(">4sII", data, 12)
    if chunk != b"IHDR":
        raise ValueError("the first chunk is not IHDR")
    return ImageSize(width, height)


def _webp_size(data: bytes) -> ImageSize:
    """The size in the first chunk: a lossy (VP8), lossless (VP8L) or extended (VP8X) one."""
    (chunk,) = struct.unpack_from("4s", data, 12)
    if chunk == b"VP8 ":
        start_code, width, height = struct.unpack_from("<3sHH", data, 23)
        if start_code != b"\x9d\x01\x2a":
            raise ValueError("no VP8 start code")
        return ImageSize(width & 0x3FFF, height & 0x3FFF)  # the top 2 bits are scaling hints
    if chunk == b"VP8L":
        signature, bits = struct.unpack_from("<BI", data, 20)
        if signature != 0x2F:
            raise ValueError("no VP8L signature")
        return ImageSize((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        width, height = struct.unpack_from("<3s3s", data, 24)  # the canvas size, minus one
        return ImageSize(int.from_bytes(width, "little") + 1, int.from_bytes(height, "little") + 1)
    raise ValueError(f"unknown first chunk {chunk!r}")


def _bmp_size(data: bytes) -> ImageSize:
    (info_size,) = struct.unpack_from("<I", data, 14)
    if info_size == 12:  # the OS/2 header: 16-bit sizes
        width, height = struct.unpack_from("<HH", data, 18)
    else:
        width, height = struct.unpack_from("<ii", data, 18)
    return ImageSize(width, abs(height))  # a negative height: rows stored top-down


_SIZE_READERS = {"JPEG": _jpeg_size, "PNG": _png_size, "WebP": _webp_size, "BMP": _bmp_size}


def read_header(data: bytes, name: str) -> PhotoHeader:
    """The type and pixel size of a photo, from its header (and a JPEG's scan count); no pixel
    is decoded."""
    kind = _kind(data, name)
    try:
        size = _SIZE_READERS[kind](data)
    except struct.error:
        raise PhotoRefused(name, f"a {kind} file cut short in its header") from None
    except ValueError as exc:
        raise PhotoRefused(name, f"a {kind} file with a corrupt header ({exc})") from None
    if size.width <= 0 or size.height <= 0:
        raise PhotoRefused(name, f"a {kind} file whose header says {size.width}x{size.height} px")
    if kind == "JPEG":
        _check_jpeg_scans(data, name)
    return PhotoHeader(kind, size)


# --- decoding ----------------------------------------------------------------------------------


def _decoded(data: bytes) -> ImageArray | None:
    """The pixels as BGR, 8 or 16 bits; None when the data does not decode.

    IMREAD_COLOR turns gray into BGR, drops alpha (like the video guards do) and applies a JPEG's
    EXIF orientation, so the photo stands as image viewers show it; IMREAD_ANYDEPTH keeps a
    16-bit PNG's depth for the conversion below instead of leaving it to OpenCV.
    """
    try:
        image = cv2.imdecode(
            np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH
        )
    except cv2.error:
        return None
    if image is None:
        return None
    if image.dtype == np.uint16:  # keep the high byte: 0..65535 onto 0..255
        return np.asarray(image.astype(np.uint16) >> 8, dtype=np.uint8)
    return np.ascontiguousarray(image, dtype=np.uint8)


def read_photo(data: bytes, limits: PhotoConfig, name: str) -> ImageArray:
    """Check and decode a photo: uint8 HxWx3 BGR, or PhotoRefused (and no other exception).

    name: the file name, for the message only; the type comes from the content.
    """
    header = read_header(data, name)
    try:
        check_size(header.size, limits, "photos")
    except FrameRefused as exc:
        raise PhotoRefused(name, exc.detail) from None
    image = _decoded(data)
    if image is None:
        raise PhotoRefused(
            name, f"a {header.kind} file that does not decode (corrupt or cut short)"
        )
    return image


def read_photo_file(path: Path, name: str) -> bytes:
    """The bytes of a photo file, or PhotoRefused; a file that is no accepted image by its first
    bytes is refused without reading the rest."""
    try:
        with path.open("rb") as file:
            head = file.read(_MAGIC_BYTES)
            _kind(head, name)
            return head + file.read()
    except OSError as exc:
        raise PhotoRefused(name, f"cannot be read ({exc.strerror or exc})") from None
