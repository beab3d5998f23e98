"""The stream's 55 humanoid bones: names, hierarchy and rest-pose directions. Pure: no bpy.

The same skeleton as mocap's solver (mocap/solve/humanoid.py; a test keeps the two equal): Unity's
HumanBodyBones, in Unity's space (left-handed, +Y up, the avatar facing +Z with its own left
hand at -X), resting in VRM0's T-pose where every local rotation is identity.
"""

from __future__ import annotations

SIDES = ("Left", "Right")
FINGERS = ("Thumb", "Index", "Middle", "Ring", "Little")
PHALANGES = ("Proximal", "Intermediate", "Distal")

_CENTRE_PARENTS = {
    "Hips": None, "Spine": "Hips", "Chest": "Spine", "UpperChest": "Chest", "Neck": "UpperChest",
    "Head": "Neck", "Jaw": "Head",
}  # fmt: skip
# Parents of one side's bones, "{s}" standing for the side.
_SIDE_PARENTS = {
    "UpperLeg": "Hips", "LowerLeg": "{s}UpperLeg", "Foot": "{s}LowerLeg", "Toes": "{s}Foot",
    "Shoulder": "UpperChest", "UpperArm": "{s}Shoulder", "LowerArm": "{s}UpperArm",
    "Hand": "{s}LowerArm", "Eye": "Head",
}  # fmt: skip


def _parents() -> dict[str, str | None]:
    parents: dict[str, str | None] = dict(_CENTRE_PARENTS)
    for side in SIDES:
        for part, parent in _SIDE_PARENTS.items():
            parents[side + part] = parent.format(s=side)
        for finger in FINGERS:
            previous = f"{side}Hand"
            for phalanx in PHALANGES:
                parents[f"{side}{finger}{phalanx}"] = previous
                previous = f"{side}{finger}{phalanx}"
    return parents


PARENTS = _parents()
BONES = tuple(PARENTS)

# Rest-pose direction of each bone (from its joint toward its main child joint, or its tip) in
# Unity's space, for the left side and the centre: mocap's rest avatar, whose shoulder rises
# slightly to the upper arm, whose hand points at the middle finger and whose thumb runs
# forward and out at 45 degrees. Not normalised.
_UP, _DOWN, _FORWARD = (0.0, 1.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, 1.0)
_LEFT_DIRECTIONS = {
    "Hips": _UP, "Spine": _UP, "Chest": _UP, "UpperChest": _UP, "Neck": _UP, "Head": _UP,
    "Jaw": (0.0, -1.0, 2.0), "UpperLeg": _DOWN, "LowerLeg": _DOWN, "Foot": (0.0, -1.0, 2.0),
    "Toes": _FORWARD, "Eye": _FORWARD, "Shoulder": (-15.0, 1.0, 0.0), "UpperArm": (-1.0, 0.0, 0.0),
    "LowerArm": (-1.0, 0.0, 0.0), "Hand": (-16.0, 0.0, 1.0),
}  # fmt: skip


def rest_direction(bone: str) -> tuple[float, float, float]:
    """Unit vector along the bone in the rest pose (T-pose), Unity space."""
    side = next((s for s in SIDES if bone.startswith(s)), "")
    part = bone[len(side) :]
    finger = next((f for f in FINGERS if part.startswith(f)), None)
    if finger is not None:
        x, y, z = (-1.0, 0.0, 1.0) if finger == "Thumb" else (-1.0, 0.0, 0.0)
    else:
        x, y, z = _LEFT_DIRECTIONS[part]
    if side == "Right":
        x = -x
    norm = (x * x + y * y + z * z) ** 0.5
    return (x / norm, y / norm, z / norm)


def nearest_mapped_ancestor(bone: str, mapped: set[str] | frozenset[str]) -> str | None:
    """The closest ancestor of bone that the armature has, None when there is none."""
    parent = PARENTS[bone]
    while parent is not None and parent not in mapped:
        parent = PARENTS[parent]
    return parent


def chain_to(bone: str, ancestor: str | None) -> list[str]:
    """The bones from just below ancestor down to bone, in that order (root-first)."""
    chain: list[str] = []
    current: str | None = bone
    while current is not None and current != ancestor:
        chain.append(current)
        current = PARENTS[current]
    chain.reverse()
    return chain
