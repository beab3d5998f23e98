"""Security properties pinned: the viewer's headers over real HTTP, the token comparison."""

from __future__ import annotations

import hmac
import http.client
import sys
from collections.abc import Iterator
from types import FrameType

import pytest

from mocap.addresses import HostPort
from mocap.publish.access import AccessRules, token_matches
from mocap.publish.static import VIEWER_PATHS, load_viewer
from mocap.publish.websocket import WebSocketServer

TOKEN = "correct-horse-battery-staple"


@pytest.fixture
def viewer_server() -> Iterator[WebSocketServer]:
    server = WebSocketServer(
        HostPort("127.0.0.1", 0), "{}", access=AccessRules(token=TOKEN), pages=load_viewer()
    )
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("path", sorted(VIEWER_PATHS))
def test_every_viewer_file_is_served_unsniffable_uncached_and_unframeable(
    viewer_server: WebSocketServer, path: str
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", viewer_server.address.port, timeout=5)
    try:
        connection.request("GET", f"{path}?token={TOKEN}")
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status == 200
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("Cache-Control") == "no-store"
    policy = [part.strip() for part in response.getheader("Content-Security-Policy", "").split(";")]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy


@pytest.mark.parametrize(
    ("presented", "matches"),
    [
        (TOKEN, True),
        (None, False),
        ("", False),
        (TOKEN[:-1], False),  # a prefix
        (TOKEN + "x", False),  # an extension
        (TOKEN.upper(), False),
        ("correct-horse-battery-staplé", False),  # non-ASCII, same length in characters
        ("\udcff", False),  # a lone surrogate (from a percent-decoded query) never raises
    ],
)
def test_the_token_matches_only_itself(presented: str | None, matches: bool) -> None:
    assert token_matches(TOKEN, presented) is matches
    assert token_matches("ünïcode-tökén", "ünïcode-tökén")


def test_the_token_comparison_is_hmac_compare_digest() -> None:
    """The constant-time comparison is the standard library's, seen being called (a profiler
    hook sees every call into C), not asserted by timing."""
    called: list[object] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "c_call":
            called.append(arg)

    sys.setprofile(profile)
    try:
        token_matches(TOKEN, TOKEN[:-1] + "x")
    finally:
        sys.setprofile(None)
    assert hmac.compare_digest in called
