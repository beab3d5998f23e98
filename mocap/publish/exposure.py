"""Which UDP targets are off this machine (mocap.outputs.check_exposure applies the rule)."""

from __future__ import annotations

import ipaddress
import socket

from mocap.addresses import HostPort
from mocap.errors import ConfigError


def remote_targets(targets: list[HostPort]) -> list[HostPort]:
    return [target for target in dict.fromkeys(targets) if not on_this_machine(target)]


def on_this_machine(target: HostPort) -> bool:
    """Whether every address the target's host resolves to is loopback or one of this machine's
    own (an address a socket here can bind to). Looks up only the host the user configured."""
    if target.is_loopback():
        return True
    try:
        infos = socket.getaddrinfo(target.host, None, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError):
        raise ConfigError(f"cannot send to {target}: the host does not resolve") from None
    return all(_is_own_address(family, sockaddr) for family, _, _, _, sockaddr in infos)


def _is_own_address(family: socket.AddressFamily, sockaddr: tuple[object, ...]) -> bool:
    address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
    if address.is_loopback or address.is_unspecified:
        return True
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            # Binding to an address succeeds only on an interface that has it.
            probe.bind((sockaddr[0], 0, *sockaddr[2:]))
        except OSError:
            return False
    return True
