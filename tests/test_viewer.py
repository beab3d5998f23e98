"""The built-in viewer in a real browser (headless Chromium) against a real `mocap run`."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chromium import Chromium, Page
from tests.runs import DATA, MocapProcess

TOKEN = "viewer-test-token"
PHOTO = DATA / "images" / "holistic_business_person.png"  # 958x1358, every part found

# Pixels of a colour the viewer draws with (mocap/viewer/viewer.js), read back from its canvas.
COUNT_COLOUR = """(([r, g, b]) => {
  const canvas = document.getElementById("skeleton");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let count = 0;
  for (let i = 0; i < data.length; i += 4) {
    const d = Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b);
    if (d < 60) count += 1;
  }
  return count;
})"""
POSE_RGB = (255, 215, 0)
FACE_RGB = (110, 230, 110)


@pytest.fixture(scope="module")
def server_port() -> Iterator[int]:
    """`mocap run` on the bundled clip, looping, with a token: the viewer's server."""
    with MocapProcess(
        "run", "--demo", "--no-preview", "--ws", "127.0.0.1:0", "--token", TOKEN
    ) as mocap:
        yield int(mocap.wait_for_line(r"WebSocket on ws://127\.0\.0\.1:(\d+)").group(1))


def open_viewer(browser: Chromium, port: int) -> Page:
    page = browser.new_page(f"http://127.0.0.1:{port}/?token={TOKEN}")
    page.wait_for("window.mocapViewer && window.mocapViewer.frames > 10")
    return page


def test_the_viewer_connects_draws_landmarks_and_shows_the_frame_rate(
    browser: Chromium, server_port: int
) -> None:
    page = open_viewer(browser, server_port)
    assert page.evaluate("document.getElementById('status').textContent") == "connected"
    assert page.wait_for(f"{COUNT_COLOUR}({list(POSE_RGB)}) > 200")
    assert page.wait_for(f"{COUNT_COLOUR}({list(FACE_RGB)}) > 50")
    fps = page.wait_for("Number(document.getElementById('fps').textContent)")
    # Frames are flowing and none is counted twice (the clip is 25 fps). How many the model
    # manages a second depends on the machine's load: not a property of the viewer.
    assert 1 <= fps <= 60
    page.wait_for("document.getElementById('latency').textContent.endsWith(' ms')")
    size = page.evaluate("[document.getElementById('skeleton').width, mocapViewer.newest.size[0]]")
    assert size[0] == size[1]  # the canvas takes the source's size


def test_a_photo_dropped_into_the_viewer_comes_back_annotated(
    browser: Chromium, server_port: int, tmp_path: Path
) -> None:
    page = open_viewer(browser, server_port)
    not_a_photo = tmp_path / "holiday.jpg"
    not_a_photo.write_text("these are my notes, not a photo\n")
    page.set_file("#photo-input", not_a_photo)
    message = page.wait_for(
        "mocapViewer.photoPending ? '' : document.getElementById('photo-message').textContent"
    )
    assert message == "holiday.jpg: refused: not an image (a JPEG, PNG, WebP or BMP file)"

    frames_before = page.evaluate("mocapViewer.frames")
    page.set_file("#photo-input", PHOTO)
    page.wait_for("mocapViewer.photos === 1", timeout_s=60)
    frames_during = page.evaluate("mocapViewer.frames") - frames_before
    message = page.evaluate("document.getElementById('photo-message').textContent")
    assert message.startswith(f"{PHOTO.name}: 958x1358 px; found pose, face")
    image = page.wait_for(
        "(() => { const img = document.getElementById('photo-result');"
        " return img.complete && [img.naturalWidth, img.naturalHeight, img.src.slice(0, 23)]; })()"
    )
    assert image == [958, 1358, "data:image/jpeg;base64,"]
    landmarks = page.evaluate("JSON.parse(document.getElementById('photo-json').textContent)")
    assert landmarks["type"] == "photo" and len(landmarks["pose"]) == 33
    assert len(landmarks["face"]) == 478
    assert frames_during > 0  # live frames kept coming while the photo was annotated


FOREIGN_PAGE = """<!doctype html><title>some other site</title><script>
window.seen = [];
const socket = new WebSocket("ws://127.0.0.1:{port}/?token={token}");
socket.onopen = () => window.seen.push("open");
socket.onmessage = () => window.seen.push("message");
socket.onclose = (event) => window.seen.push("close " + event.code);
</script>"""


@pytest.fixture
def foreign_site(server_port: int) -> Iterator[str]:
    """Another web server on this machine, whose page knows even the token."""
    page = FOREIGN_PAGE.replace("{port}", str(server_port)).replace("{token}", TOKEN).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as site:
        thread = threading.Thread(target=site.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{site.server_address[1]}/"
        site.shutdown()


def test_a_page_from_another_origin_cannot_read_frames(
    browser: Chromium, foreign_site: str
) -> None:
    page = browser.new_page(foreign_site)
    seen = page.wait_for("window.seen && window.seen.length && window.seen")
    assert seen == ["close 1006"]  # the handshake was refused: no open, no message
