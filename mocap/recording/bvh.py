"""BVH (Biovision Hierarchy) text for a take: the humanoid skeleton and its solved motion. Pure.

Blender, Maya and MotionBuilder open it. The conventions, fixed here:

- Units: centimetres.
- Space: right-handed, +Y up, the avatar facing +Z, so its own right hand is at -X: the usual BVH
  frame (Blender's importer turns it Z-up). The solver works in Unity's left-handed space (+Y
  up, facing +Z, its right hand at +X), and mirroring the X axis converts one into the other: a
  position (x, y, z) becomes (-x, y, z), and a rotation R becomes M R M with M = diag(-1, 1, 1),
  which for a quaternion (x, y, z, w) is (x, -y, -z, w). Left stays left: the avatar's LeftHand
  is the BVH's LeftHand.
- Hierarchy: the 55 Unity humanoid bones (mocap.solve.humanoid), depth first. Each OFFSET is the
  bone's rest offset from its parent (VRM0's normalised T-pose, in which every rotation is
  identity), and each leaf bone (toes, eyes, jaw, the ten distal finger bones) ends in an End Site
  at its tip. The head's own tip is not written: BVH gives End Sites to leaf joints only, and the
  head has the eyes and jaw below it.
- Channels: the root, Hips, has `Xposition Yposition Zposition Zrotation Xrotation Yrotation`;
  every other joint `Zrotation Xrotation Yrotation`. Angles are degrees, and a joint's rotation
  is Rz(z) Rx(x) Ry(y) (intrinsic Z, then X, then Y: scipy's "ZXY"), local to its parent and
  relative to the rest pose, so all zeros is the T-pose.
- The root's OFFSET is 0 0 0 and its position channels carry the hips' full position (from the
  floor point under the avatar): readers that add the OFFSET to the channels and readers that
  do not then agree.
- Only the skeleton moves: the solver's expressions (blendshapes) have no place in BVH.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator

import numpy as np
from scipy.spatial.transform import Rotation

from mocap.solve.avatar import AvatarFrame, Float64Array
from mocap.solve.humanoid import BONES, INDEX, PARENTS, REST_LOCAL_POSITIONS, TIP_OFFSETS

UNITS_PER_METRE = 100.0  # centimetres
EULER_ORDER = "ZXY"  # scipy's intrinsic order, as the channels list it
ROTATION_CHANNELS = "Zrotation Xrotation Yrotation"
ROOT_CHANNELS = f"Xposition Yposition Zposition {ROTATION_CHANNELS}"
_MIRROR_X = np.array([-1.0, 1.0, 1.0])
_QUATERNION_MIRROR_X = np.array([1.0, -1.0, -1.0, 1.0])
_HIPS = INDEX["Hips"]
_INDENT = "  "


def _children() -> list[list[int]]:
    children: list[list[int]] = [[] for _ in BONES]
    for bone, parent in enumerate(PARENTS.tolist()):
        if parent >= 0:
            children[parent].append(bone)
    return children


_CHILDREN = _children()


def _depth_first(bone: int) -> Iterator[int]:
    yield bone
    for child in _CHILDREN[bone]:
        yield from _depth_first(child)


JOINT_ORDER: tuple[int, ...] = tuple(_depth_first(_HIPS))
"""Bone indices in the file's order (depth first from the Hips): the MOTION columns' order."""
CHANNEL_COUNT = 3 + 3 * len(JOINT_ORDER)
END_SITE_COUNT = sum(not children for children in _CHILDREN)


def to_bvh_space(points_m: Float64Array) -> Float64Array:
    """Unity-space positions (..., 3) in metres -> BVH space in centimetres."""
    converted: Float64Array = points_m * _MIRROR_X * UNITS_PER_METRE
    return converted


def rotations_to_bvh_space(quaternions: Float64Array) -> Float64Array:
    """Unity-space rotations (..., 4) x, y, z, w -> the same rotations in BVH space."""
    converted: Float64Array = quaternions * _QUATERNION_MIRROR_X
    return converted


def _printable(values: Float64Array) -> list[float]:
    """Rounded as printed, with -0.0 made 0.0 so that no "-0.0000" appears."""
    rounded: Float64Array = np.round(values, 4) + 0.0
    return rounded.tolist()  # type: ignore[no-any-return]


def _offset(values_m: Float64Array) -> str:
    x, y, z = _printable(to_bvh_space(values_m))
    return f"OFFSET {x:.4f} {y:.4f} {z:.4f}"


def _joint_lines(bone: int, depth: int) -> Iterator[str]:
    pad = _INDENT * depth
    if bone == _HIPS:
        yield f"{pad}ROOT {BONES[bone]}"
        offset, channels = "OFFSET 0.0000 0.0000 0.0000", f"CHANNELS 6 {ROOT_CHANNELS}"
    else:
        yield f"{pad}JOINT {BONES[bone]}"
        offset = _offset(REST_LOCAL_POSITIONS[bone])
        channels = f"CHANNELS 3 {ROTATION_CHANNELS}"
    yield f"{pad}{{"
    yield f"{pad}{_INDENT}{offset}"
    yield f"{pad}{_INDENT}{channels}"
    for child in _CHILDREN[bone]:
        yield from _joint_lines(child, depth + 1)
    if not _CHILDREN[bone]:
        yield f"{pad}{_INDENT}End Site"
        yield f"{pad}{_INDENT}{{"
        yield f"{pad}{_INDENT * 2}{_offset(TIP_OFFSETS[bone])}"
        yield f"{pad}{_INDENT}}}"
    yield f"{pad}}}"


def motion_values(avatar: AvatarFrame) -> Float64Array:
    """One frame's channel values in the file's column order (CHANNEL_COUNT of them)."""
    root_rotation = Rotation.from_quat(avatar.root_rotation)
    # scipy refuses read-only buffers, hence the copy.
    hips_offset = np.array(avatar.local_positions[_HIPS])
    hips_position = avatar.root_position + root_rotation.apply(hips_offset)
    local = np.array(avatar.local_rotations, dtype=np.float64)
    # The root transform has no joint of its own in the file: the Hips carry it.
    local[_HIPS] = (root_rotation * Rotation.from_quat(local[_HIPS])).as_quat()
    rotations = Rotation.from_quat(rotations_to_bvh_space(local[list(JOINT_ORDER)]))
    with warnings.catch_warnings():
        # At gimbal lock (X at +-90 degrees) scipy warns and sets Y to zero; the angles still
        # make up the exact rotation, which is all a frame needs.
        warnings.simplefilter("ignore", UserWarning)
        angles_deg = rotations.as_euler(EULER_ORDER, degrees=True)
    return np.concatenate((to_bvh_space(hips_position), angles_deg.ravel()))


def bvh_lines(
    motion: Iterable[Float64Array], frame_count: int, frame_time_s: float
) -> Iterator[str]:
    """The file's lines (without newlines): HIERARCHY, then MOTION with one line per frame.

    motion: motion_values() of each frame, frame_count of them; frame_time_s: the period.
    """
    yield "HIERARCHY"
    yield from _joint_lines(_HIPS, 0)
    yield "MOTION"
    yield f"Frames: {frame_count}"
    yield f"Frame Time: {frame_time_s:.6f}"
    row_format = " ".join(["%.4f"] * CHANNEL_COUNT)
    previous: Float64Array | None = None
    for frame_values in motion:
        values = frame_values if previous is None else continued_angles(frame_values, previous)
        previous = values
        yield row_format % tuple(_printable(values))


def continued_angles(values: Float64Array, previous: Float64Array) -> Float64Array:
    """values with each angle moved by whole turns to the one nearest the previous frame's.

    Readers interpolate channels between frames: an angle wrapping from 179 to -179 degrees
    would spin the bone the long way round for one frame.
    """
    turns = np.round((previous[3:] - values[3:]) / 360.0)
    continued = values.copy()
    continued[3:] += 360.0 * turns
    return continued
