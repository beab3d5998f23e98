"""The solver run backwards: the PoseFrame that MediaPipe would report for a posed avatar.

For round-trip tests (pose the avatar, make its landmarks, solve, compare) and the bench's motion
phase (motion with known truth). The subject is the unmirrored avatar facing the camera; every
landmark comes from a joint of the humanoid (shoulders from the UpperArms, hand landmarks from the
finger joints and tips, ...), the face from the solver's own canonical points carried by the Head.
One orthographic camera projects the body, hands and face alike, so that image-space directions
are exact.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from mocap import skeleton
from mocap.frames import ImageSize, PoseFrame, frozen
from mocap.solve.face import (
    CANONICAL_FACE_CM,
    EYES,
    INNER_LIPS,
    IRIS_CENTRES,
    MOUTH_CORNERS,
    MOUTH_NEUTRAL_WIDTH_CM,
    NEUTRAL_IRIS_HEIGHT_CM,
)
from mocap.solve.humanoid import (
    FINGERS,
    INDEX,
    PHALANGES,
    REST_ROTATIONS,
    forward_kinematics,
    tip_positions,
)

Array = npt.NDArray[np.float64]

IMAGE_SIZE = ImageSize(1280, 720)
PIXELS_PER_METRE = 380.0  # the whole 1.6 m avatar fits in the 720 px height
# Where the face's canonical origin sits relative to the Head joint, metres (avatar axes).
FACE_ORIGIN_FROM_HEAD_M = np.array([0.0, 0.04, 0.02])

# Pose landmark -> the humanoid joint it marks (the pose model's hand points at the knuckles, its
# heels at the ankles: the solver reads neither).
_POSE_JOINTS = {
    11: "LeftUpperArm", 12: "RightUpperArm", 13: "LeftLowerArm", 14: "RightLowerArm",
    15: "LeftHand", 16: "RightHand", 17: "LeftLittleProximal", 18: "RightLittleProximal",
    19: "LeftIndexProximal", 20: "RightIndexProximal", 21: "LeftThumbIntermediate",
    22: "RightThumbIntermediate", 23: "LeftUpperLeg", 24: "RightUpperLeg", 25: "LeftLowerLeg",
    26: "RightLowerLeg", 27: "LeftFoot", 28: "RightFoot", 29: "LeftFoot", 30: "RightFoot",
    31: "LeftToes", 32: "RightToes",
}  # fmt: skip
# Pose landmarks on the face (nose, eyes, ears, mouth) -> face mesh landmarks near them.
_POSE_FACE_POINTS = {
    0: 4, 1: 362, 2: 386, 3: 263, 4: 133, 5: 159, 6: 33, 7: 356, 8: 127, 9: 291, 10: 61,
}  # fmt: skip


def turn(axes: str, *degrees: float) -> Array:
    """A quaternion (x, y, z, w) from Euler angles in degrees (scipy's axes string)."""
    quaternion: Array = Rotation.from_euler(axes, degrees, degrees=True).as_quat()
    return quaternion


def posed(**bones: Array) -> Array:
    """The rest pose's local rotations with the named bones turned."""
    local = REST_ROTATIONS.copy()
    for name, rotation in bones.items():
        local[INDEX[name]] = rotation
    return local


def landmarks_unity(local_rotations: Array) -> tuple[Array, Array, Array]:
    """World points (Unity space, metres) of the posed avatar: pose (33, 3), hands (2, 21, 3) left
    and right, face (478, 3)."""
    positions, world_rotations = forward_kinematics(local_rotations)
    tips = tip_positions(positions, world_rotations)
    face = _face_points(positions[INDEX["Head"]], world_rotations[INDEX["Head"]])
    pose = np.empty((skeleton.POSE_POINTS, 3))
    for landmark, bone in _POSE_JOINTS.items():
        pose[landmark] = positions[INDEX[bone]]
    for landmark, face_landmark in _POSE_FACE_POINTS.items():
        pose[landmark] = face[face_landmark]
    hands = np.stack([_hand_points(side, positions, tips) for side in ("Left", "Right")])
    return pose, hands, face


def pose_frame(local_rotations: Array = REST_ROTATIONS, timestamp_s: float = 0.0) -> PoseFrame:
    """The PoseFrame, every part found and fully visible, for the avatar posed by local_rotations
    (55, 4) (default: the rest pose)."""
    pose_u, hands_u, face_u = landmarks_unity(local_rotations)
    hip_centre_u = 0.5 * (pose_u[23] + pose_u[24])
    # MediaPipe's space is Unity's negated (see spaces.py); the inverse is the same negation.
    world_mp = -(pose_u - hip_centre_u)
    visible = np.ones((skeleton.POSE_POINTS, 1))
    return PoseFrame(
        index=0,
        timestamp_s=timestamp_s,
        image_size=IMAGE_SIZE,
        pose=frozen(np.hstack((_project(pose_u, hip_centre_u), visible)), 33, 4),
        pose_world=frozen(np.hstack((world_mp, visible)), 33, 4),
        face=frozen(_project(face_u, hip_centre_u), skeleton.FACE_POINTS_REFINED, 3),
        left_hand=frozen(_project(hands_u[0], hip_centre_u), skeleton.HAND_POINTS, 3),
        right_hand=frozen(_project(hands_u[1], hip_centre_u), skeleton.HAND_POINTS, 3),
    )


def _project(points_u: Array, centre_u: Array) -> Array:
    """Orthographic camera looking at the avatar's front, centred on centre_u: MediaPipe image
    coordinates (x, y in [0, 1] of the width and height, z on the width's scale)."""
    width, height = IMAGE_SIZE
    pixels = -(points_u - centre_u) * PIXELS_PER_METRE + np.array([width / 2, height / 2, 0.0])
    image: Array = pixels / np.array([width, height, width])
    return image


def _face_points(head_position: Array, head_rotation: Array) -> Array:
    """The 478-point mesh of a neutral face: canonical points where the solver reads them, irises
    looking ahead, every other point at the face's origin. The mouth is a relaxed one as MediaPipe
    measures real faces: the canonical model's lips are parted and its mouth narrower."""
    local_m = np.tile(FACE_ORIGIN_FROM_HEAD_M, (skeleton.FACE_POINTS_REFINED, 1))
    for index, point_cm in CANONICAL_FACE_CM.items():
        local_m[index] += np.asarray(point_cm) / 100.0
    upper_lip, lower_lip = INNER_LIPS
    local_m[lower_lip] = local_m[upper_lip]
    right_corner, left_corner = MOUTH_CORNERS
    half_width_m = MOUTH_NEUTRAL_WIDTH_CM / 200.0
    local_m[right_corner, 0] = FACE_ORIGIN_FROM_HEAD_M[0] + half_width_m
    local_m[left_corner, 0] = FACE_ORIGIN_FROM_HEAD_M[0] - half_width_m
    for (outer, inner, _), iris in zip(EYES, IRIS_CENTRES, strict=True):
        centre = 0.5 * (local_m[outer] + local_m[inner])
        local_m[iris] = centre + np.array([0.0, NEUTRAL_IRIS_HEIGHT_CM / 100.0, 0.0])
    turned: Array = Rotation.from_quat(head_rotation).apply(local_m)
    return head_position + turned


def _hand_points(side: str, positions: Array, tips: Array) -> Array:
    """Wrist, then each finger's three joints and its tip (MediaPipe hand landmark order)."""
    points = [positions[INDEX[f"{side}Hand"]]]
    for finger in FINGERS:
        bones = [INDEX[f"{side}{finger}{phalanx}"] for phalanx in PHALANGES]
        points.extend(positions[bones])
        points.append(tips[bones[-1]])
    return np.array(points)


def with_noise(
    frame: PoseFrame, rng: np.random.Generator, world_m: float, image_px: float
) -> PoseFrame:
    """frame with Gaussian noise of world_m (standard deviation, per axis) on the world points and
    image_px on every image point (x and y; z on the width's scale like x)."""
    width, height = IMAGE_SIZE
    image_scale = image_px / np.array([width, height, width])

    def shaken(points: npt.NDArray[np.float32], scale: Array) -> Array:
        noisy = points.astype(np.float64)
        noisy[:, :3] += rng.normal(0.0, 1.0, (len(points), 3)) * scale
        return noisy

    world_scale = np.full(3, world_m)
    return PoseFrame(
        index=frame.index,
        timestamp_s=frame.timestamp_s,
        image_size=frame.image_size,
        pose=frozen(shaken(frame.pose, image_scale), 33, 4),
        pose_world=frozen(shaken(frame.pose_world, world_scale), 33, 4),
        face=frozen(shaken(frame.face, image_scale), skeleton.FACE_POINTS_REFINED, 3),
        left_hand=frozen(shaken(frame.left_hand, image_scale), skeleton.HAND_POINTS, 3),
        right_hand=frozen(shaken(frame.right_hand, image_scale), skeleton.HAND_POINTS, 3),
    )
