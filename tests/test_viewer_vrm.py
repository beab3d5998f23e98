"""Load your VRM: minimal VRM 1.0 and 0.x models written here (plain struct and json, no model from
elsewhere) loads from the viewer's file input and follows the replayed stream; files that are
not VRM models get one clear message and the live view goes on."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from tests import test_viewer_avatar
from tests.chromium import Chromium, Page
from tests.test_viewer_avatar import (
    RAISED_BONE,
    RAISED_DEG,
    open_avatar,
    set_unmirror,
    settled_joints,
)

# The same replayed arm raise (the browser fixture is conftest's).
replay_port = test_viewer_avatar.replay_port

# The figure's bones (glTF's space: +Y up, the model facing +Z, its left hand at +X, as VRM 1.0
# wants): name, parent, offset from the parent (metres).
BONES = [
    ("hips", None, (0.0, 0.95, 0.0)),
    ("spine", "hips", (0.0, 0.15, 0.0)),
    ("head", "spine", (0.0, 0.5, 0.0)),
    ("leftUpperArm", "spine", (0.18, 0.33, 0.0)),
    ("leftLowerArm", "leftUpperArm", (0.24, 0.0, 0.0)),
    ("leftHand", "leftLowerArm", (0.21, 0.0, 0.0)),
    ("rightUpperArm", "spine", (-0.18, 0.33, 0.0)),
    ("rightLowerArm", "rightUpperArm", (-0.24, 0.0, 0.0)),
    ("rightHand", "rightLowerArm", (-0.21, 0.0, 0.0)),
    ("leftUpperLeg", "hips", (0.1, -0.05, 0.0)),
    ("leftLowerLeg", "leftUpperLeg", (0.0, -0.42, 0.0)),
    ("leftFoot", "leftLowerLeg", (0.0, -0.42, 0.0)),
    ("rightUpperLeg", "hips", (-0.1, -0.05, 0.0)),
    ("rightLowerLeg", "rightUpperLeg", (0.0, -0.42, 0.0)),
    ("rightFoot", "rightLowerLeg", (0.0, -0.42, 0.0)),
]
ARM_M = 0.24 + 0.21  # shoulder to wrist
TEXTURE_PX = (4, 2)  # height, width
FLOAT, UNSIGNED_BYTE = 5126, 5121
META = {
    "name": "mocap test figure",
    "version": "1",
    "authors": ["mocap's tests"],
    "licenseUrl": "https://vrm.dev/licenses/1.0/",
    "avatarPermission": "onlyAuthor",
    "commercialUsage": "personalNonProfit",
    "creditNotation": "required",
    "modification": "prohibited",
}


def bone_offsets(version: str | None) -> dict[str, npt.NDArray[np.float64]]:
    """Each bone's offset from its parent. VRM 0.x models face -Z: the figure turned about Y."""
    facing = np.array([-1.0, 1.0, -1.0]) if version == "0.x" else np.ones(3)
    return {name: np.multiply(offset, facing) for name, _, offset in BONES}


def world_positions(
    offsets: dict[str, npt.NDArray[np.float64]],
) -> dict[str, npt.NDArray[np.float64]]:
    positions: dict[str, npt.NDArray[np.float64]] = {}
    for name, parent, _ in BONES:
        positions[name] = (positions[parent] if parent else 0.0) + offsets[name]
    return positions


def vrm_extension(version: str, mesh_node: int) -> dict[str, Any]:
    """The VRM data: humanoid bones by node, and one expression (the mouth's "aa", VRM 0.x's
    "A") moving the mesh's morph target 0."""
    index = {name: i for i, (name, _, _) in enumerate(BONES)}
    if version == "1.0":
        aa = {"morphTargetBinds": [{"node": mesh_node, "index": 0, "weight": 1.0}]}
        return {
            "VRMC_vrm": {
                "specVersion": "1.0",
                "meta": META,
                "humanoid": {"humanBones": {name: {"node": index[name]} for name in index}},
                "expressions": {"preset": {"aa": aa}},
            }
        }
    a = {"name": "A", "presetName": "a", "binds": [{"mesh": 0, "index": 0, "weight": 100}]}
    return {
        "VRM": {
            "specVersion": "0.0",
            "meta": {"title": META["name"], "version": "1", "author": "mocap's tests"},
            "humanoid": {"humanBones": [{"bone": name, "node": index[name]} for name in index]},
            "blendShapeMaster": {"blendShapeGroups": [a]},
        }
    }


class BinaryBuffer:
    """glTF's one binary buffer, its views and accessors, built as arrays are added."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []

    def add_view(self, raw: bytes) -> int:
        """Append bytes as a buffer view; returns its index."""
        self.views.append({"buffer": 0, "byteOffset": len(self.data), "byteLength": len(raw)})
        self.data += raw + b"\0" * (-len(raw) % 4)
        return len(self.views) - 1

    def add(self, array: npt.NDArray[Any], kind: str, component: int) -> int:
        """Append array (one row per element); returns its accessor's index."""
        accessor = {
            "bufferView": self.add_view(array.tobytes()),
            "componentType": component,
            "count": len(array),
            "type": kind,
        }
        if kind == "VEC3":
            accessor["min"], accessor["max"] = array.min(0).tolist(), array.max(0).tolist()
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def figure_gltf(version: str | None) -> tuple[dict[str, Any], bytes]:
    """A skinned figure: one small triangle at each joint, bound to that joint alone, textured
    with an embedded TEXTURE_PX PNG (as VRM files embed theirs), and one morph target (the head's
    triangle moves up) that the VRM's "aa" expression drives; a VRM of that version, or a plain
    glTF (None)."""
    index = {name: i for i, (name, _, _) in enumerate(BONES)}
    offsets = bone_offsets(version)
    world = world_positions(offsets)
    corners = np.array([[-0.02, 0.0, 0.0], [0.02, 0.0, 0.0], [0.0, 0.03, 0.0]])
    positions = np.concatenate([world[name] + corners for name, _, _ in BONES]).astype("<f4")
    joints = np.zeros((len(positions), 4), "u1")
    joints[:, 0] = np.repeat(np.arange(len(BONES)), 3)
    weights = np.zeros((len(positions), 4), "<f4")
    weights[:, 0] = 1.0
    morph = np.zeros_like(positions)
    morph[3 * index["head"] : 3 * index["head"] + 3, 1] = 0.05
    inverse_binds = np.tile(np.eye(4, dtype="<f4"), (len(BONES), 1, 1))
    for i, (name, _, _) in enumerate(BONES):
        inverse_binds[i, 3, :3] = -world[name]  # column-major: the translation is the 4th column
    buffer = BinaryBuffer()
    attributes = {
        "POSITION": buffer.add(positions, "VEC3", FLOAT),
        "JOINTS_0": buffer.add(joints, "VEC4", UNSIGNED_BYTE),
        "WEIGHTS_0": buffer.add(weights, "VEC4", FLOAT),
        "TEXCOORD_0": buffer.add(np.full((len(positions), 2), 0.5, "<f4"), "VEC2", FLOAT),
    }
    texture = np.full((*TEXTURE_PX, 3), (40, 160, 220), np.uint8)
    png = buffer.add_view(cv2.imencode(".png", texture)[1].tobytes())
    target = {"POSITION": buffer.add(morph, "VEC3", FLOAT)}
    binds = buffer.add(inverse_binds.reshape(len(BONES), 16), "MAT4", FLOAT)
    nodes: list[dict[str, Any]] = [
        {"name": name, "translation": offsets[name].tolist()} for name, _, _ in BONES
    ]
    for name, parent, _ in BONES:
        if parent:
            nodes[index[parent]].setdefault("children", []).append(index[name])
    mesh_node = len(nodes)
    nodes.append({"name": "body", "mesh": 0, "skin": 0})
    gltf: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "mocap tests"},
        "scene": 0,
        "scenes": [{"nodes": [index["hips"], mesh_node]}],
        "nodes": nodes,
        "meshes": [
            {"primitives": [{"attributes": attributes, "targets": [target], "material": 0}]}
        ],
        "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
        "textures": [{"source": 0}],
        "images": [{"bufferView": png, "mimeType": "image/png"}],
        "skins": [{"joints": list(range(len(BONES))), "inverseBindMatrices": binds}],
        "accessors": buffer.accessors,
        "bufferViews": buffer.views,
        "buffers": [{"byteLength": len(buffer.data)}],
    }
    if version is not None:
        extension = vrm_extension(version, mesh_node)
        gltf["extensionsUsed"] = list(extension)
        gltf["extensions"] = extension
    return gltf, bytes(buffer.data)


def write_glb(path: Path, version: str | None = "1.0") -> Path:
    """The figure as a binary glTF (.glb / .vrm): header, JSON chunk, binary chunk."""
    gltf, data = figure_gltf(version)
    text = json.dumps(gltf).encode()
    text += b" " * (-len(text) % 4)
    chunks = struct.pack("<I4s", len(text), b"JSON") + text
    chunks += struct.pack("<I4s", len(data), b"BIN\0") + data
    path.write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks)
    return path


TEXTURE_SIZE = """(() => { let size = null; mocapViewer.model.scene.traverse((node) => {
  const map = node.material && node.material.map;
  if (map && map.image) size = [map.image.width, map.image.height]; }); return size; })()"""


def vrm_message(page: Page) -> str:
    text: str = page.wait_for(
        "(() => { const m = document.getElementById('vrm-message').textContent;"
        " return !m.startsWith('Loading') && m; })()"
    )
    return text


@pytest.mark.parametrize("version", ["1.0", "0.x"])
def test_a_vrm_model_loads_in_the_page_and_its_arm_follows_the_stream(
    browser: Chromium, replay_port: int, tmp_path: Path, version: str
) -> None:
    page = open_avatar(browser, replay_port)
    set_unmirror(page, False)
    page.set_file("#vrm-input", write_glb(tmp_path / "figure.vrm", version))
    assert vrm_message(page) == f"figure.vrm: VRM {version}"
    assert page.evaluate("mocapViewer.avatar.mannequin.root.visible") is False
    # The stream's VRM0 "A" reaches the model's VRM 1.0 "aa" preset, by name.
    assert page.evaluate("mocapViewer.model.expressionName('A')") == "aa"
    # Its embedded texture loaded: the page's policy lets it read the file's own blob: URLs.
    assert page.evaluate(TEXTURE_SIZE) == list(reversed(TEXTURE_PX))

    hand = RAISED_BONE[False]
    reader = "vrmBoneWorldPosition"
    down = settled_joints(page, hand, raised=False, arm_m=ARM_M, reader=reader)
    up = settled_joints(page, hand, raised=True, arm_m=ARM_M, reader=reader)
    rise_m = up["hand"][1] - down["hand"][1]
    expected_m = ARM_M * (1.0 - np.cos(np.radians(RAISED_DEG)))
    assert abs(rise_m - expected_m) < 0.1 * ARM_M, (rise_m, expected_m)
    assert up["hand"][0] < 0  # the model's right hand, on its right (three.js's -X)
    assert abs(up["other"][1] - down["other"][1]) < 0.1 * ARM_M


def test_a_file_that_is_not_a_vrm_gets_one_message_and_the_live_view_goes_on(
    browser: Chromium, replay_port: int, tmp_path: Path
) -> None:
    page = open_avatar(browser, replay_port)
    broken = tmp_path / "broken.vrm"
    broken.write_bytes(write_glb(tmp_path / "whole.vrm").read_bytes()[:600])  # cut short
    page.set_file("#vrm-input", broken)
    message = vrm_message(page)
    assert message.startswith("broken.vrm: not a VRM file (cannot read it as glTF: "), message
    assert page.evaluate("document.getElementById('vrm-message').className") == "error"

    page.set_file("#vrm-input", write_glb(tmp_path / "plain.glb", version=None))
    page.wait_for("document.getElementById('vrm-message').textContent.startsWith('plain.glb')")
    assert vrm_message(page) == "plain.glb: not a VRM file (a glTF model without VRM humanoid data)"

    frames = page.evaluate("mocapViewer.frames")
    page.wait_for(f"mocapViewer.frames > {frames + 10}")
    assert page.evaluate("mocapViewer.avatar.mannequin.root.visible && mocapViewer.model === null")
