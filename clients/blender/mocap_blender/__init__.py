"""mocap for Blender: landmarks, a driven armature and keyframes from mocap's WebSocket stream.

This file imports no bpy, so the pure modules (wsclient, protocol, spaces, humanoid, retarget,
names, session) can be imported and tested outside Blender; register() brings in the rest.
"""

bl_info = {
    "name": "mocap",
    "author": "mocap",
    "version": (0, 1, 0),
    "blender": (4, 2, 0),
    "location": "View3D > Sidebar > mocap",
    "description": "Live motion capture from a local mocap server (WebSocket, mocap.frame/1)",
    "category": "Animation",
}


def register() -> None:
    from . import ui  # noqa: PLC0415 - bpy exists only inside Blender

    ui.register()


def unregister() -> None:
    from . import ui  # noqa: PLC0415 - bpy exists only inside Blender

    ui.unregister()
