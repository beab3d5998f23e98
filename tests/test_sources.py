"""Sources against real things: generated video files, the bundled clip, a local MJPEG server."""

from __future__ import annotations

import functools
import itertools
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap.config import SourceConfig
from mocap.errors import SourceError
from mocap.frames import ImageSize, VideoFrame
from mocap.sources import Source, open_source
from mocap.sources.listing import list_cameras
from mocap.sources.mjpeg import multipart_boundary
from mocap.sources.video import demo_video_path, open_video
from tests.mjpeg_server import MjpegServer
from tests.support import free_port

pytestmark = pytest.mark.timeout(30)

CLIP_FPS = 20.0
CLIP_FRAMES = 40  # 2 s
CLIP_SIZE = ImageSize(160, 120)


def grey_level(index: int) -> int:
    """The flat grey of generated frame `index`: each a few levels brighter than the last."""
    return 20 + 5 * index


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A 2 s, 20 fps clip of flat grey frames, each a step brighter than the last."""
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), CLIP_FPS, CLIP_SIZE)
    for index in range(CLIP_FRAMES):
        writer.write(np.full((CLIP_SIZE.height, CLIP_SIZE.width, 3), grey_level(index), np.uint8))
    writer.release()
    return path


@pytest.fixture
def server() -> Iterator[MjpegServer]:
    with MjpegServer(size=(320, 240), fps=20) as running:
        yield running


def stream_config(server: MjpegServer, lost_after_s: float = 10.0) -> SourceConfig:
    return SourceConfig(camera=server.url, retry_max_s=0.2, lost_after_s=lost_after_s)


def take(source: Source, count: int, stop: threading.Event | None = None) -> list[VideoFrame]:
    frames = []
    for frame in source.frames(stop or threading.Event()):
        frames.append(frame)
        if len(frames) == count:
            break
    return frames


# --- files -------------------------------------------------------------------------------------


def test_non_realtime_file_yields_every_frame_in_order(clip: Path) -> None:
    with open_source(SourceConfig(video=str(clip), realtime=False)) as source:
        assert not source.live
        assert source.nominal_fps == pytest.approx(CLIP_FPS)
        frames = []
        for frame in source.frames(threading.Event()):
            time.sleep(0.005)  # a consumer slower than decoding loses nothing
            frames.append(frame)
        assert source.dropped == 0

    assert [f.index for f in frames] == list(range(CLIP_FRAMES))
    levels = [float(f.image.mean()) for f in frames]
    assert all(later > earlier for earlier, later in itertools.pairwise(levels))
    timestamps = [f.timestamp_s for f in frames]
    assert timestamps == pytest.approx([i / CLIP_FPS for i in range(CLIP_FRAMES)], abs=1e-3)
    image = frames[0].image
    assert image.dtype == np.uint8
    assert ImageSize.of(image) == CLIP_SIZE
    assert image.shape[2] == 3


def test_realtime_file_plays_at_its_own_rate(clip: Path) -> None:
    started_s = time.monotonic()
    with open_source(SourceConfig(video=str(clip))) as source:
        assert source.live
        frames = list(source.frames(threading.Event()))
    elapsed_s = time.monotonic() - started_s

    clip_duration_s = CLIP_FRAMES / CLIP_FPS
    assert elapsed_s > clip_duration_s / 2  # paced, not decoded flat out
    assert len(frames) + source.dropped == CLIP_FRAMES
    timestamps = [f.timestamp_s for f in frames]
    assert timestamps == sorted(timestamps)
    assert timestamps[-1] == pytest.approx((CLIP_FRAMES - 1) / CLIP_FPS, abs=1e-3)


def test_realtime_file_loops_with_rising_timestamps(clip: Path) -> None:
    with open_video(clip, realtime=True, loop=True) as source:
        frames = take(source, CLIP_FRAMES + 10)

    assert [f.index for f in frames] == sorted({f.index for f in frames})
    timestamps = [f.timestamp_s for f in frames]
    assert all(later > earlier for earlier, later in itertools.pairwise(timestamps))
    assert timestamps[-1] > CLIP_FRAMES / CLIP_FPS  # into the second pass
    second_pass_first = next(f for f in frames if f.timestamp_s >= CLIP_FRAMES / CLIP_FPS)
    assert second_pass_first.image.mean() < grey_level(2)  # the clip's start again


def test_stop_ends_a_file_source(clip: Path) -> None:
    stop = threading.Event()
    with open_source(SourceConfig(video=str(clip), realtime=False)) as source:
        frames = []
        for frame in source.frames(stop):
            frames.append(frame)
            if len(frames) == 3:
                stop.set()
    assert len(frames) == 3


def test_demo_clip_is_small_and_plays_every_frame_once_without_realtime() -> None:
    assert demo_video_path().stat().st_size < 1_000_000
    with open_source(SourceConfig(demo=True, realtime=False)) as source:
        frames = list(source.frames(threading.Event()))
    assert len(frames) == 195
    assert {ImageSize.of(f.image) for f in frames} == {ImageSize(640, 360)}


def test_demo_plays_live_by_default() -> None:
    with open_source(SourceConfig(demo=True)) as source:
        assert source.live
        assert source.nominal_fps == pytest.approx(25.0)
        frames = take(source, 5)
    assert [ImageSize.of(f.image) for f in frames] == [ImageSize(640, 360)] * 5


def truncated_copy(clip: Path) -> Path:
    path = clip.with_name("truncated.mp4")
    data = clip.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # mp4v files keep their index at the end
    return path


def text_file(clip: Path) -> Path:
    path = clip.with_name("notes.mp4")
    path.write_text("not a video\n")
    return path


@pytest.mark.parametrize(
    ("make_path", "reason"),
    [
        (lambda clip: clip.with_name("missing.mp4"), "not found"),
        (text_file, "not a video"),
        (truncated_copy, "not a video"),
        (lambda clip: clip.parent, "cannot read"),
    ],
    ids=["missing", "text", "truncated", "directory"],
)
def test_unusable_video_fails_at_start_naming_the_file(
    clip: Path, make_path: Callable[[Path], Path], reason: str
) -> None:
    path = make_path(clip)
    with pytest.raises(SourceError) as caught:
        open_source(SourceConfig(video=str(path)))
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)
    assert caught.value.exit_code == 2


# --- cameras -----------------------------------------------------------------------------------


@pytest.mark.parametrize("camera", [7, "7", "/dev/video7"])
def test_absent_camera_fails_at_start_pointing_to_mocap_cameras(camera: int | str) -> None:
    with pytest.raises(SourceError) as caught:
        open_source(SourceConfig(camera=camera))
    message = str(caught.value)
    assert message.startswith(f"camera {camera} not found")
    assert "`mocap cameras`" in message
    assert caught.value.exit_code == 2


def test_list_cameras_returns_a_list_quickly() -> None:
    started_s = time.monotonic()
    cameras = list_cameras()
    assert time.monotonic() - started_s < 10
    assert isinstance(cameras, list)
    if not list(Path("/dev").glob("video*")):
        assert cameras == []


# --- streams -----------------------------------------------------------------------------------


def test_url_to_a_closed_port_fails_fast_without_its_password() -> None:
    url = f"http://viewer:secret@127.0.0.1:{free_port()}/video"
    started_s = time.monotonic()
    with pytest.raises(SourceError) as caught:
        open_source(SourceConfig(camera=url))
    assert time.monotonic() - started_s < 3
    assert caught.value.exit_code == 2
    assert "stream http://viewer:***@127.0.0.1" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_url_that_never_answers_fails_within_the_time_out() -> None:
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/video"
        started_s = time.monotonic()
        with pytest.raises(SourceError) as caught:
            open_source(SourceConfig(camera=url, lost_after_s=1.0))
    assert time.monotonic() - started_s < 4
    assert caught.value.exit_code == 2
    assert url in str(caught.value)


def test_stream_delivers_fresh_frames(server: MjpegServer) -> None:
    with open_source(stream_config(server)) as source:
        assert source.live
        assert source.description == f"stream {server.url}"
        frames = take(source, 10)

    assert {ImageSize.of(f.image) for f in frames} == {ImageSize(320, 240)}
    assert [f.index for f in frames] == sorted({f.index for f in frames})
    timestamps = [f.timestamp_s for f in frames]
    assert timestamps == sorted(timestamps)
    assert timestamps[0] >= 0
    assert time.monotonic() - frames[-1].captured_monotonic_s < 1.0


def test_stream_sends_the_urls_user_and_password_as_basic_auth() -> None:
    with MjpegServer(credentials=("viewer", "p@ss:word")) as server:
        url = server.url.replace("http://", "http://viewer:p%40ss%3Aword@")
        with open_source(SourceConfig(camera=url)) as source:
            assert source.description == f"stream {url.replace('p%40ss%3Aword', '***')}"
            assert len(take(source, 2)) == 2
        with pytest.raises(SourceError):  # the server does check
            open_source(SourceConfig(camera=server.url.replace("http://", "http://viewer:no@")))


def test_a_part_that_never_ends_is_dropped_and_the_stream_reopened(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="mocap.sources")
    with (
        MjpegServer(misbehaviour="endless-part") as server,
        open_source(SourceConfig(camera=server.url, retry_max_s=0.2)) as source,
    ):
        frames = take(source, 8)  # three good frames per connection
        assert source.reconnects >= 2
    assert [f.index for f in frames] == sorted({f.index for f in frames})
    assert any("without a boundary; reconnecting" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ("multipart/x-mixed-replace; boundary=frame", b"frame"),
        ('multipart/x-mixed-replace;boundary="frame"', b"frame"),
        ("Multipart/X-Mixed-Replace; Boundary=--frame", b"frame"),  # the lines say ----frame
        ("multipart/x-mixed-replace", None),
        ("video/mp4", None),  # a file over http: FFmpeg's
    ],
)
def test_the_boundary_of_a_camera_s_content_type(content_type: str, boundary: bytes | None) -> None:
    assert multipart_boundary(content_type) == boundary


class QuietFileHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read their own output."""


def test_a_video_file_over_http_is_read_through_ffmpeg(clip: Path) -> None:
    handler = functools.partial(QuietFileHandler, directory=str(clip.parent))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as files:
        serving = threading.Thread(target=files.serve_forever, kwargs={"poll_interval": 0.05})
        serving.start()
        try:
            url = f"http://127.0.0.1:{files.server_address[1]}/{clip.name}"
            with open_source(SourceConfig(camera=url)) as source:
                frames = take(source, 3)
        finally:
            files.shutdown()
            serving.join()
    assert {ImageSize.of(f.image) for f in frames} == {CLIP_SIZE}


def test_slow_consumer_gets_the_newest_frame_and_drops_are_counted(server: MjpegServer) -> None:
    with open_source(stream_config(server)) as source:
        frames = []
        for frame in source.frames(threading.Event()):
            frames.append(frame)
            if len(frames) == 5:
                break
            time.sleep(0.25)  # five stream frames arrive meanwhile
        skipped = frames[-1].index + 1 - len(frames)
        assert skipped > 0
        assert source.dropped >= skipped


def test_stream_that_comes_back_resumes_and_counts_a_reconnect(
    server: MjpegServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mocap.sources")
    with open_source(stream_config(server)) as source:
        frames = source.frames(threading.Event())
        next(frames)
        server.stop()
        time.sleep(0.8)  # several retries fail meanwhile
        server.start()
        restarted_s = time.monotonic()
        fresh = next(f for f in frames if f.captured_monotonic_s > restarted_s)
        assert ImageSize.of(fresh.image) == ImageSize(320, 240)
        assert source.reconnects >= 1

    lost_lines = [r for r in caplog.records if "stopped delivering" in r.getMessage()]
    back_lines = [r for r in caplog.records if "is back" in r.getMessage()]
    assert len(lost_lines) == len(back_lines) == source.reconnects


def test_stream_gone_for_good_raises_from_frames(server: MjpegServer) -> None:
    with open_source(stream_config(server, lost_after_s=1.0)) as source:
        frames = source.frames(threading.Event())
        next(frames)
        server.stop()
        started_s = time.monotonic()
        with pytest.raises(SourceError) as caught:
            for _ in frames:
                pass
        assert time.monotonic() - started_s < 5
    assert caught.value.exit_code == 1
    assert f"stream {server.url} gave no frame for 1 s; giving up" == str(caught.value)


def test_close_while_frames_waits_in_another_thread_returns_promptly(
    server: MjpegServer,
) -> None:
    source = open_source(stream_config(server))
    consumer_done = threading.Event()

    def consume() -> None:
        for _ in source.frames(threading.Event()):
            pass
        consumer_done.set()

    consumer = threading.Thread(target=consume)
    consumer.start()
    time.sleep(0.3)
    server.stop()  # nothing arrives now: frames() waits, the reader retries
    time.sleep(0.3)
    started_s = time.monotonic()
    source.close()
    assert time.monotonic() - started_s < 1.0
    assert consumer_done.wait(1.0)
    consumer.join()
    source.close()  # again: nothing happens


def test_a_source_closed_before_reading_yields_nothing(clip: Path) -> None:
    source = open_source(SourceConfig(video=str(clip), realtime=False))
    source.close()
    assert list(source.frames(threading.Event())) == []


def thread_ids() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/task")}


@pytest.mark.skipif(sys.platform != "linux", reason="thread priorities are read from /proc")
def test_a_file_decodes_on_threads_that_yield_to_inference() -> None:
    main_policy = os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0)
    before = thread_ids()
    source = open_video(demo_video_path(), realtime=False)
    stop = threading.Event()
    try:
        next(iter(source.frames(stop)))
        # FFmpeg's H.264 decoder threads, started when the file opened, and the capture thread
        decoding = thread_ids() - before
        assert len(decoding) >= 2
        for thread_id in decoding:
            policy = os.sched_getscheduler(thread_id), os.getpriority(os.PRIO_PROCESS, thread_id)
            assert policy[1] > main_policy[1] and policy[0] in (os.SCHED_BATCH, os.SCHED_OTHER)
    finally:
        stop.set()
        source.close()
