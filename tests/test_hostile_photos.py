"""Hostile photos: JPEGs slow to decode, lying or endless headers, uploads of real sizes.

Each ends in a clear outcome (a refusal that says why, or an answer) without holding the
server or its shutdown.
"""

from __future__ import annotations

import contextlib
import json
import signal
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from mocap.addresses import HostPort
from mocap.config import ModelConfig, PhotoConfig
from mocap.frames import ImageArray
from mocap.photos.annotator import PhotoAnnotator, PhotoResult
from mocap.photos.checks import PhotoRefused, read_header, read_photo
from mocap.photos.uploads import PhotoUploads
from mocap.publish.websocket import WebSocketServer
from tests.runs import DATA, MocapProcess, memory_bytes

PHOTO = DATA / "images" / "fullbody_sitting_woman.jpg"
SCAN_LIMIT = 100  # mocap.photos.checks._JPEG_MAX_SCANS
EXIT_WITHIN_S = 5.0


def progressive_jpeg(side_px: int, scans: int) -> bytes:
    """A progressive JPEG of one colour, side_px square, with its last scan repeated until it has
    `scans`: each is a few bytes, and libjpeg decodes every one (a pass over every pixel each,
    with a warning)."""
    image = np.full((side_px, side_px, 3), (90, 120, 150), dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert ok
    data = bytes(encoded)
    own_scans = data.count(b"\xff\xda")
    last_scan = data[data.rfind(b"\xff\xda") : -2]  # up to the end-of-image marker
    return data[:-2] + last_scan * (scans - own_scans) + b"\xff\xd9"


def refusal(reply: str) -> str:
    message = json.loads(reply)
    assert message["type"] == "photo_refused", message
    return str(message["reason"])


def test_a_jpeg_of_absurdly_many_scans_is_refused_before_decoding() -> None:
    hostile = progressive_jpeg(3000, 10 * SCAN_LIMIT)  # 9 MP: within the pixel limit
    with pytest.raises(PhotoRefused, match=r"of 1,000 scans \(photos have about 10"):
        read_header(hostile, "scans.jpg")
    real = progressive_jpeg(640, SCAN_LIMIT)
    assert read_photo(real, PhotoConfig(), "real.jpg").shape == (640, 640, 3)


@pytest.fixture
def photo_server() -> Iterator[WebSocketServer]:
    uploads = PhotoUploads(ModelConfig(), PhotoConfig())
    server = WebSocketServer(HostPort("127.0.0.1", 0), "{}", on_upload=uploads)
    server.start()
    try:
        yield server
    finally:
        server.close()
        uploads.close()


def test_the_viewer_s_upload_of_a_many_scan_jpeg_is_refused_at_once(
    photo_server: WebSocketServer,
) -> None:
    with connect(f"ws://127.0.0.1:{photo_server.address.port}/") as client:
        client.recv(timeout=5)  # hello
        client.send(progressive_jpeg(3000, 10 * SCAN_LIMIT))
        assert "1,000 scans" in refusal(str(client.recv(timeout=5)))


class HeldAnnotator(PhotoAnnotator):
    """A real annotator whose photo starts only when the test lets it: a photo as slow as the
    test wants."""

    def __init__(self, model: ModelConfig, limits: PhotoConfig) -> None:
        super().__init__(model, limits)
        self.started = threading.Event()
        self.may_go = threading.Event()
        self.closed = threading.Event()
        self.model_ran = threading.Event()

    def decode(self, data: bytes, name: str) -> ImageArray:
        self.started.set()
        self.may_go.wait(60)
        return super().decode(data, name)

    def annotate_image(self, image: ImageArray, name: str) -> PhotoResult:
        self.model_ran.set()
        return super().annotate_image(image, name)

    def close(self) -> None:
        self.closed.set()
        super().close()


def test_closing_the_upload_handler_does_not_wait_for_a_photo_in_progress() -> None:
    annotators: list[HeldAnnotator] = []

    def make_annotator(model: ModelConfig, limits: PhotoConfig) -> HeldAnnotator:
        annotators.append(HeldAnnotator(model, limits))
        return annotators[-1]

    uploads = PhotoUploads(ModelConfig(), PhotoConfig(), make_annotator)
    replies: list[str] = []
    photo = threading.Thread(target=lambda: replies.append(uploads(PHOTO.read_bytes())))
    photo.start()
    try:
        while not annotators:  # the model loads first
            assert photo.is_alive(), replies
            time.sleep(0.01)
        assert annotators[0].started.wait(60)
        closer = threading.Thread(target=uploads.close)
        closer.start()
        closer.join(30)  # far more than close() needs; for ever, were it to wait for the photo
        assert not closer.is_alive(), "close() waited for the photo in progress"
        assert not annotators[0].closed.is_set()  # the photo still uses the model
        assert "the server is stopping" in refusal(uploads(PHOTO.read_bytes()))
    finally:
        for annotator in annotators:
            annotator.may_go.set()
        photo.join(60)
    assert annotators[0].closed.is_set()  # freed by the photo, the last to finish
    assert not annotators[0].model_ran.is_set()  # decoded for a server that had stopped
    assert "the server is stopping" in refusal(replies[0])  # its answer is dropped


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, 2 + len(payload)) + payload


HOSTILE_HEADERS = {
    "cut short": b"\xff\xd8\xff\xe0\x00\x10JFIF",
    "a lying segment length": b"\xff\xd8" + b"\xff\xe1\xff\xff" + bytes(100),
    "endless empty segments": b"\xff\xd8" + jpeg_segment(0xFE, b"") * 200_000,
    "endless fill bytes": b"\xff\xd8" + b"\xff" * 1_000_000,
    "a frame header claiming 65535x65535 px": b"\xff\xd8"
    + jpeg_segment(0xC0, struct.pack(">BHHB", 8, 65535, 65535, 1) + b"\x01\x11\x00"),
    "a zero-size frame": b"\xff\xd8" + jpeg_segment(0xC0, struct.pack(">BHHB", 8, 0, 0, 0)),
    "a PNG claiming 4 billion px wide": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xff\xff\xff"
    + b"\x00\x00\x00\x01",
}


@pytest.mark.parametrize("data", HOSTILE_HEADERS.values(), ids=HOSTILE_HEADERS.keys())
def test_hostile_headers_are_refused_with_a_reason_and_never_decoded(data: bytes) -> None:
    started_s = time.monotonic()
    with pytest.raises(PhotoRefused):
        read_photo(data, PhotoConfig(), "hostile")
    assert time.monotonic() - started_s < 10.0  # a generous bound: only an endless walk misses


@settings(max_examples=40)
@given(
    size_bytes=st.integers(1_000_000, 4_000_000),
    offset=st.integers(2, 500),
    junk=st.binary(min_size=1, max_size=64),
)
def test_uploads_of_realistic_sizes_with_hostile_bytes_give_a_refusal_or_a_photo(
    size_bytes: int, offset: int, junk: bytes
) -> None:
    """A real JPEG's header overwritten with junk at some offset, padded to a few MB."""
    data = bytearray(PHOTO.read_bytes())
    data[offset : offset + len(junk)] = junk
    data += bytes(max(0, size_bytes - len(data)))
    try:
        image = read_photo(bytes(data), PhotoConfig(), "fuzzed")
    except PhotoRefused as exc:
        assert exc.reason and "\n" not in exc.reason
    else:
        assert image.ndim == 3 and image.dtype == np.uint8


def upload_answered(client: ClientConnection) -> bool:
    """Whether the next message (waited for briefly) answers the upload; frames are skipped."""
    with contextlib.suppress(TimeoutError):
        return json.loads(client.recv(timeout=0.01))["type"] in ("photo", "photo_refused")
    return False


# (side, scans, photos.max_pixels): the slowest photo the default limits accept, one refused at
# its header, and one that a raised pixel limit accepts and that takes over 10 s to annotate
# here (a 64 MP decode of 100 scans, at the upload thread's low priority).
SLOW_PHOTOS = {
    "accepted": (3000, SCAN_LIMIT, PhotoConfig().max_pixels),
    "refused": (3000, 10 * SCAN_LIMIT, PhotoConfig().max_pixels),
    "10-s-photo": (8000, SCAN_LIMIT, 8000 * 8000),
}


@pytest.mark.parametrize(("side_px", "scans", "max_pixels"), SLOW_PHOTOS.values(), ids=SLOW_PHOTOS)
def test_sigint_during_a_slow_photo_upload_exits_130_within_5_s(
    tmp_path: Path, side_px: int, scans: int, max_pixels: int
) -> None:
    slow = progressive_jpeg(side_px, scans)
    config = tmp_path / "photos.toml"
    config.write_text(f"[photos]\nmax_pixels = {max_pixels}\n")
    with MocapProcess(
        "run", "--demo", "--no-preview", "--ws", "127.0.0.1:0", "--config", config
    ) as mocap:
        port = int(mocap.wait_for_line(r"viewer: http://127\.0\.0\.1:(\d+)", 120)[1])
        with connect(f"ws://127.0.0.1:{port}/", open_timeout=30) as client:
            client.recv(timeout=30)  # hello
            client.recv(timeout=30)  # a frame: the live model is warm
            before_bytes = memory_bytes(mocap.process.pid, "VmRSS")
            client.send(slow)
            # The photo is being worked on once the process grows by its decoded pixels (or by
            # the photo model it loads first); a refused one is answered at once.
            deadline_s = time.monotonic() + 60
            while memory_bytes(mocap.process.pid, "VmRSS") < before_bytes + 20_000_000:
                if upload_answered(client):
                    break
                assert time.monotonic() < deadline_s, "the upload was never worked on"
            mocap.process.send_signal(signal.SIGINT)
            signalled_s = time.monotonic()
            code = mocap.wait(60)
            exited_after_s = time.monotonic() - signalled_s
    assert code == 130, mocap.stderr()
    assert exited_after_s < EXIT_WITHIN_S, f"exited {exited_after_s:.1f} s after SIGINT"
    assert "Traceback" not in mocap.stderr()
