"""The run's WebSocket server set-up: config -> rules and limits, the viewer URL, photo uploads."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from mocap.addresses import HostPort
from mocap.config import Config, ModelConfig, PhotoConfig, merge
from mocap.outputs import websocket_server
from mocap.photos.uploads import PhotoUploads
from mocap.publish.static import viewer_url
from tests.runs import DATA

PHOTO = DATA / "images" / "fullbody_sitting_woman.jpg"  # 960x640, every part found


@pytest.fixture(scope="module")
def uploads() -> Iterator[PhotoUploads]:
    handler = PhotoUploads(ModelConfig(), PhotoConfig())
    yield handler
    handler.close()


def test_a_photo_comes_back_with_its_landmarks_and_drawn_on(uploads: PhotoUploads) -> None:
    reply = json.loads(uploads(PHOTO.read_bytes()))
    assert reply["type"] == "photo"
    assert reply["size"] == [960, 640]
    assert len(reply["pose"]) == 33 and len(reply["face"]) == 478
    prefix, _, encoded = reply["image"].partition(",")
    assert prefix == "data:image/jpeg;base64"
    annotated = cv2.imdecode(np.frombuffer(base64.b64decode(encoded), np.uint8), cv2.IMREAD_COLOR)
    assert annotated.shape == (640, 960, 3)
    original = cv2.imread(str(PHOTO))
    assert np.abs(annotated.astype(int) - original).max() > 100  # landmarks were drawn


def test_refusals_say_why_and_a_non_photo_never_loads_the_model() -> None:
    handler = PhotoUploads(ModelConfig(), PhotoConfig(max_pixels=1000))
    try:
        not_an_image = json.loads(handler(b"GIF89a" + bytes(20)))
        assert not_an_image == {
            "type": "photo_refused",
            "reason": "a GIF image, not a JPEG, PNG, WebP or BMP file",
        }
        assert handler._annotator is None
        too_large = json.loads(handler(PHOTO.read_bytes()))
        assert too_large["type"] == "photo_refused"
        assert "photos.max_pixels" in too_large["reason"]
    finally:
        handler.close()
    assert json.loads(handler(PHOTO.read_bytes()))["reason"] == "the server is stopping"


@pytest.mark.parametrize(
    ("address", "token", "url"),
    [
        (HostPort("127.0.0.1", 8765), "", "http://127.0.0.1:8765/"),
        (HostPort("0.0.0.0", 8765), "secret", "http://127.0.0.1:8765/?token=YOUR_TOKEN"),
        (HostPort("::1", 9000), "", "http://[::1]:9000/"),
    ],
)
def test_the_viewer_url_never_shows_the_token(address: HostPort, token: str, url: str) -> None:
    assert viewer_url(address, token) == url


def test_the_server_takes_its_rules_and_limits_from_the_config() -> None:
    config = merge(
        Config(),
        {
            "server": {
                "token": "tok",
                "max_clients": 1,
                "allowed_origins": ["http://localhost:3000"],
            }
        },
    )
    server = websocket_server(config, HostPort("127.0.0.1", 0), '{"type":"hello"}')
    server.start()
    try:
        address = f"ws://127.0.0.1:{server.address.port}/"
        with pytest.raises(InvalidStatus, match="401"), connect(address):
            pass
        viewer_like = {"Origin": "http://localhost:3000"}  # allowlisted in the config
        with (
            connect(f"{address}?token=tok", additional_headers=viewer_like),
            pytest.raises(InvalidStatus, match="503"),
            connect(f"{address}?token=tok"),
        ):
            pass
    finally:
        server.close()
