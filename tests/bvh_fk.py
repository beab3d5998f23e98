"""Forward kinematics of a BVH file read by the independent `bvh` package: what a BVH reader
(Blender's, MotionBuilder's) makes of mocap's export, computed from the text alone."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from bvh import Bvh
from scipy.spatial.transform import Rotation


def joint_world(mocap: Bvh, frame: int) -> dict[str, tuple[npt.NDArray[np.float64], Rotation]]:
    """Each joint's world position (the file's units) and world rotation in one frame.

    BVH semantics: a joint sits at its parent's position plus its OFFSET turned by the parent's
    world rotation; its rotation channels compose in the order listed (intrinsic), after its
    parent's world rotation; the root's position channels place it.
    """
    world: dict[str, tuple[npt.NDArray[np.float64], Rotation]] = {}
    for name in mocap.get_joints_names():
        channels = mocap.joint_channels(name)
        rotation_channels = [c for c in channels if c.endswith("rotation")]
        order = "".join(c[0] for c in rotation_channels).upper()
        angles = mocap.frame_joint_channels(frame, name, rotation_channels)
        local = Rotation.from_euler(order, angles, degrees=True)
        offset = np.array(mocap.joint_offset(name))
        parent = mocap.joint_parent(name)
        if parent is None:
            position_channels = ["Xposition", "Yposition", "Zposition"]
            position = offset + np.array(mocap.frame_joint_channels(frame, name, position_channels))
            world[name] = (position, local)
        else:
            parent_position, parent_rotation = world[parent.name]
            world[name] = (parent_position + parent_rotation.apply(offset), parent_rotation * local)
    return world
