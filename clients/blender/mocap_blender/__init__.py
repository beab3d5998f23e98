"""mocap for Blender: landmarks, a driven armature, ARKit shape keys and keyframes from mocap's
WebSocket stream. A Blender extension: its name, version and permissions are in
blender_manifest.toml.

This file imports no bpy, so the pure modules (wsclient, protocol, spaces, humanoid, retarget,
names, session) can be imported and tested outside Blender; register() brings in the rest.
"""


def register() -> None:
    from . import ui  # noqa: PLC0415 - bpy exists only inside Blender

    ui.register()


def unregister() -> None:
    from . import ui  # noqa: PLC0415 - bpy exists only inside Blender

    ui.unregister()
