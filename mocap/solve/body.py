"""Hips, spine, shoulders, arms, legs and feet from MediaPipe's world landmarks (in Unity space).

The torso: the hips from the hip line, the upper chest from the hips-to-shoulders direction first
(so that one shoulder shrugging does not roll it) and the shoulder line's turn about it. A shrug
is what lifts one shoulder above the other in the chest's frame: it turns that Shoulder bone.

Limbs: each upper bone's WORLD rotation is an aim frame, its measured direction plus a hint that
fixes its twist, mapped from the same pair at rest (rotations.aim_frames). Elbows and knees are
hinges: once bent, the bend's plane sets the upper bone's twist (twist_hint); the lower bone then
swings from the upper one, its bend about the hinge kept within the joint's range (scalar.hinged),
and the foot keeps the knee's hinge axis.

A frame's work is a few dozen float operations per bone on plain floats (mocap.solve.scalar).
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
    axis_angle,
    canonical,
    conjugate,
    cross,
    dot,
    hinged,
    lerp,
    matrix_to_quaternion,
    multiply,
    power,
    rotate,
    sub,
    transport,
    transposed,
    twist_about_x,
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
# Of the torso's pitch and lean (the hips-to-shoulders direction off the vertical), the pelvis
# takes this share and the spine the rest: a person bending forward or aside tilts both.
HIPS_SHARE_OF_LEAN = 0.5
# A nearly straight elbow or knee says nothing about the upper bone's twist: from a 20 degree bend
# the hinge starts to set it, fully from 45 degrees (as cosines of the bend). Below that, depth
# noise of a centimetre or two turns the bend's plane anywhere; the lower bone's direction does
# not depend on it (it swings freely from the upper one), only the upper bone's twist does.
_HINGE_COS_FROM = math.cos(math.radians(20.0))
_HINGE_COS_FULL = math.cos(math.radians(45.0))
# A bend's plane may twist the upper bone up to a quarter turn from its untwisted hint, and sets
# nothing from 120 degrees: past that it is the joint bent backward (a straight limb measured a
# little behind its line), not a half-turned bone (as cosines of the angle between the axes).
_TWIST_COS_FULL = math.cos(math.radians(90.0))
_TWIST_COS_NONE = math.cos(math.radians(120.0))
# Elbows and knees bend from a few degrees backward (as straight ones do) to fully folded.
BEND_RANGE_RAD = (math.radians(-5.0), math.radians(150.0))
# An upper arm reaches at most this far behind the body's frontal plane (shoulder extension and
# horizontal abduction stop around there); depth noise can put it further, but not the avatar.
ARM_BEHIND_MAX_RAD = math.radians(60.0)
_SIN_ARM_BEHIND_MAX = math.sin(ARM_BEHIND_MAX_RAD)
_COS_ARM_BEHIND_MAX = math.cos(ARM_BEHIND_MAX_RAD)
# A shrug: one shoulder this far above the other (in the chest's frame) is level noise; the rest
# lifts that Shoulder bone, by at most SHRUG_MAX_RAD.
SHRUG_DEAD_ZONE_M = 0.01
SHRUG_MAX_RAD = math.radians(20.0)
_SHRUG_AXES = ((0.0, 0.0, -1.0), (0.0, 0.0, 1.0))  # lifts the left Shoulder (-X), the right (+X)
_SHOULDER_BONE_M = float(np.linalg.norm(REST_LOCAL_POSITIONS[INDEX["LeftUpperArm"]]))


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
# Rest frames of the limb bones, transposed, as quaternions: world = aim * this.
_LIMB_REST_T = [
    matrix_to_quaternion(frame)
    for frame in aim_frames(_REST_DIRS, _HINGES_AT_REST[_LIMB_OF_BONE]).swapaxes(-1, -2).tolist()
]


@dataclass(frozen=True, slots=True)
class Body:
    """World rotations of the Hips and of the UpperChest (the shoulders' frame); local rotations
    of the Shoulders (left, right) and of the LIMB_BONES; world rotations of the LowerArms (left,
    right), the hands' parents."""

    hips: Quat
    upper_chest: Quat
    shoulders: list[Quat]
    limbs: list[Quat]
    lower_arms: list[Quat]


def solve_body(points_u: Sequence[Vector], visibility: Sequence[float]) -> Body:
    """points_u: the 33 pose landmarks in Unity space; visibility: theirs."""
    hips_matrix, chest_matrix = _torso(points_u, visibility)
    hips, upper_chest = matrix_to_quaternion(hips_matrix), matrix_to_quaternion(chest_matrix)
    shoulders = _shoulders(points_u, chest_matrix)
    parents = [multiply(upper_chest, shoulders[0]), multiply(upper_chest, shoulders[1]), hips, hips]
    uppers, lowers, lower_worlds = [], [], []
    for limb, (joint, middle, end) in enumerate(_LIMB_LANDMARKS):
        parent, (rest_dir, rest_hinge) = parents[limb], _REST_DIRS_AND_HINGES[limb]
        upper = unit3(sub(points_u[middle], points_u[joint]))
        if limb < 2:
            upper = _in_reach(upper, upper_chest)
        lower = unit3(sub(points_u[end], points_u[middle]))
        untwisted = transport(rotate(parent, rest_dir), upper, rotate(parent, rest_hinge))
        hint = twist_hint(untwisted, cross(upper, lower), dot(upper, lower))
        upper_world = multiply(matrix_to_quaternion(aim_matrix(upper, hint)), _LIMB_REST_T[limb])
        lower_local = hinged(
            rotate(conjugate(upper_world), lower), rest_dir, rest_hinge, *BEND_RANGE_RAD
        )
        uppers.append(canonical(multiply(conjugate(parent), upper_world)))
        lowers.append(canonical(lower_local))
        lower_worlds.append(multiply(upper_world, lower_local))
    feet = [
        _foot(points_u, landmarks, lower_worlds[leg], _REST_DIRS_AND_HINGES[leg][1], rest_t)
        for landmarks, leg, rest_t in zip(_FEET_LANDMARKS, (2, 3), _LIMB_REST_T[8:], strict=True)
    ]
    return Body(hips, upper_chest, shoulders, [*uppers, *lowers, *feet], lower_worlds[:2])


def _in_reach(direction: Vec3, chest: Quat) -> Vec3:
    """An upper arm's unit direction, turned forward to at most ARM_BEHIND_MAX_RAD behind the
    chest's frontal plane."""
    x, y, z = rotate(conjugate(chest), direction)
    if z >= -_SIN_ARM_BEHIND_MAX:
        return direction
    scale = _COS_ARM_BEHIND_MAX / max(math.hypot(x, y), 1e-9)
    return rotate(chest, (x * scale, y * scale, -_SIN_ARM_BEHIND_MAX))


def _foot(
    points_u: Sequence[Vector], landmarks: tuple[int, int], shin: Quat, hinge: Vector, rest_t: Quat
) -> Quat:
    """The foot's local rotation: aimed at the toes, keeping the knee's hinge axis."""
    ankle, toes = landmarks
    aim = aim_matrix(sub(points_u[toes], points_u[ankle]), rotate(shin, hinge))
    return canonical(multiply(conjugate(shin), multiply(matrix_to_quaternion(aim), rest_t)))


def twist_hint(untwisted: Vector, bent: Vector, bend_cos: float) -> Vec3:
    """The hint that sets an upper bone's twist: untwisted (its rest hinge carried along the
    shortest arc), turning into the measured hinge axis (bent: upper x lower) as the joint bends
    (bend_cos: the cosine of the bend) while that axis is within a quarter turn of untwisted. Both
    weights change continuously, so the hint never flips."""
    hinge = unit3(bent)
    bend_weight = (_HINGE_COS_FROM - bend_cos) * (1.0 / (_HINGE_COS_FROM - _HINGE_COS_FULL))
    twist_weight = (dot(hinge, untwisted) - _TWIST_COS_NONE) * (
        1.0 / (_TWIST_COS_FULL - _TWIST_COS_NONE)
    )
    weight = min(max(bend_weight, 0.0), 1.0) * min(max(twist_weight, 0.0), 1.0)
    return lerp(untwisted, hinge, weight)


def _torso(points_u: Sequence[Vector], visibility: Sequence[float]) -> tuple[Mat3, Mat3]:
    """The hips from the hip line, pitched and leaning by HIPS_SHARE_OF_LEAN of the torso; the
    upper chest from the hips-to-shoulders direction and the shoulder line. At rest both lines
    point to +X and the torso up +Y, so the rest frames are identity and these are the
    rotations."""
    left_shoulder, right_shoulder, left_hip, right_hip = (points_u[i] for i in _TORSO_POINTS)
    shoulder_line = unit3(sub(right_shoulder, left_shoulder))
    hip_line = unit3(sub(right_hip, left_hip))
    hips_seen = (min(visibility[LEFT_HIP], visibility[RIGHT_HIP]) - HIPS_HIDDEN_VISIBILITY) / (
        HIPS_SEEN_VISIBILITY - HIPS_HIDDEN_VISIBILITY
    )
    hips_right = lerp(shoulder_line, hip_line, min(max(hips_seen, 0.0), 1.0))
    torso_up = unit3(sub(sub(left_shoulder, left_hip), sub(right_hip, right_shoulder)))
    hips_up = lerp(_UP, torso_up, HIPS_SHARE_OF_LEAN)
    return _upright(hips_up, hips_right), _upright(torso_up, shoulder_line)


def _upright(up: Vector, right: Vector) -> Mat3:
    """The frame whose Y is along up and whose X is right's part across it."""
    y = unit3(up)
    along = dot(right, y)
    x = unit3((right[0] - along * y[0], right[1] - along * y[1], right[2] - along * y[2]))
    return transposed((x, y, cross(x, y)))


def _shoulders(points_u: Sequence[Vector], chest: Mat3) -> list[Quat]:
    """Local rotations of the Shoulders: the higher shoulder in the chest's frame is shrugged."""
    to_chest = transposed(chest)
    rise_m = (
        apply(to_chest, points_u[LEFT_SHOULDER])[1] - apply(to_chest, points_u[RIGHT_SHOULDER])[1]
    )
    return [
        axis_angle(
            axis,
            min(math.atan2(max(lift_m - SHRUG_DEAD_ZONE_M, 0.0), _SHOULDER_BONE_M), SHRUG_MAX_RAD),
        )
        for axis, lift_m in zip(_SHRUG_AXES, (rise_m, -rise_m), strict=True)
    ]


_HIPS = INDEX["Hips"]
FOREARM_SHARE_OF_TWIST = 0.5
_HANDS_AND_LOWER_ARMS = [
    (INDEX[f"{side}Hand"], INDEX[f"{side}LowerArm"]) for side in ("Left", "Right")
]


def transfer_forearm_twist(local: list[Quat]) -> None:
    """Of the Hands' twist about the forearm's axis, FOREARM_SHARE_OF_TWIST moved into the
    LowerArms (in place).

    Turning the palm over is the forearm's pronation, which twists the forearm progressively from
    the elbow to the wrist. An avatar skinned without twist bones shows all of it at the wrist as a
    wrung wrist, and all of it at the elbow as a forearm pinched like a candy wrapper; half each
    looks right. The forearm's axis is local X (its rest direction), so the hands' world
    rotations and every joint position stay as they were. local: the 55 local rotations.
    """
    for hand_bone, arm_bone in _HANDS_AND_LOWER_ARMS:
        hand = local[hand_bone]
        twist = power(twist_about_x(hand), FOREARM_SHARE_OF_TWIST)
        local[arm_bone] = multiply(local[arm_bone], twist)
        local[hand_bone] = multiply(conjugate(twist), hand)


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
