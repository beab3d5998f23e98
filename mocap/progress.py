"""Progress on stderr: a bar redrawn in place on a terminal, plain lines when stderr is a file or
a pipe (a log then reads well, with no carriage returns).

Progress counts the steps of a batch (`mocap image`); FrameProgress a video's frames over time
(`mocap run --video F --no-realtime --record OUT`), through the pure progress_line().
"""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

BAR_WIDTH = 24
REDRAW_INTERVAL_S = 0.25
PLAIN_INTERVAL_S = 5.0
CLEAR_LINE = "\r\x1b[K"  # back to the line's start, erase to its end


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """`[#####...]`: fraction (0..1) of width filled."""
    filled = int(width * min(max(fraction, 0.0), 1.0))
    return "[" + "#" * filled + "." * (width - filled) + "]"


class Progress:
    """Steps 1..total of a batch. Call clear() before printing anything else to the terminal."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        # Looked up now, not at import: the CLI may have replaced sys.stderr (hide_native_logs).
        self._stream = stream if stream is not None else sys.stderr
        self._in_place = self._stream.isatty()

    def show(self, step: int, label: str) -> None:
        """Step `step` (from 1) has started; label says what it works on."""
        if not self._in_place:
            self._stream.write(f"mocap: [{step}/{self.total}] {label}\n")
        else:
            line = f"{bar((step - 1) / max(1, self.total))} {step}/{self.total} {label}"
            # A line longer than the terminal would wrap, and \r could not redraw it.
            columns = shutil.get_terminal_size().columns
            self._stream.write(CLEAR_LINE + line[: columns - 1])
        self._stream.flush()

    def clear(self) -> None:
        """Erase the bar, so that the next line starts clean (a no-op for plain lines)."""
        if self._in_place:
            self._stream.write(CLEAR_LINE)
            self._stream.flush()


def duration_text(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour on."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_line(done: int, total: int, elapsed_s: float, *, bar_width: int = BAR_WIDTH) -> str:
    """`[#########...............] 120/195 frames  62% | 24.3 fps | 0:03 left`.

    total: 0 when the container does not say (then no bar, no percentage, no time left). The
    rate is the average since the start, steadier than the last few frames' rate.
    """
    fps = done / elapsed_s if elapsed_s > 0 and done > 0 else 0.0
    rate = f"{fps:.1f} fps" if fps else "-- fps"
    if total <= 0:
        return f"{done} frames | {rate}"
    fraction = min(done / total, 1.0)
    left = duration_text(max(total - done, 0) / fps) if fps else "--:--"
    return (
        f"{bar(fraction, bar_width)} {done}/{total} frames {fraction:4.0%} | {rate} | {left} left"
    )


class FrameProgress:
    """Writes progress_line() to stream: in place on a terminal, else as plain lines."""

    def __init__(self, stream: TextIO, total: int, started_s: float) -> None:
        self._stream = stream
        self._total = total
        self._started_s = started_s
        self._in_place = stream.isatty()
        self._interval_s = REDRAW_INTERVAL_S if self._in_place else PLAIN_INTERVAL_S
        self._next_s = started_s + self._interval_s

    def update(self, done: int, now_s: float) -> None:
        """Show the count if it is time to."""
        if now_s >= self._next_s:
            self._next_s = now_s + self._interval_s
            self._write(done, now_s, end="")

    def finish(self, done: int, now_s: float) -> None:
        """Show the final count and end the line."""
        self._write(done, now_s, end="\n")

    def _write(self, done: int, now_s: float, end: str) -> None:
        line = progress_line(done, self._total, now_s - self._started_s)
        if self._in_place:
            self._stream.write(f"{CLEAR_LINE}{line}{end}")
        else:
            self._stream.write(f"mocap: {line}\n")
        self._stream.flush()
