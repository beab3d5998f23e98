"""The stream's bone rotations as the pose of an armature with its own rest pose. Pure: no bpy.

For a bone i of the armature that stands for humanoid bone h (names.py finds which), with:

- Rest_i: the bone's rest orientation in armature space (Blender's `Bone.matrix_local`);
- L_i: the stream's local rotation of h converted to Blender's space (spaces.unity_rotation),
  relative to p, the nearest ancestor of h that the armature has (when the armature lacks a bone,
  UpperChest say, its rotation is folded into its child's: L_i = L_UpperChest L_Neck);
- A_i: the swing that turns the armature's rest direction of the bone onto the direction it has
  in the stream's T-pose (identity when the rest pose is a T-pose, or without correction),

the bone must end up oriented O_i = W_i A_i Rest_i, W_i being h's rotation from the T-pose in
armature space (W_i = W_p L_i). Blender poses a bone as pose_i = D_p Rest_i Basis_i, where
D_p = pose_p Rest_p^-1 is the parent's motion (bones left at rest in between pass it on), and
D_p = W_p A_p. Solving for the bone's own rotation (PoseBone.rotation_quaternion):

    Basis_i = Rest_i^-1  A_p^-1  L_i  A_i  Rest_i

With a T-pose rest pose (VRM models) the A's are identity and this is the stream's rotation
expressed in the bone's own axes. The armature must face -Y with +Z up in its object space, as
Blender's characters (and the VRM add-on's imports) do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from . import humanoid
from .protocol import QuaternionXYZW, Vector3
from .spaces import (
    IDENTITY,
    Quaternion,
    angle_between,
    inverse,
    multiply,
    rotate,
    swing,
    unity_rotation,
    unity_vector,
)

# Rest directions differ from the T-pose's by up to ~95 degrees in practice (Rigify's metarig:
# arms 31, hands 37, curled fingers up to 94). A bone pointing nearly the opposite way is built
# another way (a hips bone pointing down at the legs): a swing there would be close to arbitrary.
MAX_REST_CORRECTION_RAD = math.radians(135.0)
# The Hips' height in the stream's rest avatar (mocap/solve/humanoid.py), metres.
HIPS_REST_POSITION: Vector3 = (0.0, 0.85, 0.0)


@dataclass(frozen=True)
class RestBone:
    """What retargeting reads of one armature bone at rest, in armature space."""

    rotation: Quaternion  # Bone.matrix_local's rotation
    direction: Vector3  # tail - head
    head: Vector3


@dataclass(frozen=True)
class RigBone:
    """One armature bone driven by one humanoid bone of the stream."""

    humanoid: str
    name: str
    rest: Quaternion
    correction: Quaternion  # A_i
    ancestor: str | None  # the nearest driven humanoid ancestor (p)


@dataclass(frozen=True)
class Rig:
    bones: tuple[RigBone, ...]
    hips_scale: float  # the armature's hips height over the stream avatar's


def rest_correction(rest_direction: Vector3, humanoid_bone: str) -> Quaternion:
    """A_i: the swing from the armature's rest direction onto the T-pose direction (Blender
    armature space); identity past MAX_REST_CORRECTION_RAD."""
    target = unity_vector(humanoid.rest_direction(humanoid_bone))
    if angle_between(rest_direction, target) > MAX_REST_CORRECTION_RAD:
        return IDENTITY
    return swing(rest_direction, target)


def bind(mapping: Mapping[str, str], rests: Mapping[str, RestBone], correct_rest: bool) -> Rig:
    """The rig for mapping (humanoid bone -> armature bone), given the armature's rest bones.

    correct_rest: swing each bone's rest direction onto the T-pose's (for A-pose rigs)."""
    mapped = frozenset(h for h, name in mapping.items() if name in rests)
    bones = []
    for bone in humanoid.BONES:  # parents first
        if bone not in mapped:
            continue
        rest = rests[mapping[bone]]
        correction = rest_correction(rest.direction, bone) if correct_rest else IDENTITY
        ancestor = humanoid.nearest_mapped_ancestor(bone, mapped)
        bones.append(RigBone(bone, mapping[bone], rest.rotation, correction, ancestor))
    # The hips' height over the floor (armature space z = 0) scales the stream's hips motion.
    scale = 1.0
    if "Hips" in mapped:
        scale = rests[mapping["Hips"]].head[2] / HIPS_REST_POSITION[1]
    return Rig(tuple(bones), scale if scale > 0.0 else 1.0)


def pose(rig: Rig, rotations: Mapping[str, QuaternionXYZW]) -> dict[str, Quaternion]:
    """Armature bone name -> its Basis rotation (w, x, y, z) for the stream's rotations.
    A humanoid bone missing from the stream counts as at rest."""
    corrections = {bone.humanoid: bone.correction for bone in rig.bones}
    basis: dict[str, Quaternion] = {}
    for bone in rig.bones:
        local = IDENTITY
        for link in humanoid.chain_to(bone.humanoid, bone.ancestor):
            if link in rotations:
                local = multiply(local, unity_rotation(rotations[link]))
        parent_correction = corrections[bone.ancestor] if bone.ancestor else IDENTITY
        motion = multiply(multiply(inverse(parent_correction), local), bone.correction)
        basis[bone.name] = multiply(multiply(inverse(bone.rest), motion), bone.rest)
    return basis


def hips_location(rig: Rig, position: Vector3) -> tuple[str, Vector3] | None:
    """The Hips bone's name and Basis location (PoseBone.location) for the stream's Hips
    position: its offset from the rest avatar's, scaled to the armature's size, in the bone's
    rest axes. None when the armature has no Hips."""
    hips = next((bone for bone in rig.bones if bone.humanoid == "Hips"), None)
    if hips is None:
        return None
    x, y, z = ((p - r) * rig.hips_scale for p, r in zip(position, HIPS_REST_POSITION, strict=True))
    return hips.name, rotate(inverse(hips.rest), unity_vector((x, y, z)))
