"""The one error hierarchy. Libraries raise these; only the CLI prints them and exits."""

from __future__ import annotations


class MocapError(Exception):
    """A failure the user can act on; its message names the thing and the fix."""

    exit_code = 1


class ConfigError(MocapError):
    """A bad flag, config key or value: the user's input, so exit code 2."""

    exit_code = 2


class SourceError(MocapError):
    """A camera, video or stream that cannot be opened (2) or was lost for good mid-run (1)."""

    def __init__(self, message: str, *, at_start: bool = True) -> None:
        super().__init__(message)
        self.exit_code = 2 if at_start else 1


class ModelError(MocapError):
    """The model cannot be built: a missing model file or an unusable option."""

    exit_code = 2


class PublishError(MocapError):
    """An output cannot be started: a port in use, an address that does not resolve."""

    exit_code = 1


class FrameRefused(Exception):  # noqa: N818 - a per-frame outcome, not a failure of the run
    """One frame is unusable (too small, too large, malformed): it is counted and skipped."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
