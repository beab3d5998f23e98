"""Hips, spine, arms, legs and feet from MediaPipe's world landmarks (already in Unity space).

Every bone's WORLD rotation is an aim frame: the bone's measured direction plus a hint that fixes
its twist, mapped from the same pair at rest (rotations.aim_frames). Where the landmarks say
nothing about a twist, the hint is the parent's own carried along the shortest arc (a swing with
no twist). Elbows and knees are hinges: once bent they set the upper bone's twist, and the lower
bone and the foot keep that hinge axis.

The torso's two frames and the limbs' directions and hints are a few dozen float operations each,
done on plain floats (mocap.solve.scalar); the solver then aims the limb bones against
LIMB_REST_FRAMES_T.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mocap.solve.humanoid import INDEX, REST_LOCAL_POSITIONS
from mocap.solve.rotations import aim_frames, unit
from mocap.solve.scalar import (
    Mat3,
    Quat,
    Vec3,
    Vector,
    aim_matrix,
    apply,
    conjugate,
    cross,
    dot,
    lerp,
    multiply,
    rotate,
    sub,
    transport,
)
from mocap.solve.scalar import unit as unit3

Array = npt.NDArray[np.float64]

# MediaPipe pose landmarks (mocap.skeleton.POSE_NAMES).
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 11, 12, 23, 24
# The limb bones: upper arms and legs, lower arms and legs, feet.
LIMB_BONES = (
    "LeftUpperArm", "RightUpperArm", "LeftUpperLeg", "RightUpperLeg", "LeftLowerArm",
    "RightLowerArm", "LeftLowerLeg", "RightLowerLeg", "LeftFoot", "RightFoot",
)  # fmt: skip
# Their landmarks: each limb's (left arm, right arm, left leg, right leg) joint, middle joint
# (elbow or knee) and end (wrist or ankle); then each foot's ankle and toes ("foot_index").
_LIMB_LANDMARKS = ((11, 13, 15), (12, 14, 16), (23, 25, 27), (24, 26, 28))
_FEET_LANDMARKS = ((27, 31), (28, 32))
# Which of the four limbs (left arm, right arm, left leg, right leg) each limb bone belongs to:
# its hinge axis is that limb's.
_LIMB_OF_BONE = np.array([0, 1, 2, 3, 0, 1, 2, 3, 2, 3])

_UP = (0.0, 1.0, 0.0)
# Forearms fold forward (+Z) from the T-pose, shins backward (-Z): each limb's hinge axis at rest
# is its direction crossed with that.
_BEND_AT_REST = np.array([[0, 0, 1.0], [0, 0, 1.0], [0, 0, -1.0], [0, 0, -1.0]])

# The hip landmarks of a seated user at a desk are guesses: below this visibility the hips stop
# following their own landmarks and turn with the shoulders instead (fully so at HIPS_HIDDEN).
HIPS_SEEN_VISIBILITY = 0.7
HIPS_HIDDEN_VISIBILITY = 0.3
# A nearly straight elbow or knee says nothing about the upper bone's twist: from a 10 degree bend
# the hinge starts to set it, fully from 30 degrees (as cosines of the bend).
_HINGE_COS_FROM = float(np.cos(np.radians(10.0)))
_HINGE_COS_FULL = float(np.cos(np.radians(30.0)))


def _child_directions_at_rest() -> Array:
    """Unit direction at rest from each limb bone's joint to the joint it points at."""
    children = [INDEX[name] for name in (
        "LeftLowerArm", "RightLowerArm", "LeftLowerLeg", "RightLowerLeg", "LeftHand",
        "RightHand", "LeftFoot", "RightFoot", "LeftToes", "RightToes",
    )]  # fmt: skip
    return unit(REST_LOCAL_POSITIONS[children])


_REST_DIRS = _child_directions_at_rest()
_HINGES_AT_REST = unit(np.cross(_REST_DIRS[:4], _BEND_AT_REST))
# Each limb's rest direction and hinge axis, as plain floats.
_REST_DIRS_AND_HINGES: list[tuple[Vector, Vector]] = list(
    zip(_REST_DIRS[:4].tolist(), _HINGES_AT_REST.tolist(), strict=True)
)
_TORSO_POINTS = (LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP)
LIMB_REST_FRAMES_T = aim_frames(_REST_DIRS, _HINGES_AT_REST[_LIMB_OF_BONE]).swapaxes(-1, -2)
"""Rest frames of the limb bones, transposed: world = aim_frames(measured) @ this."""


@dataclass(frozen=True, slots=True)
class BodyAims:
    """World rotations of the Hips and of the UpperChest (the shoulders' frame), and the
    measured directions and twist hints of the LIMB_BONES, for aim_frames with
    LIMB_REST_FRAMES_T."""

    hips: Mat3
    upper_chest: Mat3
    directions: list[Vec3]
    hints: list[Vec3]


def solve_body(points_u: Sequence[Vector], visibility: Sequence[float]) -> BodyAims:
    """points_u: the 33 pose landmarks in Unity space; visibility: theirs."""
    hips, upper_chest = _torso(points_u, visibility)
    uppers, lowers, hinges = [], [], []
    for limb, (joint, middle, end) in enumerate(_LIMB_LANDMARKS):
        upper, lower = sub(points_u[middle], points_u[joint]), sub(points_u[end], points_u[middle])
        parent = upper_chest if limb < 2 else hips
        hinges.append(_hinge(parent, _REST_DIRS_AND_HINGES[limb], unit3(upper), unit3(lower)))
        uppers.append(upper)
        lowers.append(lower)
    feet = [sub(points_u[toes], points_u[ankle]) for ankle, toes in _FEET_LANDMARKS]
    return BodyAims(
        hips, upper_chest, [*uppers, *lowers, *feet], [hinges[limb] for limb in _LIMB_OF_BONE]
    )


def _torso(points_u: Sequence[Vector], visibility: Sequence[float]) -> tuple[Mat3, Mat3]:
    """The hips from the hip line kept upright, the upper chest from the shoulder line and the
    hips-to-shoulders direction. At rest both lines point to +X and the torso up +Y, so the rest
    frames are identity and the aim frames are the rotations."""
    left_shoulder, right_shoulder, left_hip, right_hip = (points_u[i] for i in _TORSO_POINTS)
    shoulder_line = unit3(sub(right_shoulder, left_shoulder))
    hip_line = unit3(sub(right_hip, left_hip))
    hips_seen = (min(visibility[LEFT_HIP], visibility[RIGHT_HIP]) - HIPS_HIDDEN_VISIBILITY) / (
        HIPS_SEEN_VISIBILITY - HIPS_HIDDEN_VISIBILITY
    )
    hips_right = lerp(shoulder_line, hip_line, min(max(hips_seen, 0.0), 1.0))
    torso_up = sub(sub(left_shoulder, left_hip), sub(right_hip, right_shoulder))
    return aim_matrix(hips_right, _UP), aim_matrix(shoulder_line, torso_up)


def _hinge(parent: Mat3, rest: tuple[Vector, Vector], upper: Vec3, lower: Vec3) -> Vec3:
    """A limb's twist hint: its rest hinge carried by the parent and then along the shortest arc
    onto the upper bone, turning into the measured hinge axis as the limb bends."""
    rest_dir, rest_hinge = rest
    untwisted = transport(apply(parent, rest_dir), upper, apply(parent, rest_hinge))
    weight = (_HINGE_COS_FROM - dot(upper, lower)) * (1.0 / (_HINGE_COS_FROM - _HINGE_COS_FULL))
    return lerp(untwisted, unit3(cross(upper, lower)), min(max(weight, 0.0), 1.0))


_HIPS = INDEX["Hips"]
_HANDS_AND_LOWER_ARMS = [
    (INDEX[f"{side}Hand"], INDEX[f"{side}LowerArm"]) for side in ("Left", "Right")
]


def transfer_forearm_twist(local: list[Quat]) -> None:
    """The Hands' twist about the forearm's axis, moved into the LowerArms (in place).

    A wrist cannot twist: turning the palm over is the forearm's pronation, and an avatar skinned
    without twist bones would show it as a wrung wrist. The forearm's axis is local X (its rest
    direction), so the hands' world rotations and every joint position stay as they were.
    local: the 55 local rotations.
    """
    for hand_bone, arm_bone in _HANDS_AND_LOWER_ARMS:
        hand = local[hand_bone]
        twist = _twist_about_x(hand)
        local[arm_bone] = multiply(local[arm_bone], twist)
        local[hand_bone] = multiply(conjugate(twist), hand)


def _twist_about_x(q: Vector) -> Quat:
    """The twist part of q's swing-twist decomposition about X; a hand swung a half turn has
    none."""
    length = math.hypot(q[0], q[3])
    if length < 1e-6:
        return (0.0, 0.0, 0.0, 1.0)
    return (q[0] / length, 0.0, 0.0, q[3] / length)


_HIP_JOINTS = REST_LOCAL_POSITIONS[[INDEX["LeftUpperLeg"], INDEX["RightUpperLeg"]]]
_KNEE_JOINTS = REST_LOCAL_POSITIONS[[INDEX["LeftLowerLeg"], INDEX["RightLowerLeg"]]]
_ANKLE_JOINTS = REST_LOCAL_POSITIONS[[INDEX["LeftFoot"], INDEX["RightFoot"]]]
# Each leg's joints (hip from the Hips, knee from the hip, ankle from the knee) as plain floats,
# with its thigh's and shin's bones.
_LEGS: list[tuple[tuple[Vector, Vector, Vector], int, int]] = [
    (joints, INDEX[f"{side}UpperLeg"], INDEX[f"{side}LowerLeg"])
    for joints, side in zip(
        zip(_HIP_JOINTS.tolist(), _KNEE_JOINTS.tolist(), _ANKLE_JOINTS.tolist(), strict=True),
        ("Left", "Right"),
        strict=True,
    )
]
_REST_HIPS_HEIGHT_M = float(REST_LOCAL_POSITIONS[_HIPS, 1])
_REST_ANKLE_BELOW_HIPS_M = float(-(_HIP_JOINTS + _KNEE_JOINTS + _ANKLE_JOINTS)[:, 1].max())


def grounded_hips_height_m(local: Sequence[Quat]) -> float:
    """The Hips' height that keeps the lower ankle at its rest height above the floor.

    MediaPipe's world landmarks are centred on the hips, so they carry no translation; but when
    the knees bend (sitting, crouching) an avatar whose hips stayed up would lift its feet off the
    floor. The hips sink instead by as much as the legs have folded. local: the 55 local
    rotations.
    """
    hips = local[_HIPS]
    ankles_y = [
        rotate(hips, _added(hip, rotate(local[thigh], _added(knee, rotate(local[shin], ankle)))))[1]
        for (hip, knee, ankle), thigh, shin in _LEGS
    ]
    folded_m = _REST_ANKLE_BELOW_HIPS_M + min(ankles_y)
    return _REST_HIPS_HEIGHT_M - max(folded_m, 0.0)


def _added(a: Vector, b: Vector) -> Vec3:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])
