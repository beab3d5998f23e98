"""The humanoid skeleton: Unity's 55 bones, their hierarchy, the rest pose, forward kinematics."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy.spatial.transform import Rotation

from mocap.solve import humanoid
from mocap.solve.humanoid import BONES, INDEX, PARENTS, forward_kinematics, tip_positions

# The 55 names as ../shared/PROTOCOLS.md lists them (Unity's HumanBodyBones).
PROTOCOL_BODY_BONES = (
    "Hips", "LeftUpperLeg", "RightUpperLeg", "LeftLowerLeg", "RightLowerLeg", "LeftFoot",
    "RightFoot", "Spine", "Chest", "UpperChest", "Neck", "Head", "LeftShoulder", "RightShoulder",
    "LeftUpperArm", "RightUpperArm", "LeftLowerArm", "RightLowerArm", "LeftHand", "RightHand",
    "LeftToes", "RightToes", "LeftEye", "RightEye", "Jaw",
)  # fmt: skip
PROTOCOL_FINGER_BONES = tuple(
    f"{side}{finger}{phalanx}"
    for side in ("Left", "Right")
    for finger in ("Thumb", "Index", "Middle", "Ring", "Little")
    for phalanx in ("Proximal", "Intermediate", "Distal")
)


def rest_world() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    return forward_kinematics(humanoid.REST_ROTATIONS)


def test_the_55_bones_in_the_protocol_order_parents_first() -> None:
    assert PROTOCOL_BODY_BONES + PROTOCOL_FINGER_BONES == BONES
    assert PARENTS[INDEX["Hips"]] == -1
    assert all(0 <= parent < child for child, parent in enumerate(PARENTS) if child)


@pytest.mark.parametrize(
    ("bone", "parent"),
    [
        ("Neck", "UpperChest"),
        ("LeftShoulder", "UpperChest"),
        ("RightUpperArm", "RightShoulder"),
        ("LeftThumbProximal", "LeftHand"),
        ("RightLittleDistal", "RightLittleIntermediate"),
        ("LeftToes", "LeftFoot"),
        ("RightEye", "Head"),
        ("Jaw", "Head"),
    ],
)
def test_parents(bone: str, parent: str) -> None:
    assert BONES[PARENTS[INDEX[bone]]] == parent


def test_rest_pose_is_a_t_pose_facing_plus_z_with_the_right_hand_at_plus_x() -> None:
    positions, world_rotations = rest_world()
    at = {name: positions[i] for i, name in enumerate(BONES)}
    np.testing.assert_allclose(world_rotations, humanoid.REST_ROTATIONS)
    assert at["RightHand"][0] > 0.5 > -0.5 > at["LeftHand"][0]
    assert at["LeftHand"][1] == pytest.approx(at["LeftUpperArm"][1])  # arms straight out
    assert at["LeftFoot"][1] < at["LeftLowerLeg"][1] < at["LeftUpperLeg"][1] < at["Hips"][1]
    assert at["LeftFoot"][0] == pytest.approx(at["LeftUpperLeg"][0])  # legs straight down
    # Thumbs forward (+Z), fingers along the arm, eyes in front of the head.
    assert at["LeftThumbDistal"][2] > at["LeftIndexProximal"][2] > at["LeftLittleProximal"][2]
    assert at["RightMiddleDistal"][0] > at["RightMiddleProximal"][0] > at["RightHand"][0]
    assert at["LeftEye"][2] > at["Head"][2] and at["LeftEye"][0] < 0 < at["RightEye"][0]
    head_top = tip_positions(positions, world_rotations)[INDEX["Head"]][1]
    assert 1.5 < head_top < 1.7  # ~1.6 m tall


def test_rest_pose_is_mirror_symmetric() -> None:
    mirrored = humanoid.REST_LOCAL_POSITIONS[humanoid.MIRROR] * [-1.0, 1.0, 1.0]
    np.testing.assert_allclose(mirrored, humanoid.REST_LOCAL_POSITIONS)
    assert [BONES[i] for i in humanoid.MIRROR[humanoid.MIRROR]] == list(BONES)
    assert BONES[humanoid.MIRROR[INDEX["LeftRingIntermediate"]]] == "RightRingIntermediate"
    assert BONES[humanoid.MIRROR[INDEX["Spine"]]] == "Spine"


def test_forward_kinematics_turns_children_with_their_parent() -> None:
    local = humanoid.REST_ROTATIONS.copy()
    # The left arm hangs down: a quarter turn about +Z takes -X to -Y.
    local[INDEX["LeftUpperArm"]] = Rotation.from_euler("z", 90, degrees=True).as_quat()
    positions, world_rotations = forward_kinematics(local)
    rest, _ = rest_world()
    shoulder = rest[INDEX["LeftUpperArm"]]
    arm_length = np.linalg.norm(rest[INDEX["LeftHand"]] - shoulder)
    hanging = shoulder - np.array([0, arm_length, 0])
    np.testing.assert_allclose(positions[INDEX["LeftHand"]], hanging)
    np.testing.assert_allclose(positions[INDEX["RightHand"]], rest[INDEX["RightHand"]])
    turned = Rotation.from_quat(world_rotations[INDEX["LeftIndexDistal"]])
    np.testing.assert_allclose(turned.apply([-1.0, 0, 0]), [0, -1.0, 0], atol=1e-12)


def test_forward_kinematics_applies_the_root_transform() -> None:
    half_turn = Rotation.from_euler("y", 180, degrees=True).as_quat()
    positions, _ = forward_kinematics(humanoid.REST_ROTATIONS, np.array([1.0, 0, 2.0]), half_turn)
    rest, _ = rest_world()
    np.testing.assert_allclose(positions, rest * [-1, 1, -1] + [1.0, 0, 2.0], atol=1e-12)
