"""Recordings written as a run goes (format: mocap.encode.recording).

RecordSink is a sink like the outputs: the pipeline thread encodes each frame's line (0.1 to
0.3 ms) and hands the bytes to a writer thread, which owns the file (gzip costs it ~0.9 ms a
line). Every line is written whole and flushed to the operating system at once (for .gz,
compressed with a sync flush per line), so whatever stops the process, a kill -9 included, the
file holds every frame written before it, at worst followed by one partial line. A write that
fails (a full disk) stops the recording, never the run: one warning, and the summary says so.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import queue
import threading
import zlib
from datetime import datetime, timezone
from pathlib import Path

from mocap import __version__
from mocap.config import Config
from mocap.encode.recording import (
    RecordingHeader,
    encode_frame_line,
    encode_header,
    recording_settings,
)
from mocap.errors import ConfigError
from mocap.private_files import open_owner_only
from mocap.publish.sinks import Published
from mocap.sources import Source
from mocap.threads import lower_this_thread_priority

log = logging.getLogger("mocap.recording")

# Lines waiting for the writer: about 8 s of a 30 fps run, ~5 MB. Only a stalled disk fills it.
QUEUE_LINES = 256
# zlib's default level: ~10x smaller lines; at 9 it costs more time for a few per cent.
GZIP_LEVEL = 6
JOIN_TIMEOUT_S = 10.0

_CLOSED = None  # queued after the last line


class _LineFile:
    """One open recording file: write_line() writes a line and flushes it to the OS."""

    def __init__(self, path: Path) -> None:
        # Buffered, so that opening /dev/full or a full disk succeeds and the first write fails
        # on the writer thread, like any later one.
        self._raw = os.fdopen(open_owner_only(path, append=False), "wb")
        self._gzip = (
            gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=GZIP_LEVEL)
            if path.name.endswith(".gz")
            else None
        )

    def write_line(self, line: bytes) -> None:
        if self._gzip is not None:
            self._gzip.write(line)
            # A sync flush ends the deflate block on a byte boundary: every line written so far
            # decompresses even if the stream is never finished.
            self._gzip.flush(zlib.Z_SYNC_FLUSH)
        else:
            self._raw.write(line)
            self._raw.flush()

    def close(self) -> None:
        """Finish the gzip stream (its trailer) and close the file; may raise OSError."""
        try:
            if self._gzip is not None:
                self._gzip.close()
        finally:
            self._raw.close()


class RecordSink:
    """Writes every published frame to a recording file (the header first).

    wait_when_full: with a file source every frame matters and nothing is live, so the pipeline
    waits for a slow disk; with a live source it must not, so a line that finds the queue full is
    dropped and counted instead.
    """

    def __init__(self, path: Path, header: RecordingHeader, *, wait_when_full: bool) -> None:
        self.path = path
        try:
            self._file = _LineFile(path)
        except OSError as exc:
            raise ConfigError(f"--record: cannot write {path}: {exc.strerror}") from None
        self._wait_when_full = wait_when_full
        self._queue: queue.Queue[bytes | None] = queue.Queue(QUEUE_LINES)
        self._queue.put(encode_header(header))
        self._closing = False
        self.failure = ""  # why writing stopped, "" while it works
        self.frames_written = 0
        self.frames_dropped = 0
        self._thread = threading.Thread(target=self._write_lines, name="mocap-record", daemon=True)
        self._thread.start()

    def publish(self, frame: Published) -> None:
        if self._closing or self.failure:
            return
        line = encode_frame_line(frame.pose, frame.seq, frame.t_s, frame.avatar)
        try:
            self._queue.put(line, block=self._wait_when_full)
        except queue.Full:
            self.frames_dropped += 1
            if self.frames_dropped == 1:
                log.warning("recording: the disk is not keeping up; frames are being dropped")

    def close(self) -> None:
        """Write what is queued, finish the file and stop the writer; safe to call again."""
        if self._closing:
            return
        self._closing = True
        try:
            self._queue.put(_CLOSED, timeout=JOIN_TIMEOUT_S)
        except queue.Full:  # a disk that has stalled for good: the writer may never finish
            log.warning("recording: %s stopped taking data; the last frames are lost", self.path)
            return
        self._thread.join(JOIN_TIMEOUT_S)

    def summary(self) -> str:
        if self.failure:
            state = f"stopped after {self.frames_written} frames: {self.failure}"
        else:
            state = f"{self.frames_written} frames in {self.path}{_size_text(self.path)}"
        dropped = f"; {self.frames_dropped} dropped (disk too slow)" if self.frames_dropped else ""
        return f"recording: {state}{dropped}"

    def _write_lines(self) -> None:
        lower_this_thread_priority()  # writing and compressing fill the gaps inference leaves
        header_written = False
        while (line := self._queue.get()) is not _CLOSED:
            if self.failure:
                continue  # drain: the pipeline may still be handing lines over
            try:
                self._file.write_line(line)
            except OSError as exc:
                self._stop_writing(exc)
                continue
            if header_written:
                self.frames_written += 1
            header_written = True
        try:
            self._file.close()
        except OSError as exc:
            self._stop_writing(exc)

    def _stop_writing(self, exc: OSError) -> None:
        if self.failure:
            return
        self.failure = f"cannot write {self.path} ({exc.strerror or exc})"
        log.warning("recording stopped, %s; the run goes on without it", self.failure)
        with contextlib.suppress(OSError):  # the same failure again, already reported
            self._file.close()


def _size_text(path: Path) -> str:
    try:
        size_bytes = path.stat().st_size
    except OSError:
        return ""
    return f" ({size_bytes / 1e6:.1f} MB)" if path.is_file() else ""


def start_recording(config: Config, source: Source, face_points: int) -> RecordSink | None:
    """The sink for config.run.record (None when not recording), its header written first."""
    if not config.run.record:
        return None
    header = RecordingHeader(
        source_description=source.description,
        source_live=source.live,
        source_fps=source.nominal_fps,
        face_points=face_points,
        settings=recording_settings(config),
        mocap_version=__version__,
        started_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    return RecordSink(Path(config.run.record), header, wait_when_full=not source.live)
