"""`mocap` under an audit hook that ends the process on any network use it was not told of.

    python tests/audited_mocap.py HOST:PORT... -- MOCAP_ARGS...

Each HOST:PORT is an address mocap may look up, bind, connect or send to (port 0 for a server
that binds any free port). Anything else (another address, any other DNS call, any urllib
request) writes one "AUDIT:" line and exits with EXIT_VIOLATION at once: os._exit, so that no
`except` in mocap or a library can swallow it. The hook is installed before mocap is imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

EXIT_VIOLATION = 97
# Events with an address among their arguments: (event, index of the address argument).
ADDRESS_EVENTS = {"socket.connect": 1, "socket.sendto": 1, "socket.bind": 1}
# Name lookups other than getaddrinfo, and URL requests: never expected.
FORBIDDEN_EVENTS = {
    "socket.gethostbyname",
    "socket.gethostbyname_ex",
    "socket.gethostbyaddr",
    "socket.getnameinfo",
    "urllib.Request",
}


def parse_allowed(texts: Sequence[str]) -> set[tuple[str, int]]:
    allowed = set()
    for text in texts:
        host, _, port = text.rpartition(":")
        allowed.add((host, int(port)))
    return allowed


def address_of(event: str, args: tuple[object, ...]) -> object:
    if event == "socket.getaddrinfo":
        host, port = args[0], args[1]
        if isinstance(host, bytes):
            host = host.decode()
        return (host, int(port) if isinstance(port, (int, str)) and str(port).isdigit() else port)
    address = args[ADDRESS_EVENTS[event]]
    return tuple(address[:2]) if isinstance(address, tuple) else address


def install(allowed: set[tuple[str, int]]) -> None:
    def hook(event: str, args: tuple[object, ...]) -> None:
        watched = event == "socket.getaddrinfo" or event in ADDRESS_EVENTS
        if event in FORBIDDEN_EVENTS or (watched and address_of(event, args) not in allowed):
            fail(event, args)

    sys.addaudithook(hook)


def fail(event: str, args: tuple[object, ...]) -> None:
    # sys.stderr, not descriptor 2: mocap points descriptor 2 at /dev/null (MediaPipe's noise).
    sys.stderr.write(f"AUDIT: {event} {args!r} is not a configured output\n")
    sys.stderr.flush()
    os._exit(EXIT_VIOLATION)


def main() -> int:
    split = sys.argv.index("--")
    install(parse_allowed(sys.argv[1:split]))
    from mocap.cli import main as mocap_main  # noqa: PLC0415 - only once the hook is in

    return mocap_main(sys.argv[split + 1 :])


if __name__ == "__main__":
    sys.exit(main())
