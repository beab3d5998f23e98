"""The Blender add-on's pure modules: message parsing, space conversions, the humanoid table,
retargeting onto an armature's rest pose, and the bone-name maps. Rotations are checked against
scipy's, and the humanoid against mocap's own solver tables."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest
from mocap_blender import humanoid, names, retarget, spaces
from mocap_blender.protocol import Frame, Hello, MessageError, is_finite, parse_message
from scipy.spatial.transform import Rotation

from mocap.encode.frame_json import encode_hello
from mocap.frames import ImageSize
from mocap.skeleton import ARKIT_NAMES
from mocap.solve import humanoid as mocap_humanoid

from .live_replay import RECORDED_STREAM
from .runs import DATA

# Unity -> Blender for vectors: the avatar's left (-X), up (+Y), forward (+Z) become +X, +Z, -Y.
C = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def wxyz_to_rotation(q: spaces.Quaternion) -> Rotation:
    w, x, y, z = q
    return Rotation.from_quat([x, y, z, w])


def rotation_to_wxyz(rotation: Rotation) -> spaces.Quaternion:
    x, y, z, w = rotation.as_quat()
    return (float(w), float(x), float(y), float(z))


def assert_same_rotation(a: spaces.Quaternion, b: spaces.Quaternion, tol: float = 1e-9) -> None:
    assert abs(abs(float(np.dot(a, b))) - 1.0) < tol, (a, b)


def random_unity_quaternions(count: int) -> list[tuple[float, float, float, float]]:
    return [tuple(q) for q in Rotation.random(count, random_state=7).as_quat().tolist()]


# --- protocol ----------------------------------------------------------------------------------


def test_parses_a_real_recorded_frame() -> None:
    with gzip.open(DATA / "recording_thumbs_up.jsonl.gz", "rt") as recording:
        lines = recording.read().splitlines()
    raw = json.loads(lines[-1])
    frame = parse_message(lines[-1])
    assert isinstance(frame, Frame)
    assert (frame.seq, frame.t_s, frame.size) == (raw["seq"], raw["t"], tuple(raw["size"]))
    assert len(frame.parts["pose_world"] or []) == 33
    assert len(frame.parts["face"] or []) == 478
    assert frame.parts["right_hand"] is not None or frame.parts["left_hand"] is not None
    assert len(frame.bones) == 55
    assert frame.bones["LeftUpperArm"] == tuple(raw["bones"]["LeftUpperArm"])
    assert frame.bones["Hips"] == tuple(raw["bones"]["Hips"]["rotation"])
    assert frame.hips_position == tuple(raw["bones"]["Hips"]["position"])


def test_parses_the_arkit_weights_by_name() -> None:
    """The engine clients' recorded stream carries the face's 51 ARKit weights (FaceLandmarker's
    on the same video frames) and their names in the hello."""
    hello_line, frame_line = (RECORDED_STREAM.read_text().splitlines())[:2]
    hello, frame = parse_message(hello_line), parse_message(frame_line)
    assert isinstance(hello, Hello) and hello.names["arkit"] == list(ARKIT_NAMES)
    assert isinstance(frame, Frame) and frame.arkit is not None
    assert list(frame.arkit) == list(ARKIT_NAMES)
    assert frame.arkit["eyeSquintLeft"] == json.loads(frame_line)["arkit"]["eyeSquintLeft"] > 0.3
    assert all(0 <= weight <= 1 for weight in frame.arkit.values())
    without_face = parse_message('{"type":"frame","seq":1,"t":0,"size":[4,3],"arkit":null}')
    assert isinstance(without_face, Frame) and without_face.arkit is None
    lenient = parse_message('{"type":"frame","seq":1,"t":0,"size":[4,3],"arkit":{"a":null,"b":1}}')
    assert isinstance(lenient, Frame) and lenient.arkit == {"b": 1.0}


def test_parses_mocaps_hello() -> None:
    hello = parse_message(encode_hello(ImageSize(1280, 720), 25.0, 478))
    assert isinstance(hello, Hello)
    assert hello.parts["face"] == 478
    assert hello.source_size == (1280, 720)
    assert hello.names["pose"][15] == "left_wrist" and hello.names["hand"][0] == "wrist"


def test_absent_parts_and_nulls() -> None:
    frame = parse_message(
        '{"type":"frame","seq":3,"t":0.12,"size":[640,480],"pose":[[0.5,null,0.1,0.9]],'
        '"pose_world":null,"face":null,"left_hand":null,"right_hand":null}'
    )
    assert isinstance(frame, Frame)
    assert frame.parts["pose_world"] is None and frame.bones == {} and frame.hips_position is None
    point = (frame.parts["pose"] or [])[0]
    assert not is_finite(point) and is_finite((0.5, 0.2, 0.1))


@pytest.mark.parametrize(
    "text", ["nope", "[1, 2]", '{"type":"frame","seq":1}', '{"type":"hello","schema":"x/9"}']
)
def test_malformed_messages_are_refused(text: str) -> None:
    with pytest.raises(MessageError):
        parse_message(text)


def test_other_message_types_are_ignored() -> None:
    assert parse_message('{"type":"photo_refused","reason":"too big"}') is None


# --- spaces ------------------------------------------------------------------------------------


def test_world_landmarks_stand_up_facing_minus_y() -> None:
    # MediaPipe: y down, z away from the camera. A nose 0.6 m above the hips and 0.1 m nearer
    # the camera than them ends up 0.6 m up (+Z) and 0.1 m toward the front view (-Y).
    assert spaces.world_point((0.02, -0.6, -0.1, 0.99)) == (0.02, -0.1, 0.6)


def test_image_landmarks_sit_on_a_picture_one_unit_tall() -> None:
    aspect = 16 / 9
    assert spaces.image_point((0.5, 0.5, 0.0), aspect) == (0.0, 0.0, 0.0)
    top_right = spaces.image_point((1.0, 0.0, 0.25), aspect)
    assert top_right == pytest.approx((aspect / 2, 0.25 * aspect, 0.5))


def test_unity_rotations_become_the_same_motion_in_blender() -> None:
    for unity in random_unity_quaternions(50):
        blender = wxyz_to_rotation(spaces.unity_rotation(unity)).as_matrix()
        # Unity's quaternion formula on components is scipy's: R_blender = C R_unity C^-1.
        expected = C @ Rotation.from_quat(unity).as_matrix() @ C.T
        np.testing.assert_allclose(blender, expected, atol=1e-12)


def test_lowering_the_left_arm() -> None:
    # In Unity the avatar's left arm rests along -X; turning it down to -Y is 90 degrees about
    # +Z (x, y, z, w). In Blender the left arm rests along +X and must turn down to -Z.
    lower_left_arm = Rotation.from_rotvec([0, 0, math.pi / 2]).as_quat().tolist()
    turned = wxyz_to_rotation(spaces.unity_rotation(tuple(lower_left_arm))).apply([1.0, 0, 0])
    np.testing.assert_allclose(turned, [0, 0, -1], atol=1e-12)
    assert spaces.unity_vector((-1.0, 0.0, 0.0)) == (1.0, -0.0, 0.0)  # the left hand: +X


def test_quaternion_algebra_matches_scipy() -> None:
    a, b = (rotation_to_wxyz(r) for r in Rotation.random(2, random_state=3))
    product = wxyz_to_rotation(a) * wxyz_to_rotation(b)
    assert_same_rotation(spaces.multiply(a, b), rotation_to_wxyz(product))
    assert_same_rotation(spaces.multiply(a, spaces.inverse(a)), spaces.IDENTITY)
    np.testing.assert_allclose(
        spaces.rotate(a, (0.3, -1.0, 2.0)), wxyz_to_rotation(a).apply([0.3, -1.0, 2.0]), atol=1e-12
    )


@pytest.mark.parametrize(
    ("source", "target"),
    [((1, 0, 0), (0, 0, -1)), ((0.2, 0.1, 1), (1, 2, 3)), ((1, 0, 0), (-1, 0, 0)),
     ((0, 0, 2), (0, 0, -1)), ((0, 1, 0), (0, 1, 0))],
)  # fmt: skip
def test_swing_turns_one_direction_onto_another(
    source: tuple[float, ...], target: tuple[float, ...]
) -> None:
    turned = spaces.rotate(spaces.swing(source, target), source)  # type: ignore[arg-type]
    np.testing.assert_allclose(
        np.array(turned) / np.linalg.norm(turned), np.array(target) / np.linalg.norm(target),
        atol=1e-9,
    )  # fmt: skip


def test_same_hemisphere() -> None:
    q = (0.5, 0.5, 0.5, 0.5)
    assert spaces.same_hemisphere(q, (1.0, 0.0, 0.0, 0.0)) == q
    assert spaces.same_hemisphere(q, (-1.0, 0.0, 0.0, 0.0)) == (-0.5, -0.5, -0.5, -0.5)


# --- the humanoid table ------------------------------------------------------------------------


def test_the_bones_and_parents_are_mocaps() -> None:
    assert set(humanoid.BONES) == set(mocap_humanoid.BONES)
    for index, bone in enumerate(mocap_humanoid.BONES):
        parent = mocap_humanoid.PARENTS[index]
        assert humanoid.PARENTS[bone] == (mocap_humanoid.BONES[parent] if parent >= 0 else None)


def test_rest_directions_are_mocaps_rest_pose() -> None:
    main_child = {"Hips": "Spine", "UpperChest": "Neck", "Head": None,
                  "LeftHand": "LeftMiddleProximal", "RightHand": "RightMiddleProximal"}  # fmt: skip
    for index, bone in enumerate(mocap_humanoid.BONES):
        children = [b for b in humanoid.BONES if humanoid.PARENTS[b] == bone]
        child = main_child.get(bone, children[0] if children else None)
        offset = (
            mocap_humanoid.REST_LOCAL_POSITIONS[mocap_humanoid.INDEX[child]]
            if child
            else mocap_humanoid.TIP_OFFSETS[index]
        )
        np.testing.assert_allclose(
            humanoid.rest_direction(bone), offset / np.linalg.norm(offset), atol=1e-12
        )


def test_chains_and_ancestors() -> None:
    without_upper_chest = frozenset(humanoid.BONES) - {"UpperChest"}
    assert humanoid.nearest_mapped_ancestor("Neck", without_upper_chest) == "Chest"
    assert humanoid.chain_to("Neck", "Chest") == ["UpperChest", "Neck"]
    assert humanoid.nearest_mapped_ancestor("Hips", without_upper_chest) is None
    assert humanoid.chain_to("Spine", None) == ["Hips", "Spine"]


# --- retargeting -------------------------------------------------------------------------------


def rest(rotation: Rotation, direction: tuple[float, float, float]) -> retarget.RestBone:
    return retarget.RestBone(rotation_to_wxyz(rotation), direction, (0.0, 0.0, 0.0))


def t_pose_direction(bone: str) -> tuple[float, float, float]:
    return spaces.unity_vector(humanoid.rest_direction(bone))


def test_a_t_pose_rig_takes_the_rotation_in_each_bones_own_axes() -> None:
    # Rest orientations chosen at random about each bone's own direction (its roll).
    rests = {b: rest(Rotation.random(random_state=i), t_pose_direction(b))
             for i, b in enumerate(humanoid.BONES)}  # fmt: skip
    rig = retarget.bind({b: b for b in humanoid.BONES}, rests, correct_rest=True)
    stream = dict(zip(humanoid.BONES, random_unity_quaternions(len(humanoid.BONES)), strict=True))
    basis = retarget.pose(rig, stream)
    for bone in humanoid.BONES:
        local = wxyz_to_rotation(spaces.unity_rotation(stream[bone]))
        rest_rotation = wxyz_to_rotation(rests[bone].rotation)
        expected = rest_rotation.inv() * local * rest_rotation
        assert_same_rotation(basis[bone], rotation_to_wxyz(expected), tol=1e-9)


def test_a_missing_bone_is_folded_into_its_child() -> None:
    bones = [b for b in humanoid.BONES if b != "UpperChest"]
    rests = {b: rest(Rotation.identity(), t_pose_direction(b)) for b in bones}
    rig = retarget.bind({b: b for b in bones}, rests, correct_rest=True)
    upper_chest, neck = random_unity_quaternions(2)
    basis = retarget.pose(rig, {"UpperChest": upper_chest, "Neck": neck})
    both = Rotation.from_quat(upper_chest) * Rotation.from_quat(neck)
    expected = spaces.unity_rotation(tuple(both.as_quat().tolist()))
    assert_same_rotation(basis["Neck"], expected)
    assert_same_rotation(basis["Chest"], spaces.IDENTITY)


def a_pose_rig(correct_rest: bool) -> tuple[retarget.Rig, dict[str, retarget.RestBone]]:
    """Shoulder to hand of the left arm, the arm hanging 40 degrees below the T-pose's."""
    down = (math.cos(math.radians(40)), 0.0, -math.sin(math.radians(40)))
    rests = {
        "LeftShoulder": rest(Rotation.identity(), t_pose_direction("LeftShoulder")),
        "LeftUpperArm": rest(Rotation.from_euler("y", 40, degrees=True), down),
        "LeftLowerArm": rest(Rotation.from_euler("y", 40, degrees=True), down),
    }
    return retarget.bind({b: b for b in rests}, rests, correct_rest), rests


def test_t_pose_correction_lifts_an_a_pose_arm() -> None:
    rig, rests = a_pose_rig(correct_rest=True)
    identity = (0.0, 0.0, 0.0, 1.0)
    basis = retarget.pose(rig, dict.fromkeys(rests, identity))
    # The upper arm, posed: its rest direction, turned by its rest orientation's motion.
    upper = wxyz_to_rotation(rests["LeftUpperArm"].rotation)
    posed = upper * wxyz_to_rotation(basis["LeftUpperArm"]) * upper.inv()
    np.testing.assert_allclose(posed.apply(rests["LeftUpperArm"].direction), [1, 0, 0], atol=1e-9)
    # The forearm keeps straight with it: only the upper arm's swing is undone.
    assert_same_rotation(basis["LeftLowerArm"], spaces.IDENTITY)

    uncorrected, _ = a_pose_rig(correct_rest=False)
    assert_same_rotation(
        retarget.pose(uncorrected, {"LeftUpperArm": identity})["LeftUpperArm"], spaces.IDENTITY
    )


def test_a_bone_built_the_other_way_is_not_swung() -> None:
    pointing_down = retarget.rest_correction((0.0, 0.0, -1.0), "Hips")
    assert pointing_down == spaces.IDENTITY
    assert retarget.rest_correction((0.0, -0.25, 0.97), "Hips") != spaces.IDENTITY


def test_hips_position_moves_the_hips_bone_in_its_rest_axes() -> None:
    hips_rest = rest(Rotation.from_euler("x", -90, degrees=True), (0.0, 0.0, 1.0))
    rests = {"Hips": retarget.RestBone(hips_rest.rotation, (0.0, 0.0, 1.0), (0.0, 0.0, 1.7))}
    rig = retarget.bind({"Hips": "hips"}, {"hips": rests["Hips"]}, correct_rest=True)
    assert rig.hips_scale == pytest.approx(2.0)
    name, location = retarget.hips_location(rig, (0.0, 0.75, 0.1)) or ("", (0.0, 0.0, 0.0))
    # 0.1 m lower and 0.1 m forward in Unity, doubled: (0, -0.2, -0.2) in armature space.
    in_armature = wxyz_to_rotation(hips_rest.rotation).apply(location)
    assert name == "hips"
    np.testing.assert_allclose(in_armature, [0.0, -0.2, -0.2], atol=1e-12)


# --- names -------------------------------------------------------------------------------------


def test_vrm_names() -> None:
    assert names.vrm0_name("LeftUpperArm") == "leftUpperArm"
    assert names.vrm0_name("LeftThumbProximal") == "leftThumbProximal"
    assert names.vrm1_name("LeftThumbProximal") == "leftThumbMetacarpal"
    assert names.vrm1_name("RightThumbIntermediate") == "rightThumbProximal"
    assert names.vrm1_name("RightThumbDistal") == "rightThumbDistal"
    assert names.snake_case("leftThumbMetacarpal") == "left_thumb_metacarpal"


def test_vrm_bone_names_are_matched_ignoring_case() -> None:
    bones = ["HIPS", "leftUpperArm", "spine", "J_Sec_Hair1"]
    assert names.resolve(names.VRM, bones) == {
        "Hips": "HIPS", "LeftUpperArm": "leftUpperArm", "Spine": "spine",
    }  # fmt: skip


def test_shape_keys_take_arkit_weights_in_either_case() -> None:
    keys = ["Basis", "EyeBlinkLeft", "eyeBlinkRight", "JAWOPEN", "Joy", "mouthSmile_L",
            "blendShape1.cheekPuff", "cheekPuff", "eyeBlinkLeft.001"]  # fmt: skip
    weights = ["eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "mouthSmileLeft", "cheekPuff"]
    assert names.shape_key_targets(weights, keys) == {
        "eyeBlinkLeft": "EyeBlinkLeft", "eyeBlinkRight": "eyeBlinkRight", "jawOpen": "JAWOPEN",
        "cheekPuff": "blendShape1.cheekPuff",
    }  # fmt: skip


def test_the_vrm_addons_table_wins() -> None:
    lookup = {"hips": "J_Bip_C_Hips", "leftThumbMetacarpal": "J_Bip_L_Thumb1", "spine": ""}
    table = names.vrm_addon_table("1.0", lookup)
    assert table == {"Hips": "J_Bip_C_Hips", "LeftThumbProximal": "J_Bip_L_Thumb1"}
    bones = ["J_Bip_C_Hips", "J_Bip_L_Thumb1", "hips"]
    assert names.resolve(names.VRM, bones, table) == table
    assert names.vrm_addon_table("0.0", {"leftThumbProximal": "thumb"}) == {
        "LeftThumbProximal": "thumb"
    }


def test_rigify_maps() -> None:
    metarig = names.rigify_metarig_names()
    assert len(metarig) == 54 and "Jaw" not in metarig
    assert metarig["Hips"] == "spine" and metarig["Head"] == "spine.006"
    assert metarig["LeftUpperArm"] == "upper_arm.L" and metarig["RightLowerLeg"] == "shin.R"
    assert metarig["LeftThumbProximal"] == "thumb.01.L"
    assert metarig["RightLittleDistal"] == "f_pinky.03.R"
    generated = ["DEF-spine", "DEF-upper_arm.L", "DEF-upper_arm.L.001", "ORG-upper_arm.L"]
    assert names.resolve(names.RIGIFY_DEF, generated) == {
        "Hips": "DEF-spine", "LeftUpperArm": "DEF-upper_arm.L",
    }  # fmt: skip
    assert names.resolve(names.RIGIFY_METARIG, ["upper_arm.L", "Upper_Arm.L"]) == {
        "LeftUpperArm": "upper_arm.L"
    }
    with pytest.raises(ValueError, match="unknown bone map"):
        names.resolve("MIXAMO", [])
