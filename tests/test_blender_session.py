"""The Blender add-on's connection thread (clients/blender/mocap_blender/session.py) against
mocap's WebSocketServer on 127.0.0.1: frames, the newest-frame holder, a stopped server,
reconnecting, a refused token, and the panel's status lines."""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Iterator
from functools import partial

from mocap_blender.protocol import Frame
from mocap_blender.session import (
    CONNECTED,
    DISCONNECTED,
    REFUSED,
    RETRYING,
    NewestFrame,
    Session,
    Status,
    status_lines,
)

from mocap.encode.frame_json import encode_hello
from mocap.frames import ImageSize
from tests.support import mocap_server, wait_until

from .runs import DATA

HELLO = encode_hello(ImageSize(1280, 720), 25.0, 478)
with gzip.open(DATA / "recording_thumbs_up.jsonl.gz", "rt") as _recording:
    FRAMES = _recording.read().splitlines()[1:6]  # after the header: frame messages
TIMEOUT_S = 5.0


@contextlib.contextmanager
def session(port: int, token: str = "") -> Iterator[Session]:
    client = Session("127.0.0.1", port, token)
    client.start()
    try:
        yield client
    finally:
        client.stop(wait_s=TIMEOUT_S)


def has_received(client: Session, frames: int) -> bool:
    return client.status().frames == frames


def test_receives_the_hello_and_keeps_the_newest_frame() -> None:
    with mocap_server(HELLO) as server, session(server.address.port) as client:
        wait_until(lambda: client.status().state == CONNECTED and server.clients == 1)
        wait_until(lambda: client.hello is not None)
        assert client.hello is not None and client.hello.parts["face"] == 478
        for received, text in enumerate(FRAMES, start=1):
            server.publish(text)
            # each one arrives before the next is sent: the server's one-slot mailbox replaces a
            # frame its client has not taken yet, and that is the server's policy, not the
            # session's
            wait_until(partial(has_received, client, received))
        newest = client.take()
        assert newest is not None and newest.seq == len(FRAMES) - 1  # the others were replaced
        assert client.take() is None
        assert client.status().fps > 0


def test_a_stopped_server_is_reported_and_a_new_one_is_reconnected_to() -> None:
    with mocap_server(HELLO) as server:
        port = server.address.port
        client = Session("127.0.0.1", port)
        client.start()
        wait_until(lambda: server.clients == 1)
    try:
        wait_until(lambda: client.status().ended == "server stopped")
        wait_until(lambda: "connection refused" in client.status().error)
        assert client.status().state in (RETRYING, "connecting")
        assert client.running
        with mocap_server(HELLO, port=port) as again:
            wait_until(lambda: client.status().state == CONNECTED, timeout_s=15)
            wait_until(lambda: again.clients == 1)
            assert client.status().error == ""
    finally:
        client.stop(wait_s=TIMEOUT_S)
    assert not client.running
    assert client.status().state == DISCONNECTED


def test_a_wrong_token_is_refused_for_good() -> None:
    with (
        mocap_server(HELLO, token="s3cret") as server,
        session(server.address.port, "nope") as client,
    ):
        wait_until(lambda: not client.running)
        status = client.status()
        assert status.state == REFUSED
        assert status.error == "refused: 401 missing or wrong token"
        assert status_lines(status)[0] == f"Refused by 127.0.0.1:{server.address.port}"


def test_the_right_token_connects() -> None:
    with (
        mocap_server(HELLO, token="s3cret") as server,
        session(server.address.port, "s3cret") as client,
    ):
        wait_until(lambda: client.status().state == CONNECTED)


def test_stop_closes_the_connection() -> None:
    with mocap_server(HELLO) as server, session(server.address.port) as client:
        wait_until(lambda: server.clients == 1)
        client.stop(wait_s=TIMEOUT_S)
        wait_until(lambda: server.clients == 0)
        assert client.status().state == DISCONNECTED


def test_the_holder_keeps_one_frame() -> None:
    holder = NewestFrame()
    assert holder.take() is None
    for seq in range(3):
        holder.put(Frame(seq, seq / 25, (640, 480), {}))
    taken = holder.take()
    assert taken is not None and taken.seq == 2
    assert holder.take() is None


def test_status_lines() -> None:
    status = Status(RETRYING, "127.0.0.1:8765", 120, 29.96, "no server", "server stopped", 1.6)
    assert status_lines(status) == [
        "Reconnecting to 127.0.0.1:8765 in 2 s",
        "Frames: 120 received, 30.0 fps",
        "Disconnected: server stopped",
        "Last error: no server",
    ]
    connected = Status(CONNECTED, "127.0.0.1:8765", 5, 25.0, "", "", None)
    assert status_lines(connected) == [
        "Connected to 127.0.0.1:8765",
        "Frames: 5 received, 25.0 fps",
    ]
