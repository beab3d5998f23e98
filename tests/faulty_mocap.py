"""`mocap` with one file that cannot be opened: opening it raises a plain RuntimeError, as an
unforeseen bug would, from an audit hook installed before mocap is imported.

    python tests/faulty_mocap.py PATH -- MOCAP_ARGS...
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    separator = sys.argv.index("--")
    faulty = os.path.abspath(sys.argv[1])

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event == "open" and isinstance(args[0], str) and os.path.abspath(args[0]) == faulty:
            raise RuntimeError(f"injected failure opening {faulty}")

    sys.addaudithook(hook)
    from mocap.cli import main as mocap_main  # noqa: PLC0415 - after the hook, on purpose

    return mocap_main(sys.argv[separator + 1 :])


if __name__ == "__main__":
    sys.exit(main())
