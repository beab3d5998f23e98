"""Where a run's landmarks may go, checked once at start, before anything listens or sends.

Nothing leaves this machine unless the user said so: a WebSocket server bound beyond loopback
needs a token, and OSC or VMC targets elsewhere need allow_remote. When they are allowed, the
run says so once, in plain words.
"""

from __future__ import annotations

import ipaddress
import socket

from mocap.config import Config, Endpoint
from mocap.errors import ConfigError


def check_exposure(config: Config) -> list[str]:
    """Refuse what would expose landmarks unasked (ConfigError); otherwise the notices to show
    for what the user did allow."""
    notices = []
    ws = config.ws_endpoint()
    if ws is not None and not ws.is_loopback():
        if not config.server.token:
            raise ConfigError(
                f"--ws {ws} exposes landmarks to the network: set a token with --token or "
                "MOCAP_TOKEN, or bind 127.0.0.1"
            )
        notices.append(f"the WebSocket server on {ws} is open to the network (token required)")
    for target in remote_targets([*config.osc_endpoints(), *config.vmc_endpoints()]):
        if not config.outputs.allow_remote:
            raise ConfigError(
                f"{target} is not on this machine: sending landmarks there needs --allow-remote "
                "(or outputs.allow_remote = true)"
            )
        notices.append(f"sending landmarks off this machine to {target}")
    return notices


def remote_targets(targets: list[Endpoint]) -> list[Endpoint]:
    return [target for target in dict.fromkeys(targets) if not on_this_machine(target)]


def on_this_machine(target: Endpoint) -> bool:
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
