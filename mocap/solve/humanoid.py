"""The 55 Unity HumanBodyBones, their hierarchy, and a rest pose: the avatar the solver drives.

Space (Unity's, as VMC sends it): left-handed, +X right, +Y up, +Z forward, metres. The avatar
faces +Z, so its own right hand is at +X: in Unity's left-handed frame, "right" is +X for anything
that looks along +Z (a viewer standing behind the avatar shares its right; a camera in front of it
sees its right hand on the left of the picture).

Rest pose: VRM0's normalised T-pose, every bone rotation identity (so a local position is also
the world offset from the parent): arms straight out along -X (left) and +X (right), palms down,
thumbs forward, fingers along the arms, legs straight down, Y up, ~1.6 m tall. Rotations are
quaternions x, y, z, w, local (relative to the parent bone), relative to this rest pose.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

Float64Array = npt.NDArray[np.float64]

SIDES = ("Left", "Right")
FINGERS = ("Thumb", "Index", "Middle", "Ring", "Little")
PHALANGES = ("Proximal", "Intermediate", "Distal")

# Unity's HumanBodyBones order with UpperChest moved after Chest, so that parents come first.
_BODY_BONES = (
    "Hips", "LeftUpperLeg", "RightUpperLeg", "LeftLowerLeg", "RightLowerLeg", "LeftFoot",
    "RightFoot", "Spine", "Chest", "UpperChest", "Neck", "Head", "LeftShoulder", "RightShoulder",
    "LeftUpperArm", "RightUpperArm", "LeftLowerArm", "RightLowerArm", "LeftHand", "RightHand",
    "LeftToes", "RightToes", "LeftEye", "RightEye", "Jaw",
)  # fmt: skip
FINGER_BONES = tuple(
    f"{side}{finger}{phalanx}" for side in SIDES for finger in FINGERS for phalanx in PHALANGES
)
BONES: tuple[str, ...] = _BODY_BONES + FINGER_BONES
BONE_COUNT = len(BONES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(BONES)}


def _body_parent(name: str) -> str | None:
    side = next((s for s in SIDES if name.startswith(s)), "")
    part = name[len(side) :]
    chain = {
        "UpperLeg": "Hips", "LowerLeg": f"{side}UpperLeg", "Foot": f"{side}LowerLeg",
        "Toes": f"{side}Foot", "Spine": "Hips", "Chest": "Spine", "UpperChest": "Chest",
        "Neck": "UpperChest", "Head": "Neck", "Shoulder": "UpperChest",
        "UpperArm": f"{side}Shoulder", "LowerArm": f"{side}UpperArm", "Hand": f"{side}LowerArm",
        "Eye": "Head", "Jaw": "Head",
    }  # fmt: skip
    return chain.get(part)


def _parent_name(name: str) -> str | None:
    if name not in FINGER_BONES:
        return _body_parent(name)
    side = next(s for s in SIDES if name.startswith(s))
    finger = next(f for f in FINGERS if f in name)
    phalanx = PHALANGES.index(name[len(side) + len(finger) :])
    if phalanx == 0:
        return f"{side}Hand"
    return f"{side}{finger}{PHALANGES[phalanx - 1]}"


# Parent index of each bone, -1 for Hips (its parent is the avatar's root transform).
PARENTS: npt.NDArray[np.intp] = np.array(
    [INDEX[p] if (p := _parent_name(name)) is not None else -1 for name in BONES], dtype=np.intp
)


def mirror_name(name: str) -> str:
    """The bone on the other side (Left <-> Right); centre bones map to themselves."""
    for side, other in zip(SIDES, reversed(SIDES), strict=True):
        if name.startswith(side):
            return other + name[len(side) :]
    return name


# MIRROR[i] is the index of bone i's counterpart on the other side of the body.
MIRROR: npt.NDArray[np.intp] = np.array([INDEX[mirror_name(n)] for n in BONES], dtype=np.intp)


# --- the rest pose -----------------------------------------------------------------------------
# Offsets are written for the left side (-X); the right side is the same with x negated.

_CENTRE_OFFSETS = {
    "Hips": (0.0, 0.85, 0.0),  # from the root: hip joints ~0.80 m up, feet on the floor
    "Spine": (0.0, 0.10, 0.0),
    "Chest": (0.0, 0.12, 0.0),
    "UpperChest": (0.0, 0.12, 0.0),
    "Neck": (0.0, 0.17, 0.0),
    "Head": (0.0, 0.09, 0.0),
    "Jaw": (0.0, -0.02, 0.03),
}
_LEFT_OFFSETS = {
    "UpperLeg": (-0.09, -0.05, 0.0),
    "LowerLeg": (0.0, -0.37, 0.0),
    "Foot": (0.0, -0.36, 0.0),  # the ankle, 0.07 m above the floor
    "Toes": (0.0, -0.06, 0.12),
    "Shoulder": (-0.02, 0.11, 0.0),
    "UpperArm": (-0.15, 0.01, 0.0),  # shoulder joints 0.34 m apart, 1.31 m up
    "LowerArm": (-0.26, 0.0, 0.0),
    "Hand": (-0.24, 0.0, 0.0),
    "Eye": (-0.032, 0.06, 0.07),
}
# Thumb bones run forward and out at 45 degrees in the palm's plane (VRM0's ThumbProximal is the
# metacarpal: from the carpometacarpal joint to the MCP joint); the other fingers along -X.
_THUMB_DIRECTION_LEFT = np.array([-1.0, 0.0, 1.0]) / np.sqrt(2.0)
_FINGER_BASES_LEFT = {  # proximal joints (MCP; CMC for the thumb) from the wrist
    "Thumb": (-0.020, -0.008, 0.020),
    "Index": (-0.075, 0.0, 0.022),
    "Middle": (-0.080, 0.0, 0.005),
    "Ring": (-0.076, 0.0, -0.013),
    "Little": (-0.069, 0.0, -0.030),
}
# Lengths of the Proximal, Intermediate and Distal bones (the last to the fingertip), metres.
_FINGER_LENGTHS = {
    "Thumb": (0.035, 0.030, 0.027),
    "Index": (0.040, 0.025, 0.022),
    "Middle": (0.045, 0.028, 0.024),
    "Ring": (0.042, 0.026, 0.022),
    "Little": (0.033, 0.020, 0.019),
}
# Leaf bones' end sites (head top, eye and jaw tips, toe tips, fingertips), left side.
_LEFT_TIPS = {"Toes": (0.0, 0.0, 0.06), "Eye": (0.0, 0.0, 0.02)}
_CENTRE_TIPS = {"Head": (0.0, 0.15, 0.0), "Jaw": (0.0, -0.03, 0.06)}


def _left_finger_offsets(finger: str) -> Iterator[tuple[str, Float64Array]]:
    """(name without the side, offset from the parent) for each bone, then ("Tip", offset)."""
    direction = _THUMB_DIRECTION_LEFT if finger == "Thumb" else np.array([-1.0, 0.0, 0.0])
    lengths = _FINGER_LENGTHS[finger]
    yield f"{finger}Proximal", np.array(_FINGER_BASES_LEFT[finger])
    yield f"{finger}Intermediate", direction * lengths[0]
    yield f"{finger}Distal", direction * lengths[1]
    yield f"{finger}Tip", direction * lengths[2]


def _rest_tables() -> tuple[Float64Array, Float64Array]:
    left_offsets = {part: np.array(offset) for part, offset in _LEFT_OFFSETS.items()}
    left_tips = {part: np.array(tip) for part, tip in _LEFT_TIPS.items()}
    for finger in FINGERS:
        offsets = dict(_left_finger_offsets(finger))
        left_tips[f"{finger}Distal"] = offsets.pop(f"{finger}Tip")
        left_offsets.update(offsets)
    positions = np.zeros((BONE_COUNT, 3))
    tips = np.zeros((BONE_COUNT, 3))
    for i, name in enumerate(BONES):
        side = next((s for s in SIDES if name.startswith(s)), "")
        part = name[len(side) :]
        offset, tip = (
            (left_offsets[part], left_tips.get(part, (0, 0, 0)))
            if side
            else (_CENTRE_OFFSETS[part], _CENTRE_TIPS.get(part, (0, 0, 0)))
        )
        mirror_x = np.array([-1.0 if side == "Right" else 1.0, 1.0, 1.0])
        positions[i] = np.asarray(offset) * mirror_x
        tips[i] = np.asarray(tip) * mirror_x
    return positions, tips


REST_LOCAL_POSITIONS, TIP_OFFSETS = _rest_tables()
"""REST_LOCAL_POSITIONS[i]: bone i's joint relative to its parent's joint (Hips: to the root).
TIP_OFFSETS[i]: the end of leaf bone i (head top, fingertips, toe tips) from its joint; zero for
bones that have children."""
REST_ROTATIONS = np.tile(np.array([0.0, 0.0, 0.0, 1.0]), (BONE_COUNT, 1))
"""(55, 4) identity quaternions: every local rotation of the rest pose."""
for _table in (REST_LOCAL_POSITIONS, TIP_OFFSETS, REST_ROTATIONS):
    _table.flags.writeable = False


def _depth_levels() -> list[npt.NDArray[np.intp]]:
    depth = np.zeros(BONE_COUNT, dtype=np.intp)
    for i, parent in enumerate(PARENTS):
        depth[i] = 0 if parent < 0 else depth[parent] + 1
    return [np.flatnonzero(depth == d) for d in range(int(depth.max()) + 1)]


_LEVELS = _depth_levels()


def forward_kinematics(
    local_rotations: Float64Array,
    root_position: Float64Array | None = None,
    root_rotation: Float64Array | None = None,
    local_positions: Float64Array = REST_LOCAL_POSITIONS,
) -> tuple[Float64Array, Float64Array]:
    """World joint positions (55, 3) and world rotations (55, 4, x y z w) of a posed avatar.

    local_rotations: (55, 4) quaternions relative to each parent (identity: the rest pose);
    local_positions: (55, 3) joint offsets from each parent (Hips: from the root). The root
    transform places the whole avatar (default: the origin, unrotated).
    """
    root_pos = np.zeros(3) if root_position is None else np.asarray(root_position, float)
    root_rot = Rotation.identity() if root_rotation is None else Rotation.from_quat(root_rotation)
    local = Rotation.from_quat(local_rotations)
    world_quats = np.empty((BONE_COUNT, 4))
    world_positions = np.empty((BONE_COUNT, 3))
    for level in _LEVELS:
        parents = PARENTS[level]
        if parents[0] < 0:  # the Hips, whose parent is the root
            parent_rot = root_rot
            parent_pos = root_pos
        else:
            parent_rot = Rotation.from_quat(world_quats[parents])
            parent_pos = world_positions[parents]
        world_positions[level] = parent_pos + parent_rot.apply(local_positions[level])
        world_quats[level] = (parent_rot * local[level]).as_quat()
    return world_positions, world_quats


def tip_positions(world_positions: Float64Array, world_rotations: Float64Array) -> Float64Array:
    """The end sites of leaf bones in world space (joint + rotated tip offset); (55, 3)."""
    # scipy refuses read-only buffers, hence the copy.
    tips: Float64Array = Rotation.from_quat(world_rotations).apply(TIP_OFFSETS.copy())
    return world_positions + tips
