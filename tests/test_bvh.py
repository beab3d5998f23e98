"""mocap.recording.bvh: the hierarchy and motion as an independent reader (the `bvh` package)
sees them."""

from __future__ import annotations

import numpy as np
import pytest
from bvh import Bvh
from scipy.spatial.transform import Rotation

from mocap.recording.bvh import (
    CHANNEL_COUNT,
    END_SITE_COUNT,
    UNITS_PER_METRE,
    bvh_lines,
    continued_angles,
    motion_values,
    rotations_to_bvh_space,
    to_bvh_space,
)
from mocap.solve import AvatarFrame
from mocap.solve.humanoid import (
    BONES,
    INDEX,
    PARENTS,
    REST_LOCAL_POSITIONS,
    TIP_OFFSETS,
    forward_kinematics,
)
from tests.bvh_fk import joint_world

MIRROR_X = np.diag([-1.0, 1.0, 1.0])


def random_avatar(seed: int, *, gimbal_lock: bool = False) -> AvatarFrame:
    rng = np.random.default_rng(seed)
    rotations = Rotation.random(len(BONES), random_state=seed)
    if gimbal_lock:  # X at 90 degrees, where ZXY angles are degenerate
        angles = rotations.as_euler("ZXY")
        angles[:, 1] = np.pi / 2
        rotations = Rotation.from_euler("ZXY", angles)
    positions = REST_LOCAL_POSITIONS.copy()
    positions[INDEX["Hips"]] = [0.0, 0.72, 0.0]
    return AvatarFrame(
        bone_names=BONES,
        local_positions=positions,
        local_rotations=rotations.as_quat(),
        root_position=rng.uniform(-1, 1, 3),
        root_rotation=Rotation.random(random_state=seed + 1).as_quat(),
        blendshapes={"A": 0.5},
    )


def export(avatars: list[AvatarFrame], frame_time_s: float = 0.04) -> Bvh:
    motion = [motion_values(avatar) for avatar in avatars]
    return Bvh("\n".join(bvh_lines(motion, len(motion), frame_time_s)) + "\n")


def test_the_hierarchy_is_the_humanoid_rest_skeleton_in_centimetres() -> None:
    mocap = export([random_avatar(0)])
    names = mocap.get_joints_names()
    assert sorted(names) == sorted(BONES) and names[0] == "Hips"
    assert len(mocap.search("End", "Site")) == END_SITE_COUNT == 15
    assert mocap.joint_channels("Hips") == [
        "Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation",
    ]  # fmt: skip
    assert mocap.joint_offset("Hips") == (0.0, 0.0, 0.0)
    for name in BONES[1:]:
        assert mocap.joint_channels(name) == ["Zrotation", "Xrotation", "Yrotation"]
        assert mocap.joint_parent(name).name == BONES[PARENTS[INDEX[name]]]
        expected = MIRROR_X @ REST_LOCAL_POSITIONS[INDEX[name]] * 100.0
        assert mocap.joint_offset(name) == pytest.approx(expected, abs=1e-4)
    # the left arm is on the +X side in BVH's right-handed frame (the avatar faces +Z)
    assert mocap.joint_offset("LeftUpperArm")[0] > 0
    tips = mocap.search("End", "Site")
    leaf_tips = [TIP_OFFSETS[INDEX[tip.parent.name]] for tip in tips]
    for tip, expected_m in zip(tips, leaf_tips, strict=True):
        assert [float(v) for v in tip["OFFSET"]] == pytest.approx(
            MIRROR_X @ expected_m * 100.0, abs=1e-4
        )
    assert len(mocap.frames[0]) == CHANNEL_COUNT == 6 + 3 * 54


def test_frame_count_and_frame_time() -> None:
    mocap = export([random_avatar(seed) for seed in range(3)], frame_time_s=1 / 30)
    assert mocap.nframes == len(mocap.frames) == 3
    assert mocap.frame_time == pytest.approx(1 / 30, abs=1e-6)


def test_quaternion_mirror_is_the_reflection_of_the_rotation_matrix() -> None:
    rotations = Rotation.random(50, random_state=3)
    mirrored = Rotation.from_quat(rotations_to_bvh_space(rotations.as_quat()))
    expected = MIRROR_X @ rotations.as_matrix() @ MIRROR_X
    assert np.allclose(mirrored.as_matrix(), expected, atol=1e-12)


@pytest.mark.parametrize("gimbal_lock", [False, True])
def test_every_joint_lands_where_the_solver_put_it(gimbal_lock: bool) -> None:
    """World joint positions from the BVH text alone == the avatar's forward kinematics, in BVH
    space: the axis conversion, Euler order, root and offsets all agree."""
    avatars = [random_avatar(seed, gimbal_lock=gimbal_lock) for seed in range(4)]
    mocap = export(avatars)
    for frame, avatar in enumerate(avatars):
        expected_m, _ = forward_kinematics(
            avatar.local_rotations, avatar.root_position, avatar.root_rotation,
            avatar.local_positions,
        )  # fmt: skip
        world = joint_world(mocap, frame)
        for name in BONES:
            expected = to_bvh_space(expected_m[INDEX[name]])
            # printed to 1e-4 degrees: a metre-long chain is off by micrometres at most
            assert world[name][0] == pytest.approx(expected, abs=0.01), name
    assert UNITS_PER_METRE == 100.0


def test_angles_do_not_wrap_between_frames() -> None:
    """A bone turning steadily through 180 degrees: its angle keeps going the same way, no jump
    by a full turn between frames."""
    avatars = []
    for yaw_deg in (170.0, 179.0, 188.0, 197.0):
        avatar = random_avatar(0)
        rotations = avatar.local_rotations.copy()
        rotations[INDEX["Hips"]] = Rotation.from_euler("y", yaw_deg, degrees=True).as_quat()
        avatars.append(
            AvatarFrame(avatar.bone_names, avatar.local_positions, rotations,
                        np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0]), {})
        )  # fmt: skip
    mocap = export(avatars)
    yaw = [float(v) for (v,) in mocap.frames_joint_channels("Hips", ["Yrotation"])]
    # BVH space mirrors X, so a Unity yaw of +a is -a here
    assert yaw == pytest.approx([-170.0, -179.0, -188.0, -197.0], abs=1e-3)
    assert continued_angles(np.array([0, 0, 0, 179.0]), np.array([0, 0, 0, -179.0]))[3] == -181.0
