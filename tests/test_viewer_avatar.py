"""The viewer's 3D avatar in headless Chromium (software GL), driven by a real `mocap replay` of a
take whose arm rises: made here from the independent synthetic human (tests/human.py) and solved
by the replay (`--solve`), so nothing in the input comes from the solver or the viewer."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from websockets.sync.client import connect

from mocap import skeleton
from mocap.addresses import HostPort
from mocap.config import Config, merge
from mocap.encode.frame_json import encode_frame, encode_hello
from mocap.encode.recording import (
    RecordingHeader,
    encode_frame_line,
    encode_header,
    recording_settings,
)
from mocap.frames import frozen
from mocap.publish.static import load_viewer
from mocap.publish.websocket import WebSocketServer
from mocap.solve.humanoid import BONES
from tests import human
from tests.chromium import Chromium, Page
from tests.conftest import synthetic_pose_frame
from tests.runs import MocapProcess
from tests.support import running

TOKEN = "avatar-test-token"
FPS = 30.0
# The take, seconds: arms hanging, the subject's LEFT arm rising sideways to horizontal, held,
# lowered, hanging again; then the replay loops.
DOWN_S, RISE_S, UP_S, FALL_S, REST_S = 1.5, 0.5, 2.0, 0.5, 0.5
RAISED_DEG = 90.0
# The subject's left arm drives the avatar's RightHand while the stream mirrors (the default).
RAISED_BONE = {False: "RightHand", True: "LeftHand"}  # unmirror off / on
STILL_M = 0.002  # a joint that moves less than this over SETTLE_S is holding still
SETTLE_S = 0.3
HOLD_TIMEOUT_S = 30.0


def eased(fraction: float) -> float:
    """0 -> 1 as fraction goes 0 -> 1, slow at both ends (held at 0 before, 1 after)."""
    return float(0.5 - 0.5 * np.cos(np.pi * min(1.0, max(0.0, fraction))))


def raised_deg(t_s: float) -> float:
    """The left arm's angle from hanging at t_s."""
    if t_s < DOWN_S + RISE_S:
        return RAISED_DEG * eased((t_s - DOWN_S) / RISE_S)
    fall_start = DOWN_S + RISE_S + UP_S
    return RAISED_DEG * (1.0 - eased((t_s - fall_start) / FALL_S))


def write_arm_raise_recording(path: Path) -> None:
    """A recording of landmarks only (no solver ran), as `mocap run --record` writes one."""
    header = RecordingHeader(
        source_description="synthetic human raising the left arm",
        source_live=False,
        source_fps=FPS,
        face_points=478,
        settings=recording_settings(merge(Config(), {"solver": {"enabled": False}})),
        mocap_version="0.1.0",
        started_utc="2026-01-01T00:00:00+00:00",
    )
    frames = round((DOWN_S + RISE_S + UP_S + FALL_S + REST_S) * FPS)
    with path.open("wb") as file:
        file.write(encode_header(header))
        for i in range(frames):
            t_s = i / FPS
            # Sideways: about the body's forward axis, the hanging left arm turns out to +x.
            pose = human.with_arm(human.Pose(), 0, shoulder=human.turn(human.Z, raised_deg(t_s)))
            frame = human.pose_frame(pose, timestamp_s=t_s, index=i)
            # human.py's world block comes out in Fortran order, which orjson will not write.
            world = frozen(np.ascontiguousarray(frame.pose_world), *frame.pose_world.shape)
            frame = dataclasses.replace(frame, pose_world=world)
            file.write(encode_frame_line(frame, i, t_s, None))


@pytest.fixture(scope="module")
def replay_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    recording = tmp_path_factory.mktemp("take") / "arm_raise.jsonl"
    write_arm_raise_recording(recording)
    with MocapProcess(
        "replay", recording, "--loop", "--solve", "--ws", "127.0.0.1:0", "--token", TOKEN
    ) as mocap:
        yield int(mocap.wait_for_line(r"WebSocket on ws://127\.0\.0\.1:(\d+)").group(1))


def open_avatar(browser: Chromium, port: int, watch_requests: bool = False) -> Page:
    page = browser.new_page(f"http://127.0.0.1:{port}/?token={TOKEN}", watch_requests)
    page.wait_for("window.mocapViewer && mocapViewer.avatar && mocapViewer.frames > 10")
    return page


def arm_length_m(page: Page, side: str) -> float:
    """The mannequin's shoulder-to-wrist length, from the rest skeleton it was built from."""
    lengths = page.evaluate(
        f"""(() => {{ const s = mocapViewer.skeleton;
        return ['{side}LowerArm', '{side}Hand'].map((name) => {{
          const [x, y, z] = s.rest_positions[s.bones.indexOf(name)];
          return Math.hypot(x, y, z); }}); }})()"""
    )
    return float(sum(lengths))


# Where the raised hand, its shoulder, the other hand and the hips are (world, metres, read with
# one of the page's readers: the mannequin's joints or the loaded VRM's bones), and the raised
# hand and the hips on the canvas (CSS pixels), read from the page's scene in one go.
JOINTS = """((hand, reader) => {
  const v = mocapViewer, where = (name) => v[reader](name);
  const side = hand.startsWith('Right') ? 'Right' : 'Left';
  return { hand: where(hand), shoulder: where(side + 'UpperArm'),
           other: where(side === 'Right' ? 'LeftHand' : 'RightHand'), hips: where('Hips'),
           handCanvas: v.jointCanvasPosition(hand), hipsCanvas: v.jointCanvasPosition('Hips') };
})"""


def settled_joints(
    page: Page, hand: str, raised: bool, arm_m: float, reader: str = "jointWorldPosition"
) -> dict[str, Any]:
    """The joints once the hand is held down (hanging) or up (near the shoulder's height)."""
    deadline = time.monotonic() + HOLD_TIMEOUT_S
    read = f"{JOINTS}('{hand}', '{reader}')"
    while True:
        first = page.evaluate(read)
        if (first["hand"][1] - first["shoulder"][1] > -0.3 * arm_m) == raised:
            time.sleep(SETTLE_S)  # stillness is measured over an interval
            second: dict[str, Any] = page.evaluate(read)
            if np.linalg.norm(np.subtract(second["hand"], first["hand"])) < STILL_M:
                return second
        assert time.monotonic() < deadline, f"{hand} never held {'up' if raised else 'down'}"
        time.sleep(0.05)


def set_unmirror(page: Page, on: bool) -> None:
    page.evaluate(
        f"(() => {{ const box = document.getElementById('unmirror');"
        f" if (box.checked !== {json.dumps(on)}) box.click(); }})()"
    )


def changed_pixels(before: bytes, after: bytes) -> npt.NDArray[np.bool_]:
    """Which pixels of two same-sized PNG screenshots differ visibly."""
    a, b = (cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR) for png in (before, after))
    assert a.shape == b.shape
    changed: npt.NDArray[np.bool_] = np.abs(a.astype(int) - b.astype(int)).sum(axis=2) > 60
    return changed


def test_the_mannequin_s_hand_rises_with_the_arm_and_the_view_changes_there(
    browser: Chromium, replay_port: int
) -> None:
    page = open_avatar(browser, replay_port)
    set_unmirror(page, False)
    assert page.evaluate("document.getElementById('avatar-message').hidden")  # bones arrive
    hand = RAISED_BONE[False]
    arm_m = arm_length_m(page, "Right")
    down = settled_joints(page, hand, raised=False, arm_m=arm_m)
    shot_down = page.screenshot("#avatar")
    up = settled_joints(page, hand, raised=True, arm_m=arm_m)
    shot_up = page.screenshot("#avatar")

    # From hanging to horizontal, a straight arm's hand rises by the arm's length.
    rise_m = up["hand"][1] - down["hand"][1]
    expected_m = arm_m * (1.0 - np.cos(np.radians(RAISED_DEG)))
    assert abs(rise_m - expected_m) < 0.1 * arm_m, (rise_m, expected_m)
    assert abs(up["other"][1] - down["other"][1]) < 0.1 * arm_m  # the other arm stays down

    changed = changed_pixels(shot_down, shot_up)
    columns = np.nonzero(changed)[1]
    assert len(columns) > 200
    # The pixels that changed are the arm's: on its side of the hips, and where the hand went.
    hips_x = up["hipsCanvas"][0]
    hand_x, hand_y = (round(c) for c in up["handCanvas"])
    # (the solver also leans the chest a little toward the raised arm: most, not all, changes)
    assert np.mean(columns < hips_x) > 0.75  # the avatar's right is the canvas's left
    assert changed[max(0, hand_y - 15) : hand_y + 15, max(0, hand_x - 15) : hand_x + 15].any()


def test_mirrored_and_unmirrored_views_raise_the_arm_on_opposite_sides(
    browser: Chromium, replay_port: int
) -> None:
    page = open_avatar(browser, replay_port)
    sides = {}
    for unmirror in (False, True):
        set_unmirror(page, unmirror)
        hand = RAISED_BONE[unmirror]
        raised = settled_joints(page, hand, raised=True, arm_m=arm_length_m(page, "Right"))
        sides[unmirror] = np.sign(raised["handCanvas"][0] - raised["hipsCanvas"][0])
        # Unmirrored, the avatar raises the subject's own (left) hand: at +X, the avatar's left.
        assert np.sign(raised["hand"][0]) == (1 if unmirror else -1)
    assert sides == {False: -1, True: 1}


# Frames the page receives in RECEIVE_WINDOW_S (and the frames the server sent meanwhile, seq).
RECEIVE_WINDOW_S = 5.0
RECEIVED_OVER_5_S = """new Promise((done) => {
  const v = mocapViewer, frames = v.frames, seq = v.newest.seq, start = performance.now();
  setTimeout(() => done({ frames: v.frames - frames, sent: v.newest.seq - seq,
                          fps: (v.frames - frames) * 1000 / (performance.now() - start) }), 5000);
})"""


def count_frames(port: int, counted: list[int]) -> None:
    """Frames received in RECEIVE_WINDOW_S by a plain client (websockets) that draws nothing."""
    frames = 0
    with connect(f"ws://127.0.0.1:{port}/?token={TOKEN}", max_size=None) as client:
        end = time.monotonic() + RECEIVE_WINDOW_S
        while time.monotonic() < end:
            frames += '"type":"frame"' in str(client.recv(timeout=RECEIVE_WINDOW_S))
    counted.append(frames)


def test_the_page_loads_everything_from_the_mocap_server_and_keeps_the_stream_s_rate(
    browser: Chromium, replay_port: int
) -> None:
    """Every request goes to the mocap server; while the avatar renders at the display's rate,
    the page still receives every frame of the stream (FPS)."""
    browser.requested.clear()
    page = open_avatar(browser, replay_port, watch_requests=True)
    own = (f"http://127.0.0.1:{replay_port}/", f"ws://127.0.0.1:{replay_port}/")
    page.wait_for("mocapViewer.frameTimes().frames > 200")
    assert browser.requested and all(url.startswith(own) for url in browser.requested), (
        browser.requested
    )
    assert {url.split("?")[0].rsplit("/", 1)[1] for url in browser.requested} >= {
        "", "viewer.js", "avatar.js", "vrm.js", "vendor.js", "skeleton.json"
    }  # fmt: skip
    beside: list[int] = []
    counter = threading.Thread(target=count_frames, args=(replay_port, beside))
    counter.start()
    received = page.evaluate(RECEIVED_OVER_5_S)
    counter.join()
    times = page.evaluate("mocapViewer.frameTimes()")
    print(f"\nframe times in headless Chromium (software GL), stream at {FPS:.0f} fps: {times}")
    print(f"received over 5 s: {received}; a client that draws nothing: {beside[0]}")
    # The page gets the frames that a client drawing nothing gets meanwhile: the server sends
    # each client the newest frame once its previous send is done, so a page that fell behind
    # would get fewer. (On a loaded 2-core machine, where software GL takes a core, the replay
    # itself runs late and coalesces a few frames for every client: not the page's doing.)
    assert received["frames"] >= 0.95 * beside[0] - 2


# --- the ARKit bars and the no-bones message, from a stream the test writes ---------------------


@pytest.fixture
def own_stream() -> Iterator[WebSocketServer]:
    """mocap's WebSocket server with the viewer's pages, publishing what the test says."""
    hello = json.loads(encode_hello(None, 30.0, 478))
    hello["names"]["arkit"] = list(skeleton.ARKIT_NAMES)
    server = WebSocketServer(HostPort("127.0.0.1", 0), json.dumps(hello), pages=load_viewer())
    with running(server):
        yield server


def test_the_arkit_weights_show_as_bars_and_a_stream_without_bones_says_how_to_solve(
    browser: Chromium, own_stream: WebSocketServer
) -> None:
    page = browser.new_page(f"http://127.0.0.1:{own_stream.address.port}/")
    page.wait_for("window.mocapViewer && mocapViewer.avatar && mocapViewer.connections")
    weights = {name: round(i / 50, 4) for i, name in enumerate(skeleton.ARKIT_NAMES)}
    frame = encode_frame(synthetic_pose_frame(), 1, 0.0, {"arkit": weights})
    own_stream.publish(frame)
    shown = page.wait_for(
        "(() => { const m = [...document.querySelectorAll('#arkit-bars meter')];"
        " return m.length && Object.fromEntries(m.map((x) => [x.dataset.name, x.value])); })()"
    )
    assert list(shown) == list(skeleton.ARKIT_NAMES)  # the hello's order
    assert shown == pytest.approx(weights, abs=1e-6)
    message = page.evaluate("document.getElementById('avatar-message').textContent")
    assert "no bones" in message and "--solve" in message and "--vmc HOST" in message

    own_stream.publish(encode_frame(synthetic_pose_frame(), 2, 0.1, {"arkit": None}))
    page.wait_for(
        "document.getElementById('arkit-message').textContent === 'no face in this frame'"
    )
    assert page.evaluate(
        "[...document.querySelectorAll('#arkit-bars meter')].every((m) => m.value === 0)"
    )


LIDS = "['Left', 'Right'].map((side) => mocapViewer.avatar.mannequin.face.lids[side].rotation.x)"


def test_the_mannequin_s_eyelids_close_with_blink_and_its_mouth_opens_with_a(
    browser: Chromium, own_stream: WebSocketServer
) -> None:
    page = browser.new_page(f"http://127.0.0.1:{own_stream.address.port}/")
    page.wait_for("window.mocapViewer && mocapViewer.avatar && mocapViewer.connections")
    rest: dict[str, Any] = {name: [0.0, 0.0, 0.0, 1.0] for name in BONES}
    rest["Hips"] = {"rotation": [0.0, 0.0, 0.0, 1.0], "position": [0.0, 0.85, 0.0]}

    def publish(seq: int, blendshapes: dict[str, float]) -> None:
        extra = {"bones": rest, "blendshapes": blendshapes}
        own_stream.publish(encode_frame(synthetic_pose_frame(), seq, seq / 30, extra))

    publish(1, {"Blink": 0.0, "Blink_L": 0.0, "A": 0.0})
    page.wait_for("document.getElementById('avatar-message').hidden")
    open_lids = page.wait_for(f"{LIDS}.every((x) => x < 0) && {LIDS}")  # drawn, open
    closed_mouth = page.evaluate("mocapViewer.avatar.mannequin.face.mouth.scale.y")
    publish(2, {"Blink": 0.0, "Blink_L": 1.0, "A": 1.0})  # the avatar's left eye only
    page.wait_for(f"{LIDS}[0] > {open_lids[0]} + 1.5")
    assert page.evaluate(LIDS)[1] == pytest.approx(open_lids[1])
    assert page.evaluate("mocapViewer.avatar.mannequin.face.mouth.scale.y") > 3 * closed_mouth
    publish(3, {"Blink": 1.0, "Blink_L": 0.0, "A": 0.0})  # both
    page.wait_for(f"{LIDS}.every((x, i) => x > {open_lids[0]} + 1.5)")
