"""Applying frames to the scene: landmark empties, a driven armature, a mesh's ARKit shape keys,
and keyframes. Uses bpy;
runs on the main thread only (from the timer in ui.py). The math lives in the pure modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy

from . import names, retarget, spaces
from .humanoid import BONES
from .protocol import Frame, Hello, is_finite

COLLECTION = "mocap landmarks"
WORLD_PARENT = "mocap world"  # pose_world's empties hang from it (metres, hip-centred)
IMAGE_PARENT = "mocap image"  # the image parts' empties (a picture one unit tall)
EMPTY_SIZE = 0.02
# (pose bone or shape key, property) pairs that were set; keyed in a channel group of its name
Keyed = list[tuple[bpy.types.PoseBone | bpy.types.ShapeKey, str]]


@dataclass
class Parts:
    """Which landmark parts get empties (the panel's check boxes)."""

    pose_world: bool = True
    pose: bool = False
    hands: bool = True
    face: bool = False

    def enabled(self) -> list[str]:
        wanted = {
            "pose_world": self.pose_world,
            "pose": self.pose,
            "left_hand": self.hands,
            "right_hand": self.hands,
            "face": self.face,
        }
        return [part for part, on in wanted.items() if on]


def landmark_names(part: str, count: int, hello: Hello | None) -> list[str]:
    """Object names for a part's empties: "pose_world.left_wrist", "face.017"."""
    known = hello.names.get("hand" if part.endswith("_hand") else "pose", []) if hello else []
    if part == "face" or len(known) != count:
        return [f"{part}.{i:03d}" for i in range(count)]
    return [f"{part}.{name}" for name in known]


@dataclass
class LandmarkEmpties:
    """The empties of collection "mocap landmarks", created when a part first arrives."""

    objects: dict[str, bpy.types.Object] = field(default_factory=dict)

    def update(
        self, scene: bpy.types.Scene, frame: Frame, hello: Hello | None, parts: Parts
    ) -> list[bpy.types.Object]:
        """Move the enabled parts' empties to this frame; returns the objects moved. A part
        that was not found leaves its empties where they were."""
        moved = []
        aspect = frame.size[0] / frame.size[1] if frame.size[1] else 1.0
        for part in parts.enabled():
            points = frame.parts.get(part)
            if not points:
                continue
            parent = self._object(scene, WORLD_PARENT if part == "pose_world" else IMAGE_PARENT)
            for name, point in zip(landmark_names(part, len(points), hello), points, strict=True):
                if not is_finite(point):
                    continue
                empty = self._object(scene, name, parent)
                empty.location = (
                    spaces.world_point(point)
                    if part == "pose_world"
                    else spaces.image_point(point, aspect)
                )
                moved.append(empty)
        return moved

    def _object(
        self, scene: bpy.types.Scene, name: str, parent: bpy.types.Object | None = None
    ) -> bpy.types.Object:
        """The empty called name (made, in the collection and under parent, when missing)."""
        empty = self.objects.get(name)
        try:
            if empty is not None and empty.name == name:
                return empty
        except ReferenceError:  # the user deleted it: make it again
            pass
        empty = bpy.data.objects.get(name)
        if empty is None:
            empty = bpy.data.objects.new(name, None)
            empty.empty_display_type = "PLAIN_AXES" if parent is None else "SPHERE"
            empty.empty_display_size = 0.1 if parent is None else EMPTY_SIZE
            empty.parent = parent
            _collection(scene).objects.link(empty)
        self.objects[name] = empty
        return empty


def _collection(scene: bpy.types.Scene) -> bpy.types.Collection:
    collection = bpy.data.collections.get(COLLECTION)
    if collection is None:
        collection = bpy.data.collections.new(COLLECTION)
    if collection.name not in scene.collection.children:
        scene.collection.children.link(collection)
    return collection


def vrm_table(armature: bpy.types.Object) -> dict[str, str] | None:
    """Humanoid bone -> bone name from the VRM Add-on for Blender's data, None without it."""
    extension = getattr(armature.data, "vrm_addon_extension", None)
    if extension is None:
        return None
    try:
        spec = str(extension.spec_version)
        if spec.startswith("1"):
            human_bones = extension.vrm1.humanoid.human_bones
            lookup = {}
            for bone in BONES:
                vrm_name = names.vrm1_name(bone)
                prop = getattr(human_bones, names.snake_case(vrm_name), None)
                if prop is not None:
                    lookup[vrm_name] = prop.node.bone_name
        else:
            lookup = {hb.bone: hb.node.bone_name for hb in extension.vrm0.humanoid.human_bones}
    except AttributeError:  # another version of the VRM add-on: fall back to the bone names
        return None
    return names.vrm_addon_table(spec, lookup)


def _rest_bones(armature: bpy.types.Object) -> dict[str, retarget.RestBone]:
    """Each bone's rest orientation, direction and head, in armature space."""
    rests = {}
    for bone in armature.data.bones:
        rotation = bone.matrix_local.to_quaternion()
        rests[bone.name] = retarget.RestBone(
            rotation=(rotation.w, rotation.x, rotation.y, rotation.z),
            direction=tuple(bone.tail_local - bone.head_local),
            head=tuple(bone.head_local),
        )
    return rests


@dataclass
class ArmatureDriver:
    """Poses one armature from the stream's bones. Binding reads the rest pose once: it is done
    again when the armature, its bone count or the settings change, and on every Connect."""

    key: tuple[object, ...] | None = None
    rig: retarget.Rig | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # humanoid bone -> armature bone
    summary: str = ""

    def bind(self, armature: bpy.types.Object, bone_map: str, correct_rest: bool) -> retarget.Rig:
        key = (armature.name, armature.data.name, len(armature.data.bones), bone_map, correct_rest)
        if self.rig is None or key != self.key:
            table = vrm_table(armature) if bone_map == names.VRM else None
            self.mapping = names.resolve(bone_map, armature.data.bones.keys(), table)
            self.rig = retarget.bind(self.mapping, _rest_bones(armature), correct_rest)
            self.key = key
            self.summary = self._describe(armature, self.mapping)
        return self.rig

    @staticmethod
    def _describe(armature: bpy.types.Object, mapping: dict[str, str]) -> str:
        text = f"{len(mapping)} of {len(BONES)} bones mapped"
        constrained = [n for n in mapping.values() if armature.pose.bones[n].constraints]
        if constrained:
            text += f"; {len(constrained)} have constraints and may not follow"
        return text

    def apply(
        self, armature: bpy.types.Object, frame: Frame, bone_map: str, correct_rest: bool,
        move_hips: bool,
    ) -> Keyed:  # fmt: skip
        """Pose the armature; returns (pose bone, property) for each value set."""
        if not frame.bones:
            return []
        rig = self.bind(armature, bone_map, correct_rest)
        changed = []
        for name, rotation in retarget.pose(rig, frame.bones).items():
            pose_bone = armature.pose.bones[name]
            if pose_bone.rotation_mode != "QUATERNION":
                pose_bone.rotation_mode = "QUATERNION"
            previous = tuple(pose_bone.rotation_quaternion)
            pose_bone.rotation_quaternion = spaces.same_hemisphere(rotation, previous)
            changed.append((pose_bone, "rotation_quaternion"))
        hips = retarget.hips_location(rig, frame.hips_position) if frame.hips_position else None
        if move_hips and hips is not None:
            name, location = hips
            armature.pose.bones[name].location = location
            changed.append((armature.pose.bones[name], "location"))
        return changed


@dataclass
class ShapeKeyDriver:
    """Sets a mesh's shape keys named like the stream's ARKit weights (either case). The match
    is made again when the mesh or its shape keys change, and on every Connect."""

    key: tuple[object, ...] | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # ARKit name -> shape key name
    summary: str = ""

    def apply(self, mesh: bpy.types.Object, weights: dict[str, float]) -> Keyed:
        """Set the matching shape keys' values; returns (shape key, "value") for each."""
        shape_keys = mesh.data.shape_keys
        blocks = shape_keys.key_blocks if shape_keys is not None else {}
        key = (mesh.name, tuple(blocks.keys()), tuple(weights))
        if key != self.key:
            self.mapping = names.shape_key_targets(weights, blocks.keys())
            self.key = key
            self.summary = f"{len(self.mapping)} of {len(weights)} ARKit shape keys found"
        changed = []
        for name, key_name in self.mapping.items():
            block = blocks[key_name]
            block.value = weights[name]
            changed.append((block, "value"))
        return changed


def record_frame(
    scene: bpy.types.Scene, frame: Frame, empties: list[bpy.types.Object], values: Keyed
) -> int:
    """Keyframe what this frame set, at scene frame round(t x scene fps); returns that frame.
    The scene's end grows to take it."""
    fps = scene.render.fps / scene.render.fps_base
    number = round(frame.t_s * fps)
    for empty in empties:
        empty.keyframe_insert("location", frame=number)
    for owner, path in values:
        owner.keyframe_insert(path, frame=number, group=owner.name)
    scene.frame_end = max(scene.frame_end, number)
    return number
