"""Which armature bone stands for each of the stream's humanoid bones, and which shape key for
each of its ARKit weights. Pure: no bpy.

Maps (the panel's "Bone names"):

- VRM: an armature imported by the VRM Add-on for Blender is read through its own humanoid
  table (`vrm_addon_extension`, VRM 0.x or 1.0; the add-on side passes it in as `vrm_table`);
  without one, bones named with VRM 0.x humanoid names ("hips", "leftUpperArm") are used.
- Unity: bones named like the stream ("Hips", "LeftUpperArm"), Unity's HumanBodyBones.
- Rigify metarig: the human metarig's names ("spine", "upper_arm.L", "f_index.01.L").
- Rigify DEF-: the same with "DEF-" in front: the deform bones of a generated rig. In the rig
  Rigify generates they follow its controls through constraints, so they move only where those
  constraints are removed (a game-engine export); the panel says when mapped bones have them.

Matching is exact except for the VRM and Unity names, which are matched ignoring case.

Shape keys: a mesh's shape key takes the ARKit weight of its name, ignoring case, so both the
camelCase of Apple's ARKit ("eyeBlinkLeft", what the stream sends) and the PascalCase of VRoid's
and many Perfect Sync models ("EyeBlinkLeft") are found; as in the Unity client, a prefix up to
the last "." is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .humanoid import BONES, PHALANGES, SIDES

VRM = "VRM"
UNITY = "UNITY"
RIGIFY_METARIG = "RIGIFY_METARIG"
RIGIFY_DEF = "RIGIFY_DEF"
MAPS = (VRM, UNITY, RIGIFY_METARIG, RIGIFY_DEF)


def vrm0_name(bone: str) -> str:
    """VRM 0.x humanoid name: Unity's with a lower-case first letter ("leftThumbProximal")."""
    return bone[0].lower() + bone[1:]


# VRM 1.0 renamed the thumb: its metacarpal is VRM 0.x's (and Unity's) "Proximal".
_VRM1_THUMB = {"Proximal": "Metacarpal", "Intermediate": "Proximal", "Distal": "Distal"}


def vrm1_name(bone: str) -> str:
    """VRM 1.0 humanoid name ("leftThumbMetacarpal" for Unity's LeftThumbProximal)."""
    for side in SIDES:
        for phalanx, renamed in _VRM1_THUMB.items():
            if bone == f"{side}Thumb{phalanx}":
                return vrm0_name(f"{side}Thumb{renamed}")
    return vrm0_name(bone)


def snake_case(name: str) -> str:
    """The VRM add-on's VRM 1.0 property name: "leftUpperArm" -> "left_upper_arm"."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


_RIGIFY_CENTRE = {
    "Hips": "spine", "Spine": "spine.001", "Chest": "spine.002", "UpperChest": "spine.003",
    "Neck": "spine.004", "Head": "spine.006",
}  # fmt: skip
# spine.005 (the upper neck) stays at rest and passes the neck's motion on to the head.
_RIGIFY_SIDE = {
    "Shoulder": "shoulder", "UpperArm": "upper_arm", "LowerArm": "forearm", "Hand": "hand",
    "UpperLeg": "thigh", "LowerLeg": "shin", "Foot": "foot", "Toes": "toe", "Eye": "eye",
}  # fmt: skip
_RIGIFY_FINGERS = {
    "Thumb": "thumb", "Index": "f_index", "Middle": "f_middle", "Ring": "f_ring",
    "Little": "f_pinky",
}  # fmt: skip


def rigify_metarig_names() -> dict[str, str]:
    """Humanoid bone -> Rigify human metarig bone. The jaw is left out: Rigify's face rig
    builds it differently from a humanoid's."""
    names = dict(_RIGIFY_CENTRE)
    for side in SIDES:
        suffix = f".{side[0]}"
        for part, name in _RIGIFY_SIDE.items():
            names[side + part] = name + suffix
        for finger, name in _RIGIFY_FINGERS.items():
            for number, phalanx in enumerate(PHALANGES, start=1):
                names[f"{side}{finger}{phalanx}"] = f"{name}.{number:02d}{suffix}"
    return names


def _case_insensitive(wanted: Mapping[str, str], bone_names: Iterable[str]) -> dict[str, str]:
    by_lower = {name.lower(): name for name in bone_names}
    return {h: by_lower[name.lower()] for h, name in wanted.items() if name.lower() in by_lower}


def _exact(wanted: Mapping[str, str], bone_names: Iterable[str]) -> dict[str, str]:
    present = set(bone_names)
    return {h: name for h, name in wanted.items() if name in present}


def resolve(
    kind: str, bone_names: Iterable[str], vrm_table: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Humanoid bone -> armature bone, for the bones the armature has.

    vrm_table: for VRM, the VRM add-on's own table (humanoid bone -> armature bone), used as it
    is when given."""
    bone_names = list(bone_names)
    if kind == VRM:
        if vrm_table:
            return _exact(vrm_table, bone_names)
        return _case_insensitive({b: vrm0_name(b) for b in BONES}, bone_names)
    if kind == UNITY:
        return _case_insensitive({b: b for b in BONES}, bone_names)
    if kind == RIGIFY_METARIG:
        return _exact(rigify_metarig_names(), bone_names)
    if kind == RIGIFY_DEF:
        return _exact({h: f"DEF-{n}" for h, n in rigify_metarig_names().items()}, bone_names)
    raise ValueError(f"unknown bone map {kind!r}; one of {', '.join(MAPS)}")


def vrm_addon_table(spec_version: str, lookup: Mapping[str, str]) -> dict[str, str]:
    """Humanoid bone -> armature bone from the VRM add-on's table, given as lookup: VRM humanoid
    name (VRM 0.x names for a 0.x model, 1.0 names for a 1.0 model) -> bone name ("" unset)."""
    name_of = vrm1_name if spec_version.startswith("1") else vrm0_name
    return {b: lookup[name_of(b)] for b in BONES if lookup.get(name_of(b))}


def shape_key_targets(weight_names: Iterable[str], key_names: Iterable[str]) -> dict[str, str]:
    """ARKit weight name -> shape key name, for the weights the mesh has a shape key for. A
    prefix up to the last "." is ignored (FBX exports name shapes "blendShape1.eyeBlinkLeft");
    the first key of a name wins."""
    by_bare_name: dict[str, str] = {}
    for key in key_names:
        by_bare_name.setdefault(key.rsplit(".", 1)[-1].lower(), key)
    return {n: by_bare_name[n.lower()] for n in weight_names if n.lower() in by_bare_name}
