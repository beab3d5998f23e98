"""Recordings read back, plain or gzip (judged by content, not by name).

RecordingReader reports each line it cannot use with its number instead of failing: a partial
last line, a corrupt line, a compressed stream cut short.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from mocap.encode.recording import RecordedFrame, RecordingHeader, decode_frame_line, decode_header
from mocap.errors import ConfigError, MocapError

GZIP_MAGIC = b"\x1f\x8b"
READ_CHUNK_BYTES = 1 << 16
# A frame line is ~18 kB; anything this long without a newline is not one (and is not kept).
MAX_LINE_BYTES = 4 << 20

LineProblem = Callable[[int, str], None]
"""Told of a line that cannot be used: its number (from 1) and why."""

log = logging.getLogger("mocap")


class LineProblems:
    """A LineProblem that logs the first few bad lines, one warning each, and only counts the
    rest: a corrupt recording of a million lines gives a few lines of log, not a million.
    finish() says how many more there were."""

    def __init__(self, path: Path, shown: int = 5) -> None:
        self.path = path
        self.shown = shown
        self.count = 0

    def __call__(self, line_number: int, reason: str) -> None:
        self.count += 1
        if self.count <= self.shown:
            log.warning("%s line %d: %s; skipped", self.path, line_number, reason)

    def finish(self) -> None:
        if self.count > self.shown:
            log.warning("%s: %d more bad lines skipped", self.path, self.count - self.shown)


class _Line(NamedTuple):
    number: int
    text: bytes
    problem: str  # "" for a whole line


_CUT_GZIP = "the compressed stream ends here, unfinished (the recording was cut short)"
_CUT_LINE = "cut short (the recording ends mid-line, as a killed run leaves it)"


class RecordingReader:
    """A recording file: its header, read at construction, and its frames, read on demand
    (frames() may be called again to read it from the start, e.g. to loop)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header = self._read_header()

    def _read_header(self) -> RecordingHeader:
        with self._open() as stream:
            first = next(_lines(stream), None)
        if first is None or first.problem:
            raise ConfigError(f"{self.path} is not a mocap recording: it has no header line")
        try:
            return decode_header(first.text)
        except ValueError as exc:
            raise ConfigError(f"{self.path} is not a mocap recording: {exc}") from None

    def frames(self, on_problem: LineProblem) -> Iterator[RecordedFrame]:
        """Every frame that decodes, in file order; on_problem hears of each line that does not."""
        with self._open() as stream:
            for line in _lines(stream):
                if line.number == 1:
                    continue  # the header
                if line.problem:
                    on_problem(line.number, line.problem)
                    continue
                try:
                    yield decode_frame_line(line.text, self.header.face_points)
                except ValueError as exc:
                    on_problem(line.number, str(exc))

    @contextlib.contextmanager
    def _open(self) -> Iterator[io.BufferedIOBase]:
        """The file's bytes, decompressed when it is gzip (whatever its name)."""
        try:
            raw = self.path.open("rb")
        except OSError as exc:
            raise ConfigError(f"cannot read the recording {self.path}: {exc.strerror}") from None
        with raw:
            if not raw.peek(len(GZIP_MAGIC)).startswith(GZIP_MAGIC):
                yield raw
                return
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:  # leaves raw to us
                yield unzipped


def _lines(stream: io.BufferedIOBase) -> Iterator[_Line]:
    """The stream's lines without their newlines, numbered from 1; a last line without a
    newline, and the point where unreadable compressed data starts, come with a problem."""
    number = 0
    pending = b""  # the start of a line whose newline has not been read yet
    skipping = False  # inside an over-long line, already reported
    for chunk, cut in _chunks(stream):
        pieces = (pending + chunk).split(b"\n")
        pending = pieces.pop()
        if skipping and pieces:
            pieces.pop(0)  # the over-long line's end
            skipping = False
        for text in pieces:
            number += 1
            yield _Line(number, text, "")
        if len(pending) > MAX_LINE_BYTES and not skipping:
            number += 1
            yield _Line(number, b"", f"longer than {MAX_LINE_BYTES >> 20} MB: not a frame line")
            pending, skipping = b"", True
        elif skipping:
            pending = b""
        if cut:
            if pending:
                yield _Line(number + 1, pending, _CUT_LINE)
            else:
                yield _Line(number + 1, b"", cut)
            return
    if pending and not skipping:
        yield _Line(number + 1, pending, _CUT_LINE)


def _chunks(stream: io.BufferedIOBase) -> Iterator[tuple[bytes, str]]:
    """(data, "") until the end; then, if the data stopped early, (b"", why).

    read1 hands over everything decompressed so far even when a gzip stream is cut, where
    line-by-line reading would drop the last lines before raising."""
    while True:
        try:
            chunk = stream.read1(READ_CHUNK_BYTES)
        except EOFError:
            yield b"", _CUT_GZIP
            return
        except (zlib.error, gzip.BadGzipFile):
            yield b"", "the compressed data is corrupt from here on"
            return
        except OSError as exc:  # the file itself became unreadable (a drive removed)
            raise MocapError(f"cannot read the recording any further: {exc.strerror}") from None
        if not chunk:
            return
        yield chunk, ""
