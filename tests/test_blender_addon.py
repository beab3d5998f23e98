"""The Blender add-on (clients/blender) in real Blender: bpy from PyPI in its own venv.

`mocap replay` publishes a small recording (with solved bones) in a loop, with a token (the
engine clients' tests/live_replay.py); a Blender script (tests/blender_addon_script.py) enables
the add-on, connects, applies frames and checks empties, bones and keyframes; then this test
stops the server and the script reports the panel's state.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mocap.skeleton import ARKIT_NAMES
from mocap.solve.humanoid import BONES, PARENTS, REST_ROTATIONS, TIP_OFFSETS, forward_kinematics

from .live_replay import TOKEN, publishing, replay, stop_replay, stream_frames
from .runs import REPO
from .support import free_port

# .ci/run installs Blender's bpy module (this version) in its own venv: it pins its own numpy.
BLENDER_PYTHON = REPO / ".venv-blender" / "bin" / "python"
BPY_VERSION = "5.0.1"
BUILD_ZIP = REPO / "clients" / "blender" / "build_zip.py"
SCRIPT = Path(__file__).with_name("blender_addon_script.py")
# Where a bone with several children points: at one of them, or (None) at its tip. The others
# point at their only child, or their tip.
MAIN_CHILD = {"Hips": "Spine", "UpperChest": "Neck", "Head": None, "LeftHand": "LeftMiddleProximal",
              "RightHand": "RightMiddleProximal"}  # fmt: skip


def to_blender(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Unity (x, y, z) -> Blender (-x, -z, y): the avatar faces -Y with Z up."""
    return np.stack([-points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def armature_spec() -> list[dict[str, Any]]:
    """mocap's rest avatar as bones with VRM 0.x names, head at each joint, tail at the main
    child's joint (or the leaf's tip), in Blender's space."""
    joints, _ = forward_kinematics(REST_ROTATIONS)
    children: dict[int, list[int]] = {}
    for index, parent in enumerate(PARENTS):
        children.setdefault(int(parent), []).append(index)
    spec = []
    for index, name in enumerate(BONES):
        kids = children.get(index, [])
        child = MAIN_CHILD.get(name, BONES[kids[0]] if kids else None)
        tail = joints[BONES.index(child)] if child else joints[index] + TIP_OFFSETS[index]
        parent = BONES[PARENTS[index]] if PARENTS[index] >= 0 else None
        spec.append({
            "unity": name,
            "name": name[0].lower() + name[1:],
            "parent": parent[0].lower() + parent[1:] if parent else None,
            "head": to_blender(joints[index]).tolist(),
            "tail": to_blender(tail).tolist(),
        })  # fmt: skip
    return spec


def _lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)
    into.put("")  # the script ended


def _next_json(lines: queue.Queue[str], timeout_s: float, seen: list[str]) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if not line:
            break
        seen.append(line)
        if line.startswith("{"):
            return dict(json.loads(line))
    raise AssertionError("no result from the Blender script:\n" + "".join(seen))


def blender_env(tmp_path: Path) -> dict[str, str]:
    """Blender's user folders (preferences, add-ons, extensions) in tmp_path, not in ~."""
    assert BLENDER_PYTHON.exists(), (
        f"{BLENDER_PYTHON} is missing: Blender's bpy module is installed there by .ci/run "
        "(python3.11 -m venv .venv-blender && .venv-blender/bin/pip install bpy==5.0.1)"
    )
    return {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / "blender-user")}


INSTALL_EXTENSION = """
import sys, bpy
installed = bpy.ops.extensions.package_install_files(
    filepath=sys.argv[1], repo="user_default", enable_on_install=True
)
module = sys.modules["bl_ext.user_default.mocap"]
print(installed == {"FINISHED"}, module.__file__, hasattr(bpy.types.Scene, "mocap"),
      bpy.context.preferences.addons.find("bl_ext.user_default.mocap") >= 0,
      bpy.app.version_string)
"""


def build_extension(out_dir: Path) -> Path:
    """The add-on's zip, built by Blender's own `extension build` (through build_zip.py)."""
    build = subprocess.run(
        [BLENDER_PYTHON, BUILD_ZIP, out_dir],
        env=blender_env(out_dir), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    return Path(build.stdout.splitlines()[-1])


def test_the_extension_builds_and_installs_from_disk(tmp_path: Path) -> None:
    archive = build_extension(tmp_path)
    with zipfile.ZipFile(archive) as contents:
        manifest = contents.read("blender_manifest.toml").decode()
        assert {"__init__.py", "ui.py", "wsclient.py"} < set(contents.namelist())
    for line in ('id = "mocap"', 'type = "add-on"', 'blender_version_min = "4.2.0"'):
        assert re.search(f"^{line}$", manifest, re.MULTILINE), line
    assert re.search(r"^\[permissions\]\nnetwork = ", manifest, re.MULTILINE)
    # What Get Extensions > Install from Disk does, in a new user's folders.
    run = subprocess.run(
        [BLENDER_PYTHON, "-c", INSTALL_EXTENSION, archive],
        env=blender_env(tmp_path), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    installed, path, registered, enabled, version = run.stdout.split()[-5:]
    assert installed == "True", run.stdout + run.stderr
    assert Path(path) == tmp_path / "blender-user/extensions/user_default/mocap/__init__.py"
    assert (registered, enabled, version) == ("True", "True", BPY_VERSION)


def drive_blender(env: dict[str, str], spec: Path) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Replay the recording in a loop (with a token), run the Blender script against it, stop
    the server once the script has streamed; returns the port and the script's two results."""
    port = free_port()
    with replay(port) as server:
        blender = subprocess.Popen(
            [str(BLENDER_PYTHON), str(SCRIPT), str(port), TOKEN, str(spec)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        assert blender.stdout is not None
        threading.Thread(target=_lines, args=(blender.stdout, lines), daemon=True).start()
        seen: list[str] = []
        try:
            streamed = _next_json(lines, 40, seen)
            stop_replay(server)
            done = _next_json(lines, 30, seen)
            assert blender.wait(10) == 0, "".join(seen)
        finally:
            if blender.poll() is None:
                blender.kill()
            blender.wait(10)
            blender.stdout.close()
    return port, streamed, done


def test_addon_drives_blender_from_a_replay(tmp_path: Path) -> None:
    env = blender_env(tmp_path)
    spec = tmp_path / "armature.json"
    spec.write_text(json.dumps(armature_spec()))
    port, streamed, done = drive_blender(env, spec)

    assert streamed["phase"] == "streamed" and streamed["connected"], streamed
    assert streamed["addon"] == "mocap_blender"
    # Empties: created for every enabled part, moving, where the conversion puts them.
    assert streamed["empties"] >= 33 + 33 + 21 + 2
    assert streamed["empties_moved"] > 10
    assert streamed["hand_found"]
    assert {"pose_world", "pose"} < set(streamed["empty_error"])
    assert max(streamed["empty_error"].values()) < 1e-5, streamed["empty_error"]
    # Bones: all 55 took the stream's rotations, converted into each bone's rest axes.
    assert streamed["bones_compared"] == 55
    assert streamed["bone_error_max"] < 1e-3, streamed["bone_error_max"]
    assert streamed["bones_turned"] >= 5
    assert streamed["panel_summary"] == "55 of 55 bones mapped"
    live = streamed["panel_live"]
    assert live["operators"] == ["mocap.disconnect"]
    assert f"Connected to 127.0.0.1:{port}" in live["labels"]
    assert "55 of 55 bones mapped" in live["labels"]
    # Rigify's A-pose metarig, given the stream's rest pose, stands in the stream's T-pose.
    assert streamed["metarig_mapped"] == 54  # all but the jaw
    assert streamed["metarig_worst_deg"] < 0.5, streamed["metarig_worst_deg"]
    # Recording: keyframes at round(t x 30 fps) for the frames applied while recording.
    assert len(streamed["bone_keys"]) >= 5
    assert set(streamed["bone_keys"]) <= set(streamed["expected_keys"]), streamed
    assert streamed["empty_keys"] == streamed["bone_keys"]
    # The stopped server, as the panel shows it; then Disconnect ends the session.
    assert done["phase"] == "done"
    assert done["status_after_stop"]["ended"] == "server stopped", done
    assert "Disconnected: server stopped" in done["panel_stopped"]["labels"], done
    assert done["status_after_stop"]["state"] in ("retrying", "connecting"), done
    refused = f"Last error: no server at 127.0.0.1:{port} (connection refused)"
    assert refused in done["panel_retrying"]["labels"], done
    assert done["panel_retrying"]["operators"] == ["mocap.disconnect"]  # still trying
    assert not done["running_after_disconnect"]
    assert done["state_after_disconnect"] == "disconnected"
    assert done["panel_disconnected"]["operators"] == ["mocap.connect"]
    assert "Disconnected" in done["panel_disconnected"]["labels"]
    assert done["unregistered"]


def shape_key_names() -> list[str]:
    """ARKit's names for a mesh's shape keys: PascalCase (VRoid's) and camelCase alternately,
    the last five missing; and one that is not ARKit's."""
    names = [n[0].upper() + n[1:] if i % 2 == 0 else n for i, n in enumerate(ARKIT_NAMES[:-5])]
    return [*names, "Joy"]


def test_addon_drives_arkit_shape_keys_and_says_when_there_are_no_bones(tmp_path: Path) -> None:
    archive = build_extension(tmp_path)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(shape_key_names()))
    with (
        publishing(stream_frames(bones=True)) as port,
        publishing(stream_frames(bones=False)) as port_no_bones,
    ):
        run = subprocess.run(
            [BLENDER_PYTHON, SCRIPT, "shapes", archive, keys, str(port), str(port_no_bones)],
            env=blender_env(tmp_path), capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["module"] == "bl_ext.user_default.mocap.ui" and result["connected"], result
    # Every ARKit-named key, in either case, holds its weight; the other key is left alone.
    assert result["keys_compared"] == len(ARKIT_NAMES) - 5
    assert result["key_error_max"] < 1e-6, result
    assert result["keys_set"] >= 40  # moved from where they started (Basis and Joy did not)
    assert result["other_key"] == 0.25  # as the script made it
    with_bones = result["panel_with_bones"]["labels"]
    assert f"{len(ARKIT_NAMES) - 5} of {len(ARKIT_NAMES)} ARKit shape keys found" in with_bones
    assert "No bones in the stream:" not in with_bones
    # Record keys the shape keys at round(t x fps).
    assert len(result["key_keys"]) >= 5
    assert set(result["key_keys"]) <= set(result["expected_keys"]), result
    # Without a solver the panel says why the armature stands still; without a face, why the
    # shape keys do; the shape keys still follow the weights.
    for panel in ("panel_without_face", "panel_without_bones"):
        labels = result[panel]["labels"]
        assert [line for line in labels if "bones in" in line or "--solve" in line] == [
            "No bones in the stream:",
            "start mocap with --solve or --vmc",
        ], labels
    assert "No ARKit weights in the stream:" in result["panel_without_face"]["labels"]
    assert "No ARKit weights in the stream:" not in result["panel_without_bones"]["labels"]
    assert result["key_error_max_without_bones"] < 1e-6
