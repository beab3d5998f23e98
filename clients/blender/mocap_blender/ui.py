"""The panel (View3D sidebar, tab "mocap"), its settings and operators, and the timer that applies
frames. Uses bpy.

Network reads happen on the session's thread (session.py); tick() runs on the main thread from
bpy.app.timers, takes the newest frame and applies it, so a slow network or a busy scene never
freezes the UI. In background mode (blender -b, the tests) timers may not run: call tick().
"""

# No `from __future__ import annotations`: Blender reads the property annotations of
# MocapSettings as objects when it registers the class.
import os
from dataclasses import dataclass, field

import bpy

from . import names, scene
from .protocol import Frame
from .session import Session, status_lines

TICK_S = 1 / 60  # apply at up to 60 fps; the stream is usually 25-30
# Two short lines each: the sidebar is narrow.
NO_BONES = ("No bones in the stream:", "start mocap with --solve or --vmc")
NO_ARKIT = ("No ARKit weights in the stream:", "no face, or [model] arkit = false")


@dataclass
class Runtime:
    """What lives between ticks: never saved in the .blend."""

    session: Session | None = None
    empties: scene.LandmarkEmpties = field(default_factory=scene.LandmarkEmpties)
    driver: scene.ArmatureDriver = field(default_factory=scene.ArmatureDriver)
    shapes: scene.ShapeKeyDriver = field(default_factory=scene.ShapeKeyDriver)
    last_frame: Frame | None = None  # the last frame applied
    applied: int = 0
    last_recorded: int | None = None  # the scene frame of the last keyframes


runtime = Runtime()


def tick() -> float | None:
    """The timer: apply the newest frame, redraw the panel; None (stop) once the session ends."""
    session = runtime.session
    if session is None:
        return None
    frame = session.take()
    if frame is not None:
        apply_frame(bpy.context.scene, frame)
    _redraw_panels()
    return TICK_S if session.running else None


def apply_frame(target: bpy.types.Scene, frame: Frame) -> None:
    """Empties, armature, shape keys and (with Record on) keyframes for one frame."""
    settings = target.mocap
    hello = runtime.session.hello if runtime.session else None
    parts = scene.Parts(settings.show_pose_world, settings.show_pose, settings.show_hands,
                        settings.show_face)  # fmt: skip
    moved = runtime.empties.update(target, frame, hello, parts)
    keyed: scene.Keyed = []
    if settings.armature is not None and settings.drive_armature:
        keyed += runtime.driver.apply(
            settings.armature, frame, settings.bone_map, settings.correct_rest,
            settings.move_hips,
        )  # fmt: skip
    if settings.face_mesh is not None and settings.drive_shape_keys and frame.arkit:
        keyed += runtime.shapes.apply(settings.face_mesh, frame.arkit)
    if settings.record:
        runtime.last_recorded = scene.record_frame(target, frame, moved, keyed)
    runtime.last_frame = frame
    runtime.applied += 1


def _redraw_panels() -> None:
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


def _is_armature(_settings: bpy.types.PropertyGroup, obj: bpy.types.Object) -> bool:
    return obj.type == "ARMATURE"


def _is_mesh(_settings: bpy.types.PropertyGroup, obj: bpy.types.Object) -> bool:
    return obj.type == "MESH"


_BONE_MAPS = [
    (names.VRM, "VRM", "VRM Add-on's humanoid table, or bones named with VRM 0.x names"),
    (names.UNITY, "Unity humanoid", "Bones named like Unity's HumanBodyBones (Hips, LeftUpperArm)"),
    (names.RIGIFY_METARIG, "Rigify metarig", "Rigify's human metarig names (spine, upper_arm.L)"),
    (names.RIGIFY_DEF, "Rigify DEF-", "A Rigify rig's deform bones (DEF-upper_arm.L)"),
]


class MocapSettings(bpy.types.PropertyGroup):
    host: bpy.props.StringProperty(name="Host", default="127.0.0.1")
    port: bpy.props.IntProperty(name="Port", default=8765, min=1, max=65535)
    show_pose_world: bpy.props.BoolProperty(
        name="Body (metres)", default=True, description="pose_world: 33 empties, metres"
    )
    show_pose: bpy.props.BoolProperty(
        name="Body (image)", default=False, description="pose: 33 empties on the image plane"
    )
    show_hands: bpy.props.BoolProperty(
        name="Hands", default=True, description="2 x 21 empties on the image plane"
    )
    show_face: bpy.props.BoolProperty(
        name="Face", default=False, description="478 empties on the image plane"
    )
    drive_armature: bpy.props.BoolProperty(name="Drive armature", default=True)
    armature: bpy.props.PointerProperty(name="Armature", type=bpy.types.Object, poll=_is_armature)
    bone_map: bpy.props.EnumProperty(name="Bone names", items=_BONE_MAPS, default=names.VRM)
    correct_rest: bpy.props.BoolProperty(
        name="T-pose correction",
        default=True,
        description="Swing bones whose rest pose is not a T-pose (an A-pose's arms) onto it",
    )
    move_hips: bpy.props.BoolProperty(
        name="Move hips", default=True, description="Apply the stream's hips height"
    )
    drive_shape_keys: bpy.props.BoolProperty(
        name="Drive shape keys",
        default=True,
        description="Set the mesh's shape keys named like ARKit's (eyeBlinkLeft or EyeBlinkLeft)",
    )
    face_mesh: bpy.props.PointerProperty(
        name="Mesh", type=bpy.types.Object, poll=_is_mesh,
        description="The mesh with ARKit-named shape keys (Perfect Sync), usually the face",
    )  # fmt: skip
    record: bpy.props.BoolProperty(
        name="Record",
        default=False,
        description="Keyframe what arrives, at frame = stream time x scene fps",
    )


class MOCAP_OT_connect(bpy.types.Operator):  # noqa: N801 - Blender requires this form
    """Connect to a running `mocap run` or `mocap replay`"""

    bl_idname = "mocap.connect"
    bl_label = "Connect"

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.mocap
        if runtime.session is not None:
            runtime.session.stop()
        # The rest pose and the shape keys may have been edited since the last connection.
        runtime.driver, runtime.shapes = scene.ArmatureDriver(), scene.ShapeKeyDriver()
        runtime.last_frame = None
        token = context.window_manager.mocap_token or os.environ.get("MOCAP_TOKEN", "")
        runtime.session = Session(settings.host.strip(), settings.port, token)
        runtime.session.start()
        if not bpy.app.timers.is_registered(tick):
            bpy.app.timers.register(tick, first_interval=TICK_S)
        return {"FINISHED"}


class MOCAP_OT_disconnect(bpy.types.Operator):  # noqa: N801 - Blender requires this form
    """Close the connection (the scene keeps the last pose)"""

    bl_idname = "mocap.disconnect"
    bl_label = "Disconnect"

    def execute(self, context: bpy.types.Context) -> set[str]:
        if runtime.session is not None:
            runtime.session.stop()  # the thread closes the socket; nothing blocks here
        return {"FINISHED"}


class MOCAP_PT_panel(bpy.types.Panel):  # noqa: N801 - Blender requires this form
    bl_label = "mocap"
    bl_idname = "MOCAP_PT_panel"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "mocap"

    def draw(self, context: bpy.types.Context) -> None:
        settings = context.scene.mocap
        layout = self.layout
        column = layout.column(align=True)
        column.prop(settings, "host")
        column.prop(settings, "port")
        column.prop(context.window_manager, "mocap_token")
        session = runtime.session
        if session is not None and session.running:
            layout.operator(MOCAP_OT_disconnect.bl_idname, icon="UNLINKED")
        else:
            layout.operator(MOCAP_OT_connect.bl_idname, icon="LINKED")
        if session is not None:
            box = layout.box().column(align=True)
            for line in status_lines(session.status()):
                box.label(text=line)

        layout.label(text="Landmark empties")
        grid = layout.grid_flow(columns=2, align=True)
        for name in ("show_pose_world", "show_pose", "show_hands", "show_face"):
            grid.prop(settings, name)

        layout.prop(settings, "drive_armature")
        column = layout.column()
        column.active = settings.drive_armature
        column.prop(settings, "armature")
        column.prop(settings, "bone_map")
        column.prop(settings, "correct_rest")
        column.prop(settings, "move_hips")
        if settings.armature is not None and runtime.driver.summary:
            column.label(text=runtime.driver.summary)
        frame = runtime.last_frame
        if frame is not None and not frame.bones:
            _warn(column, NO_BONES, "ERROR")

        layout.prop(settings, "drive_shape_keys")
        column = layout.column()
        column.active = settings.drive_shape_keys
        column.prop(settings, "face_mesh")
        if frame is not None and frame.arkit is None:
            _warn(column, NO_ARKIT, "INFO")
        elif settings.face_mesh is not None and runtime.shapes.summary:
            column.label(text=runtime.shapes.summary)

        layout.prop(settings, "record", toggle=True, icon="REC")
        if settings.record and runtime.last_recorded is not None:
            layout.label(text=f"Keyed frame {runtime.last_recorded}")


def _warn(layout: bpy.types.UILayout, lines: tuple[str, ...], icon: str) -> None:
    box = layout.box().column(align=True)
    for number, line in enumerate(lines):
        box.label(text=line, icon=icon if number == 0 else "BLANK1")


CLASSES = (MocapSettings, MOCAP_OT_connect, MOCAP_OT_disconnect, MOCAP_PT_panel)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.mocap = bpy.props.PointerProperty(type=MocapSettings)
    # On the window manager, which is never saved: the token stays out of .blend files.
    bpy.types.WindowManager.mocap_token = bpy.props.StringProperty(
        name="Token",
        subtype="PASSWORD",
        description="The server's token (empty: the MOCAP_TOKEN environment variable, or none)",
    )


def unregister() -> None:
    if runtime.session is not None:
        runtime.session.stop(wait_s=1.0)
        runtime.session = None
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
    del bpy.types.WindowManager.mocap_token
    del bpy.types.Scene.mocap
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
