"""Files that hold landmarks (recordings: face landmarks are biometric data) or who connected
(the access log): created, or left after writing, readable by their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

OWNER_ONLY = 0o600


def open_owner_only(path: Path, *, append: bool) -> int:
    """A descriptor open for writing (appending, or truncating); may raise OSError.

    A new file is created 0600 whatever the umask. An existing regular file is set to 0600 too:
    the mode given to open() applies only to files it creates. Devices and pipes (/dev/null, a
    FIFO) are left alone: they are not ours to change and keep nothing.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if append else os.O_TRUNC)
    descriptor = os.open(path, flags, OWNER_ONLY)
    try:
        if stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.fchmod(descriptor, OWNER_ONLY)
    except OSError:
        os.close(descriptor)
        raise
    return descriptor
