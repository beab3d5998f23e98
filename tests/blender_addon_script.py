"""Run by tests/test_blender_addon.py with the bpy venv's Python: the add-on in real Blender.

Usage: python blender_addon_script.py PORT TOKEN ARMATURE.json
       python blender_addon_script.py shapes EXTENSION.zip SHAPE_KEYS.json PORT PORT_NO_BONES

Enables the add-on from the repository, builds a humanoid armature with VRM 0.x bone names (the
joints in ARMATURE.json, with a different roll on every bone so that rest orientations are not
trivial), connects to the mocap server on 127.0.0.1:PORT with TOKEN in the panel's Token field,
and applies frames by calling the add-on's timer function, as bpy.app.timers would (timers do not
run in background mode). It
checks empties, bones and keyframes against its own conversion of the frames (mathutils, written
out here rather than imported from the add-on), prints {"phase": "streamed", ...} and waits for
the test to stop the server, then prints {"phase": "done", ...} with the panel's state.

With "shapes": installs EXTENSION.zip as an extension (as Install from Disk does), gives a mesh
the shape keys named in SHAPE_KEYS.json, connects to PORT (frames with bones and ARKit weights),
checks the shape keys' values against the frames' weights by name and the keyframes Record puts
on them, then connects to PORT_NO_BONES (frames without bones, some without a face) and reports
what the panel says; prints one {"phase": "shapes", ...}.
"""

from __future__ import annotations  # noqa: I001 - bpy must come before addon_utils and mathutils

import importlib
import json
import math
import sys
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bpy  # first: it puts Blender's own modules (addon_utils, mathutils) on the path
import addon_utils
from mathutils import Quaternion, Vector

if TYPE_CHECKING:  # at run time the add-on is importable only once main() put it on sys.path
    from mocap_blender.protocol import Frame, Hello

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 20.0
OTHER_KEY_VALUE = 0.25  # what the shape keys start at: one that is not ARKit's must keep it
# The armature's bones: [{"unity", "name", "parent", "head", "tail"}], parents first.
Spec = list[dict[str, Any]]


def log(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


def build_armature(spec: Spec) -> Any:
    """spec: [{"unity", "name", "parent", "head", "tail"}] in Blender space, parents first."""
    data = bpy.data.armatures.new("humanoid")
    armature = bpy.data.objects.new("humanoid", data)
    bpy.context.scene.collection.objects.link(armature)
    bpy.context.view_layer.objects.active = armature
    bpy.ops.object.mode_set(mode="EDIT")
    for index, bone in enumerate(spec):
        edit_bone = data.edit_bones.new(bone["name"])
        edit_bone.head, edit_bone.tail = bone["head"], bone["tail"]
        edit_bone.roll = 0.37 * index
        if bone["parent"]:
            edit_bone.parent = data.edit_bones[bone["parent"]]
    bpy.ops.object.mode_set(mode="OBJECT")
    return armature


class LayoutProbe:
    """Stands in for the panel's UILayout (there is none without a window): records the labels
    and operators that draw() puts up, and checks that every property it shows exists."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.operators: list[str] = []

    def column(self, **_options: Any) -> LayoutProbe:
        return self

    row = box = grid_flow = column

    def label(self, text: str = "", **_options: Any) -> None:
        self.labels.append(text)

    def operator(self, idname: str, **_options: Any) -> None:
        self.operators.append(idname)

    def prop(self, data: Any, name: str, **_options: Any) -> None:
        assert name in data.bl_rna.properties, name


def draw_panel(ui: types.ModuleType) -> dict[str, list[str]]:
    """What the panel shows now: {"labels": [...], "operators": [...]}."""
    probe = LayoutProbe()
    ui.MOCAP_PT_panel.draw(types.SimpleNamespace(layout=probe), bpy.context)
    return {"labels": probe.labels, "operators": probe.operators}


def has_hand(frame: Frame) -> bool:
    return bool(frame.parts["left_hand"] or frame.parts["right_hand"])


def metarig_t_pose(spec: Spec) -> tuple[int, float]:
    """Rigify's human metarig (an A-pose, curled fingers) given the rest pose of the stream:
    with T-pose correction each mapped bone must point as in the stream's T-pose (the
    directions of the spec's armature). Returns (bones mapped, worst angle in degrees)."""
    from mocap_blender.protocol import Frame  # noqa: PLC0415 - on sys.path once main() ran
    from mocap_blender.scene import ArmatureDriver  # noqa: PLC0415

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    metarig = bpy.context.object
    bpy.ops.object.mode_set(mode="OBJECT")
    at_rest = Frame(0, 0.0, (640, 480), {}, {b["unity"]: (0.0, 0.0, 0.0, 1.0) for b in spec})
    driver = ArmatureDriver()
    driver.apply(metarig, at_rest, "RIGIFY_METARIG", True, False)
    bpy.context.view_layer.update()
    worst = 0.0
    for bone in spec:
        name = driver.mapping.get(bone["unity"])
        if name is None:
            continue
        pose_bone = metarig.pose.bones[name]
        expected = Vector(bone["tail"]) - Vector(bone["head"])
        worst = max(worst, math.degrees((pose_bone.tail - pose_bone.head).angle(expected)))
    return len(driver.mapping), worst


def run_until(
    condition: Callable[[], bool], tick: Callable[[], object], timeout_s: float = TIMEOUT_S
) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        tick()
        time.sleep(0.005)
    return True


def expected_basis(pose_bone: Any, unity_xyzw: Sequence[float]) -> Any:
    """Rest^-1 L Rest, L the Unity rotation in Blender's space: (x, y, z, w) -> (w, x, z, -y)."""
    x, y, z, w = unity_xyzw
    local = Quaternion((w, x, z, -y)).normalized()
    rest = pose_bone.bone.matrix_local.to_quaternion()
    return rest.inverted() @ local @ rest


def rotation_error(actual: Any, expected: Any) -> float:
    """Radians between two rotations (either sign of a quaternion)."""
    dot = min(1.0, abs(Quaternion(actual).normalized().dot(expected.normalized())))
    return 2 * math.acos(dot)


def check_empties(frame: Frame, hello: Hello, part: str) -> float:
    """Largest distance between a part's empties and its landmarks converted here."""
    names = hello.names["hand" if part.endswith("_hand") else "pose"]
    aspect = frame.size[0] / frame.size[1]
    points = frame.parts[part]
    assert points is not None, f"no {part} in the frame"
    worst = 0.0
    for index, name in enumerate(names):
        x, y, z = points[index][:3]
        if part == "pose_world":
            expected = Vector((x, z, -y))
        else:
            expected = Vector(((x - 0.5) * aspect, z * aspect, 0.5 - y))
        worst = max(worst, (bpy.data.objects[f"{part}.{name}"].location - expected).length)
    return worst


def keyframe_frames(action_owner: Any, data_path_start: str) -> list[int]:
    """The frame numbers keyed on channels whose path starts with data_path_start."""
    animation = action_owner.animation_data
    if animation is None or animation.action is None:
        return []
    action = animation.action
    if hasattr(action, "fcurves") and not getattr(action, "is_action_layered", False):
        curves = action.fcurves
    else:  # Blender 4.4+: layered actions keep their curves in channelbags
        from bpy_extras.anim_utils import action_get_channelbag_for_slot  # noqa: PLC0415

        bag = action_get_channelbag_for_slot(action, animation.action_slot)
        curves = bag.fcurves if bag else []
    return sorted(
        {round(p.co.x) for c in curves if c.data_path.startswith(data_path_start)
         for p in c.keyframe_points}
    )  # fmt: skip


def live_checks(ui: types.ModuleType, armature: Any, spec: Spec) -> dict[str, Any]:
    """Empties and bones follow the stream, as converted here."""
    result: dict[str, Any] = {}
    first = {o.name: o.location.copy() for o in bpy.data.collections["mocap landmarks"].objects}
    # The recording finds a hand in its last frames only: go on until one was applied.
    result["hand_found"] = run_until(
        lambda: ui.runtime.applied >= 8 and has_hand(ui.runtime.last_frame), ui.tick
    )
    frame = ui.runtime.last_frame
    after = {o.name: o.location.copy() for o in bpy.data.collections["mocap landmarks"].objects}
    result["empties"] = len(after)
    result["empties_moved"] = sum((after[n] - first[n]).length > 1e-4 for n in first)
    hello = ui.runtime.session.hello
    present = [p for p in ("pose_world", "pose", "left_hand", "right_hand") if frame.parts[p]]
    result["empty_error"] = {p: check_empties(frame, hello, p) for p in present}
    errors = []
    for bone in spec:
        pose_bone = armature.pose.bones[bone["name"]]
        expected = expected_basis(pose_bone, frame.bones[bone["unity"]])
        errors.append(rotation_error(pose_bone.rotation_quaternion, expected))
    result["bones_compared"] = len(errors)
    result["bone_error_max"] = max(errors)
    result["bones_turned"] = sum(
        rotation_error(pb.rotation_quaternion, Quaternion()) > 0.05 for pb in armature.pose.bones
    )
    result["panel_summary"] = ui.runtime.driver.summary
    result["panel_live"] = draw_panel(ui)
    return result


def record_some(ui: types.ModuleType, settings: Any) -> list[int]:
    """Record on for 6 applied frames; the scene frames they must be keyed at, round(t x fps)."""
    settings.record = True
    recorded_from = ui.runtime.applied
    times: set[float] = set()

    def recorded_enough() -> bool:
        if ui.runtime.applied > recorded_from:
            times.add(ui.runtime.last_frame.t_s)
        return bool(ui.runtime.applied >= recorded_from + 6)

    run_until(recorded_enough, ui.tick)
    settings.record = False
    return sorted({round(t * 30) for t in times})


def record_checks(ui: types.ModuleType, settings: Any, armature: Any) -> dict[str, list[int]]:
    """Keyframes land at round(t x fps) for the frames applied while Record is on."""
    expected = record_some(ui, settings)
    return {
        "bone_keys": keyframe_frames(armature, 'pose.bones["leftUpperArm"].rotation_quaternion'),
        "empty_keys": keyframe_frames(bpy.data.objects["pose_world.left_wrist"], "location"),
        "expected_keys": expected,
    }


def stop_checks(ui: types.ModuleType) -> dict[str, Any]:
    """After the test stopped the server: the panel's state, then Disconnect and unregister."""
    session = ui.runtime.session
    result: dict[str, Any] = {}
    run_until(lambda: session.status().ended != "", ui.tick, timeout_s=15.0)
    result["status_after_stop"] = session.status().__dict__
    result["panel_stopped"] = draw_panel(ui)
    run_until(lambda: session.status().error != "", ui.tick, timeout_s=5.0)
    result["panel_retrying"] = draw_panel(ui)
    bpy.ops.mocap.disconnect()
    session.stop(wait_s=5.0)
    result["running_after_disconnect"] = session.running
    result["state_after_disconnect"] = session.status().state
    result["panel_disconnected"] = draw_panel(ui)
    addon_utils.disable("mocap_blender", default_set=True)
    result["unregistered"] = not hasattr(bpy.types.Scene, "mocap")
    return result


def install_extension(archive: str) -> types.ModuleType:
    """The add-on's ui module, installed from archive into the user's extensions and enabled."""
    installed = bpy.ops.extensions.package_install_files(
        filepath=archive, repo="user_default", enable_on_install=True
    )
    assert installed == {"FINISHED"}, installed
    return importlib.import_module("bl_ext.user_default.mocap.ui")


def mesh_with_shape_keys(key_names: list[str]) -> Any:
    """A triangle with a Basis and one shape key per name, each moving a vertex, all at
    OTHER_KEY_VALUE."""
    data = bpy.data.meshes.new("face")
    data.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    mesh = bpy.data.objects.new("face", data)
    bpy.context.scene.collection.objects.link(mesh)
    mesh.shape_key_add(name="Basis")
    for name in key_names:
        block = mesh.shape_key_add(name=name, from_mix=False)
        block.data[0].co.z = 0.01
        block.value = OTHER_KEY_VALUE
    return mesh


def shape_key_errors(ui: types.ModuleType, mesh: Any) -> dict[str, float]:
    """Each shape key's distance from the last applied frame's weight of its name (ignoring
    case), for the keys that have one."""
    weights = {name.lower(): w for name, w in ui.runtime.last_frame.arkit.items()}
    return {
        block.name: abs(block.value - weights[block.name.lower()])
        for block in mesh.data.shape_keys.key_blocks
        if block.name.lower() in weights
    }


def shapes_main(archive: str, key_names: list[str], port: int, port_no_bones: int) -> None:
    ui = install_extension(archive)
    scene = bpy.context.scene
    scene.render.fps = 30
    mesh = mesh_with_shape_keys(key_names)
    settings = scene.mocap
    settings.face_mesh = mesh
    settings.show_pose_world = settings.show_hands = False
    settings.port = port
    assert bpy.ops.mocap.connect() == {"FINISHED"}
    result: dict[str, Any] = {"module": ui.__name__}
    result["connected"] = run_until(lambda: ui.runtime.applied >= 3, ui.tick)
    errors = shape_key_errors(ui, mesh)
    result["keys_compared"], result["key_error_max"] = len(errors), max(errors.values())
    result["keys_set"] = sum(
        abs(block.value - OTHER_KEY_VALUE) > 1e-3 for block in mesh.data.shape_keys.key_blocks
    )
    result["other_key"] = mesh.data.shape_keys.key_blocks["Joy"].value
    result["panel_with_bones"] = draw_panel(ui)

    result["expected_keys"] = record_some(ui, settings)
    result["key_keys"] = keyframe_frames(mesh.data.shape_keys, 'key_blocks["EyeBlinkLeft"]')

    settings.port = port_no_bones
    assert bpy.ops.mocap.connect() == {"FINISHED"}

    def has_face(face: bool) -> bool:
        frame = ui.runtime.last_frame  # None until the new connection's first frame
        return frame is not None and (frame.arkit is not None) == face

    run_until(lambda: has_face(False), ui.tick)
    result["panel_without_face"] = draw_panel(ui)
    run_until(lambda: has_face(True), ui.tick)
    result["panel_without_bones"] = draw_panel(ui)
    result["key_error_max_without_bones"] = max(shape_key_errors(ui, mesh).values())
    bpy.ops.mocap.disconnect()
    ui.runtime.session.stop(wait_s=5.0)
    log({"phase": "shapes", **result})


def armature_main(port: int, token: str, spec_path: Path) -> None:
    sys.path.insert(0, str(REPO / "clients" / "blender"))
    module = addon_utils.enable("mocap_blender", default_set=True, handle_error=None)
    from mocap_blender import ui  # noqa: PLC0415 - on sys.path only now

    result: dict[str, Any] = {"addon": module.__name__}
    scene = bpy.context.scene
    scene.render.fps = 30
    spec = json.loads(spec_path.read_text())
    armature = build_armature(spec)
    settings = scene.mocap
    settings.port = port
    settings.armature = armature
    settings.bone_map = "VRM"
    settings.show_pose = True
    bpy.context.window_manager.mocap_token = token
    assert bpy.ops.mocap.connect() == {"FINISHED"}

    result["connected"] = run_until(lambda: ui.runtime.applied >= 1, ui.tick)
    if result["connected"]:
        result.update(live_checks(ui, armature, spec))
        result.update(record_checks(ui, settings, armature))
        result["metarig_mapped"], result["metarig_worst_deg"] = metarig_t_pose(spec)
    else:
        result["panel"] = draw_panel(ui)
    log({"phase": "streamed", **result})
    if result["connected"]:
        log({"phase": "done", **result, **stop_checks(ui)})


def main() -> None:
    if sys.argv[1] == "shapes":
        archive, keys_path, port, port_no_bones = sys.argv[2:6]
        key_names = json.loads(Path(keys_path).read_text())
        shapes_main(archive, key_names, int(port), int(port_no_bones))
    else:
        armature_main(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))


if __name__ == "__main__":
    main()
