"""UdpSender against real sockets on loopback."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from mocap.addresses import HostPort
from mocap.errors import ConfigError
from mocap.publish.udp import Destination, UdpSender, resolve
from tests.support import ipv6_loopback_works

MAX_IPV4_PAYLOAD = 65507


def _receiver(family: socket.AddressFamily, host: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(2.0)
    return sock


def _endpoint(sock: socket.socket) -> Destination:
    host, port = sock.getsockname()[:2]
    return resolve(HostPort(host, port))


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def receivers() -> Iterator[list[socket.socket]]:
    socks = [_receiver(socket.AF_INET, "127.0.0.1") for _ in range(2)]
    yield socks
    for sock in socks:
        sock.close()


def test_every_target_receives_the_datagram_byte_for_byte(receivers: list[socket.socket]) -> None:
    datagram = bytes(range(256)) * 8
    sender = UdpSender([_endpoint(sock) for sock in receivers])
    try:
        sender.send(datagram)
    finally:
        sender.close()
    for sock in receivers:
        assert sock.recv(65535) == datagram
    assert (sender.sent, sender.failed) == (2, 0)


@pytest.mark.skipif(not ipv6_loopback_works(), reason="no IPv6 loopback here")
def test_ipv4_and_ipv6_targets_in_one_sender() -> None:
    with (
        _receiver(socket.AF_INET, "127.0.0.1") as v4,
        _receiver(socket.AF_INET6, "::1") as v6,
    ):
        sender = UdpSender([_endpoint(v4), _endpoint(v6)])
        try:
            sender.send(b"/mocap/frame")
        finally:
            sender.close()
        assert v4.recv(100) == b"/mocap/frame"
        assert v6.recv(100) == b"/mocap/frame"


def test_localhost_resolves_to_ipv4(receivers: list[socket.socket]) -> None:
    # OSC and VMC receivers listen on IPv4; "localhost" must reach them even where ::1 comes first.
    sender = UdpSender([resolve(HostPort("localhost", _endpoint(receivers[0]).target.port))])
    try:
        sender.send(b"hi")
    finally:
        sender.close()
    assert receivers[0].recv(100) == b"hi"


def test_a_target_with_no_listener_is_not_an_error() -> None:
    # Linux does not report ICMP "port unreachable" to an unconnected UDP socket, so sends to a
    # port nobody listens on succeed, repeatedly, and count as sent.
    sender = UdpSender([resolve(HostPort("127.0.0.1", _free_udp_port()))])
    try:
        for _ in range(3):
            sender.send(b"nobody home")
    finally:
        sender.close()
    assert (sender.sent, sender.failed) == (3, 0)


def test_an_unresolvable_host_is_named() -> None:
    with pytest.raises(ConfigError, match=r"no-such-host\.invalid:9000.*does not resolve"):
        resolve(HostPort("no-such-host.invalid", 9000))


def test_an_oversized_datagram_is_counted_and_logged_not_raised(
    receivers: list[socket.socket], caplog: pytest.LogCaptureFixture
) -> None:
    sender = UdpSender([_endpoint(sock) for sock in receivers])
    try:
        with caplog.at_level(logging.WARNING, logger="mocap.publish"):
            for _ in range(3):
                sender.send(b"x" * (MAX_IPV4_PAYLOAD + 1))
        sender.send(b"small")
    finally:
        sender.close()
    assert (sender.sent, sender.failed) == (2, 6)
    # Rate-limited: six failures within the interval make one log line, not six.
    assert len(caplog.records) == 1
    assert "Message too long" in caplog.records[0].getMessage()
    for sock in receivers:
        assert sock.recv(65535) == b"small"


def test_the_largest_ipv4_datagram_is_sent(receivers: list[socket.socket]) -> None:
    receivers[0].setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sender = UdpSender([_endpoint(receivers[0])])
    try:
        sender.send(b"y" * MAX_IPV4_PAYLOAD)
    finally:
        sender.close()
    assert receivers[0].recv(1 << 17) == b"y" * MAX_IPV4_PAYLOAD
    assert (sender.sent, sender.failed) == (1, 0)
