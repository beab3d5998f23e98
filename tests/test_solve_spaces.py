"""The conventions: MediaPipe's space to Unity's, and the mirror reflection of a solved pose."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from mocap.solve import humanoid
from mocap.solve.humanoid import BONES, INDEX, forward_kinematics
from mocap.solve.spaces import mirror_rotations, rows_to_unity, unity_scale

REFLECT_X = np.diag([-1.0, 1.0, 1.0])


def test_a_subject_facing_the_camera_becomes_an_avatar_facing_plus_z() -> None:
    # MediaPipe: x toward the image's right, y down, z away from the camera. A subject facing the
    # camera has their right shoulder on the image's left, their head up, their nose nearer.
    right_shoulder_mp, head_top_mp, nose_mp = [-0.2, -0.4, 0.0], [0.0, -0.7, 0.0], [0, -0.6, -0.1]
    right_shoulder, head_top, nose = rows_to_unity(
        [right_shoulder_mp, head_top_mp, nose_mp], (1.0, 1.0, 1.0)
    )
    assert right_shoulder[0] > 0  # the avatar's own right is +X
    assert head_top[1] > 0  # up is +Y
    assert nose[2] > 0  # forward (toward the camera, which the avatar faces) is +Z
    as_factors = np.array([right_shoulder_mp, head_top_mp, nose_mp]) * unity_scale((1.0, 1.0, 1.0))
    np.testing.assert_array_equal(as_factors, [right_shoulder, head_top, nose])


def test_the_conversion_is_a_reflection_as_between_right_and_left_handed_frames() -> None:
    assert np.linalg.det(rows_to_unity(np.eye(3).tolist(), (1.0, 1.0, 1.0))) == -1.0
    assert np.linalg.det(np.diag(unity_scale((1.0, 1.0, 1.0)))) == -1.0


@settings(max_examples=25)
@given(st.integers(0, 2**31))
def test_mirroring_a_rotation_is_conjugation_by_the_x_reflection(seed: int) -> None:
    local = Rotation.random(len(BONES), random_state=seed).as_quat()
    mirrored = mirror_rotations(local.tolist())
    for bone, other in enumerate(humanoid.MIRROR):
        expected = REFLECT_X @ Rotation.from_quat(local[other]).as_matrix() @ REFLECT_X
        np.testing.assert_allclose(
            Rotation.from_quat(mirrored[bone]).as_matrix(), expected, atol=1e-12
        )
    np.testing.assert_allclose(mirror_rotations(mirrored), local, rtol=0, atol=0)


@settings(max_examples=10)
@given(st.integers(0, 2**31))
def test_a_mirrored_pose_is_the_mirror_image_of_the_pose(seed: int) -> None:
    local = Rotation.random(len(BONES), random_state=seed).as_quat()
    positions, _ = forward_kinematics(local)
    mirrored_positions, _ = forward_kinematics(np.array(mirror_rotations(local.tolist())))
    np.testing.assert_allclose(
        mirrored_positions, positions[humanoid.MIRROR] * [-1.0, 1.0, 1.0], atol=1e-12
    )


def test_mirroring_a_raised_right_arm_raises_the_left_arm() -> None:
    local = humanoid.REST_ROTATIONS.copy()
    local[INDEX["RightUpperArm"]] = Rotation.from_euler("z", 90, degrees=True).as_quat()
    positions, _ = forward_kinematics(np.array(mirror_rotations(local.tolist())))
    assert positions[INDEX["LeftHand"], 1] > positions[INDEX["Head"], 1]
    assert positions[INDEX["RightHand"], 1] < positions[INDEX["Head"], 1]
