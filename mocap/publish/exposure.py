"""Which UDP destinations are off this machine (mocap.outputs.check_exposure applies the rule).

Only a unicast address of this machine keeps a datagram here. Multicast and broadcast addresses
reach the whole network segment although Linux lets a socket bind them, so binding cannot be
the test; the kernel's own route lookup is (see _is_own_unicast).
"""

from __future__ import annotations

import ipaddress
import socket

from mocap.errors import ConfigError
from mocap.publish.udp import Destination


def on_this_machine(destination: Destination) -> bool:
    """Whether the resolved address is loopback or a unicast address of this machine.

    The unspecified address (0.0.0.0, ::) is refused: as a destination it means something
    different on each system (Linux loops it back, Windows refuses it), and it is almost always a
    server's bind address written where a target belongs.
    """
    address = _ip_address(destination)
    if address.is_unspecified:
        raise ConfigError(
            f"cannot send to {destination}: {address} is not an address to send to (it means "
            '"any address" when binding); use 127.0.0.1 for this machine'
        )
    return address.is_loopback or _is_own_unicast(destination)


def _ip_address(destination: Destination) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(str(destination.sockaddr[0]).partition("%")[0])


def _is_own_unicast(destination: Destination) -> bool:
    """Connecting a UDP socket sends nothing: the kernel only picks the route and the source
    address. To one of this machine's own unicast addresses the source is that same address; a
    broadcast address is refused (EACCES without SO_BROADCAST) and a multicast group or another
    host gets this machine's own address as the source."""
    with socket.socket(destination.family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(destination.sockaddr)
        except OSError:
            return False
        source = str(probe.getsockname()[0]).partition("%")[0]
    return ipaddress.ip_address(source) == _ip_address(destination)
