"""Calibration: a pitched or rolled camera levelled from a neutral take (an independent generator:
its own standing pose from explicit coordinates, its own noise), the file and its checks, the
`mocap calibrate` command on a real recording (no model), applying a file in `mocap replay`,
and live recalibration asked for by a WebSocket client."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy.spatial.transform import Rotation
from websockets.sync.client import connect

from mocap.frames import ImageSize, PoseFrame, frozen
from mocap.preview.draw import FACE_COLOUR, POSE_COLOUR
from mocap.solve import AvatarSolver
from mocap.solve.calibration import SCHEMA, Calibration, decode, encode, measure
from mocap.solve.humanoid import BONES, INDEX
from tests.runs import DATA, VIDEO, MocapProcess, receive_all, run_mocap
from tests.support import PLAIN_SOLVER, free_port, mocap_server
from tests.test_run import wait_for_window
from tests.xserver import XServer, wait_for_colours, xdotool

Array = npt.NDArray[np.float64]
RECORDING = DATA / "recording_thumbs_up.jsonl.gz"
NOISE_M = 0.003
LEVELLED_BONES = ("Hips", "Spine", "Chest", "LeftUpperLeg", "RightUpperLeg")
TORSO_CHAIN = ("Hips", "Spine", "Chest", "UpperChest")

# A person standing upright facing a level camera, arms hanging: MediaPipe's world landmarks
# (metres, origin between the hips, x toward the image's right, y down, z away from the camera;
# the subject's left is the image's right).
STANDING_M = {
    0: (0.0, -0.62, -0.10),  # nose
    1: (0.015, -0.66, -0.08), 2: (0.03, -0.66, -0.08), 3: (0.045, -0.66, -0.075),  # left eye
    4: (-0.015, -0.66, -0.08), 5: (-0.03, -0.66, -0.08), 6: (-0.045, -0.66, -0.075),  # right eye
    7: (0.075, -0.64, 0.0), 8: (-0.075, -0.64, 0.0),  # ears
    9: (0.025, -0.58, -0.08), 10: (-0.025, -0.58, -0.08),  # mouth
    11: (0.18, -0.48, 0.0), 12: (-0.18, -0.48, 0.0),  # shoulders
    13: (0.20, -0.20, 0.02), 14: (-0.20, -0.20, 0.02),  # elbows
    15: (0.21, 0.05, 0.0), 16: (-0.21, 0.05, 0.0),  # wrists
    17: (0.215, 0.13, 0.01), 18: (-0.215, 0.13, 0.01),  # pinkies
    19: (0.205, 0.14, -0.01), 20: (-0.205, 0.14, -0.01),  # index fingers
    21: (0.195, 0.10, -0.03), 22: (-0.195, 0.10, -0.03),  # thumbs
    23: (0.10, 0.0, 0.0), 24: (-0.10, 0.0, 0.0),  # hips
    25: (0.10, 0.42, 0.0), 26: (-0.10, 0.42, 0.0),  # knees
    27: (0.10, 0.82, 0.02), 28: (-0.10, 0.82, 0.02),  # ankles
    29: (0.10, 0.87, 0.06), 30: (-0.10, 0.87, 0.06),  # heels
    31: (0.11, 0.88, -0.10), 32: (-0.11, 0.88, -0.10),  # toes
}  # fmt: skip
SIZE = ImageSize(1280, 720)


def camera_rotation(pitch_down_deg: float, roll_deg: float) -> Rotation:
    """How a camera tilted down by pitch_down_deg, then turned counterclockwise (seen from behind
    it) by roll_deg about its lens, sees a level world: the inverse of its own rotation."""
    # Seen from a camera looking down, an upright body's top comes nearer (-z); seen from a
    # camera turned counterclockwise, the body leans toward the image's right (+x).
    return Rotation.from_euler("z", roll_deg, degrees=True) * Rotation.from_euler(
        "x", pitch_down_deg, degrees=True
    )


def take(camera: Rotation, frames: int, seed: int) -> list[PoseFrame]:
    """frames of the standing pose seen by camera, each with its own noise."""
    rng = np.random.default_rng(seed)
    level = np.array([STANDING_M[i] for i in range(33)])
    blank = PoseFrame.empty(0, 0.0, SIZE, 478)
    shots = []
    for index in range(frames):
        world = camera.apply(level) + rng.normal(0.0, NOISE_M, level.shape)
        image = np.column_stack((0.5 + world[:, 0] / 2.5, 0.5 + world[:, 1] / 2.0, world[:, 2]))
        visible = np.ones((33, 1))
        shots.append(
            dataclasses.replace(
                blank,
                index=index,
                timestamp_s=index / 30,
                pose=frozen(np.hstack((image, visible)), 33, 4),
                pose_world=frozen(np.hstack((world, visible)), 33, 4),
            )
        )
    return shots


def bone_angles_deg(frames: list[PoseFrame], calibration: Calibration | None) -> dict[str, float]:
    """Each levelled bone's angle from identity at the end of the take, degrees, and those of
    the torso's top and the thighs in the world (the chain from the hips): a tilt the solver
    shares out along the spine shows whole there."""
    solver = AvatarSolver(PLAIN_SOLVER, calibration)
    avatar = [solver(frame) for frame in frames][-1]
    local = {bone: Rotation.from_quat(avatar.local_rotations[INDEX[bone]]) for bone in BONES}
    world = {
        "world UpperChest": local["Hips"] * local["Spine"] * local["Chest"] * local["UpperChest"],
        "world LeftUpperLeg": local["Hips"] * local["LeftUpperLeg"],
        "world RightUpperLeg": local["Hips"] * local["RightUpperLeg"],
    }
    levelled = {bone: local[bone] for bone in LEVELLED_BONES}
    return {name: float(np.degrees(r.magnitude())) for name, r in {**levelled, **world}.items()}


@pytest.mark.parametrize(("pitch_deg", "roll_deg"), [(15.0, 0.0), (0.0, 10.0), (15.0, -8.0)])
def test_a_calibrated_tilted_camera_leaves_spine_and_legs_neutral(
    pitch_deg: float, roll_deg: float
) -> None:
    camera = camera_rotation(pitch_deg, roll_deg)
    calibration = measure(take(camera, 30, seed=1))
    assert calibration.camera_pitch_deg == pytest.approx(pitch_deg, abs=1.0)
    assert calibration.camera_roll_deg == pytest.approx(roll_deg, abs=1.0)
    second_take = take(camera, 30, seed=2)
    assert max(bone_angles_deg(second_take, None).values()) > 0.6 * max(pitch_deg, roll_deg)
    assert max(bone_angles_deg(second_take, calibration).values()) < 3.0


def test_a_take_with_nobody_in_it_is_refused() -> None:
    with pytest.raises(Exception, match="no person was seen"):
        measure([PoseFrame.empty(0, 0.0, SIZE, 478)])


# --- the file ----------------------------------------------------------------------------------


def test_the_file_round_trips() -> None:
    calibration = measure(take(camera_rotation(12.0, 3.0), 10, seed=3), "a test take")
    text = encode(calibration, version="test", created_utc="2026-01-01T00:00:00+00:00")
    document = json.loads(text)
    assert document["schema"] == SCHEMA
    assert document["face"] is None  # the generated take has no face
    decoded = decode(text)
    assert decoded.camera_pitch_deg == pytest.approx(calibration.camera_pitch_deg, abs=1e-3)
    assert decoded.camera_roll_deg == pytest.approx(calibration.camera_roll_deg, abs=1e-3)
    assert (decoded.frames, decoded.source) == (10, "a test take")


@pytest.fixture(scope="module")
def recorded_calibration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`mocap calibrate --recording` on the real recording: no model, no camera."""
    path = tmp_path_factory.mktemp("calibration") / "neutral.json"
    result = run_mocap("calibrate", "--recording", RECORDING, "--seconds", "5", "-o", path)
    assert result.returncode == 0, result.stderr
    assert "calibration saved to" in result.stderr
    return path


def test_calibrate_on_a_recording_writes_the_file(recorded_calibration: Path) -> None:
    document = json.loads(recorded_calibration.read_text())
    assert document["schema"] == SCHEMA
    assert document["frames"] == 36  # every frame of the recording's 1.4 s
    assert document["source"] == str(RECORDING)
    assert abs(document["camera"]["pitch_deg"]) < 30.0
    assert abs(document["camera"]["roll_deg"]) < 10.0
    face = document["face"]
    assert 0.2 < face["eye_open_ratio"]["right"] < 0.4
    assert 0.2 < face["eye_open_ratio"]["left"] < 0.4
    assert 4.0 < face["mouth_width_cm"] < 7.0
    assert 1.5 < face["brow_height_cm"] < 3.5
    assert face["arkit_smile"] is None  # recorded before the blendshape model


def test_calibrate_on_a_video_runs_the_model(tmp_path: Path) -> None:
    path = tmp_path / "from-video.json"
    result = run_mocap("calibrate", "--video", VIDEO, "--no-realtime", "--seconds", "1", "-o", path)
    assert result.returncode == 0, result.stderr
    document = json.loads(path.read_text())
    assert document["frames"] >= 20  # 1 s of a 25 fps video, everyone found
    assert document["face"] is not None and document["source"].startswith("video")
    # The video's first second has no smile: a relaxed mouth, which the face models read as
    # 0.0-0.15 (legacy Holistic's face below 0.1, the Tasks one's about 0.14); a smile is > 0.5.
    assert 0.0 <= document["face"]["arkit_smile"] < 0.2


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("not json", "not JSON"),
        ('{"schema": "mocap.calibration/9"}', "schema"),
        ('{"schema": "mocap.calibration/1", "frames": 3}', "'camera' must be an object"),
        (
            '{"schema": "mocap.calibration/1", "frames": 3, "face": null,'
            ' "camera": {"pitch_deg": "up", "roll_deg": 0}}',
            "'pitch_deg' must be a number",
        ),
    ],
)
def test_a_bad_calibration_file_exits_2_with_one_line(
    tmp_path: Path, content: str, reason: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = run_mocap("replay", RECORDING, "--osc", "127.0.0.1:9", "--calibration", path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not a mocap calibration file" in lines[0], result.stderr
    assert reason in lines[0]


def test_a_missing_calibration_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = run_mocap("replay", RECORDING, "--osc", "127.0.0.1:9", "--calibration", missing)
    assert result.returncode == 2
    assert "cannot read the calibration file" in result.stderr


# --- applying it in replay -----------------------------------------------------------------------


def torso_rotations(calibration: Path) -> dict[int, Rotation]:
    """seq -> the upper chest's rotation in the world (Hips, Spine, Chest and UpperChest
    together: the solver shares a bow out between the hips and the spine), as a replay solving
    with calibration sends them over the WebSocket stream."""
    port = free_port()
    with MocapProcess(
        "replay",
        RECORDING,
        "--ws",
        f"127.0.0.1:{port}",
        "--solve",
        "--speed",
        "0.5",
        "--calibration",
        calibration,
    ) as mocap:
        mocap.wait_for_line(r"WebSocket on ws://")
        messages = receive_all(f"ws://127.0.0.1:{port}")
        assert mocap.wait() == 0, mocap.stderr()
    assert "with the calibration" in mocap.stderr()
    torso = {}
    for message in messages:
        if message["type"] == "frame":
            bones = message["bones"]
            quaternions = [bones["Hips"]["rotation"], *(bones[name] for name in TORSO_CHAIN[1:])]
            chain = [Rotation.from_quat(quaternion) for quaternion in quaternions]
            torso[message["seq"]] = chain[0] * chain[1] * chain[2] * chain[3]
    return torso


def test_replay_applies_the_calibration(recorded_calibration: Path, tmp_path: Path) -> None:
    document = json.loads(recorded_calibration.read_text())
    level = tmp_path / "level.json"
    level.write_text(json.dumps({**document, "camera": {"pitch_deg": 0.0, "roll_deg": 0.0}}))
    calibrated, uncorrected = torso_rotations(recorded_calibration), torso_rotations(level)
    common = sorted(set(calibrated) & set(uncorrected))
    assert len(common) >= 10
    pitch_deg = document["camera"]["pitch_deg"]
    for seq in common[-5:]:  # the solver eases the tracked bones in from rest over 0.7 s
        difference = calibrated[seq] * uncorrected[seq].inv()
        assert np.degrees(difference.magnitude()) == pytest.approx(abs(pitch_deg), abs=2.0)


# --- live recalibration over the WebSocket -------------------------------------------------------


def messages_until(client: Any, kinds: tuple[str, ...]) -> dict[str, Any]:
    while True:
        message = json.loads(client.recv(timeout=30))
        if message["type"] in kinds:
            return dict(message)


@pytest.fixture
def quick_calibration_config(tmp_path: Path) -> Path:
    config = tmp_path / "quick.toml"
    config.write_text("[solver]\ncalibration_countdown_s = 0.2\ncalibration_take_s = 0.5\n")
    return config


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "config-home"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    yield home


def test_a_websocket_client_recalibrates_a_replay(
    recorded_calibration: Path, tmp_path: Path, quick_calibration_config: Path
) -> None:
    in_use = tmp_path / "in-use.json"
    in_use.write_bytes(recorded_calibration.read_bytes())
    port = free_port()
    with MocapProcess(
        "replay", RECORDING, "--loop", "--ws", f"127.0.0.1:{port}", "--solve",
        "--calibration", in_use, "--config", quick_calibration_config,
    ) as mocap:  # fmt: skip
        mocap.wait_for_line(r"WebSocket on ws://")
        with connect(f"ws://127.0.0.1:{port}") as client:
            client.send(json.dumps({"type": "calibrate"}))
            answer = messages_until(client, ("calibrated", "calibration_failed"))
            assert answer["type"] == "calibrated", answer
            assert answer["file"] == str(in_use)
            assert answer["face"] is True and answer["frames"] >= 5
            assert messages_until(client, ("frame",))["bones"]  # frames go on
        mocap.process.terminate()
        assert mocap.wait() == 143
    saved = json.loads(in_use.read_text())
    assert saved["source"] == "live recalibration"
    assert saved["camera"]["pitch_deg"] == pytest.approx(answer["camera_pitch_deg"], abs=0.01)


def test_without_a_file_recalibration_saves_in_the_config_folder(
    config_home: Path, quick_calibration_config: Path
) -> None:
    port = free_port()
    with MocapProcess(
        "replay", RECORDING, "--loop", "--ws", f"127.0.0.1:{port}",
        "--config", quick_calibration_config,
    ) as mocap:  # fmt: skip
        mocap.wait_for_line(r"WebSocket on ws://")
        with connect(f"ws://127.0.0.1:{port}") as client:
            client.send(json.dumps({"type": "calibrate"}))
            answer = messages_until(client, ("calibrated", "calibration_failed"))
        saved_line = mocap.wait_for_line(r"calibrated \(saved to (.+?)\)")
        mocap.process.terminate()
        assert mocap.wait() == 143
    default = config_home / "mocap" / "calibration.json"
    assert answer["type"] == "calibrated" and answer["file"] == str(default)
    assert saved_line.group(1) == str(default)
    assert json.loads(default.read_text())["schema"] == SCHEMA


def test_a_server_without_calibration_answers_that_it_does_not_calibrate() -> None:
    with mocap_server('{"type": "hello"}') as server, connect(f"ws://{server.address}") as client:
        assert json.loads(client.recv(timeout=5))["type"] == "hello"
        client.send("not json: let go")
        client.send(json.dumps({"type": "calibrate"}))
        answer = json.loads(client.recv(timeout=5))
    assert answer["type"] == "calibration_failed"
    assert re.search("does not calibrate", answer["reason"])


# --- the preview's c key -------------------------------------------------------------------------


def test_c_in_the_preview_recalibrates_a_run(
    xvfb: XServer, recorded_calibration: Path, tmp_path: Path, quick_calibration_config: Path
) -> None:
    in_use = tmp_path / "in-use.json"
    in_use.write_bytes(recorded_calibration.read_bytes())
    with MocapProcess(
        "run", "--demo", "--solve", "--ws", "127.0.0.1:0", "--calibration", in_use,
        "--config", quick_calibration_config, display=xvfb.display,
    ) as mocap:  # fmt: skip
        window_id = wait_for_window(xvfb, mocap)
        # Keys reach the app once its window handles events: the same wait (and remedy) as the
        # other window tests, until the app's own colours are on the screen.
        counts = wait_for_colours(xvfb, window_id, [POSE_COLOUR, FACE_COLOUR], 30, timeout_s=20)
        assert min(counts) >= 30, f"the pose and face colours on the screen: {counts} px"
        xdotool(xvfb, "key", "--window", window_id, "c")
        mocap.wait_for_line(f"recalibrating; saving to {re.escape(str(in_use))}")
        mocap.wait_for_line(r"calibrated \(saved to ")
        xdotool(xvfb, "key", "--window", window_id, "q")
        assert mocap.wait(20) == 0, mocap.stderr()
    assert json.loads(in_use.read_text())["source"] == "live recalibration"
