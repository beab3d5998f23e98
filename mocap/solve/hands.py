"""Hand and finger bones from the hand landmarks (MediaPipe image coordinates, as Unity points).

The hand's frame: wrist toward the middle finger's knuckle, twisted so that the knuckle line
(index to little finger) matches; four rigid points of the palm, so it is steady. A finger's
Proximal bone (knuckle joint: curl and spread) turns along the shortest arc from its rest direction
to its measured one, in the hand's frame. Its Intermediate and Distal joints are hinges: each swings
from the bone before it, its fold about the finger's hinge limited to FOLD_RANGE_RAD, so that a
finger measured bent backward is shown straight, not folded forward.

The thumb has its own model: its base (VRM0's ThumbProximal, the metacarpal) turns freely, its
twist set by the plane the thumb bends in (as an elbow sets the upper arm's, body.twist_hint); its
two hinges after it fold within THUMB_FOLD_RANGE_RAD about an axis between the palm's normal and
the palm's plane, where a thumb folds, so that folding across the palm or toward it come back as
posed.

Image landmarks are a weak-perspective 3D shape (z is a depth on the scale of x), which is all
directions need; their scale is irrelevant.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from mocap.frames import ImageSize
from mocap.solve.body import twist_hint
from mocap.solve.humanoid import FINGERS, INDEX, PHALANGES, REST_LOCAL_POSITIONS, SIDES
from mocap.solve.rotations import aim_frames
from mocap.solve.rotations import unit as units
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
    hinged,
    matrix_to_quaternion,
    multiply,
    power,
    rotate,
    shortest_arc,
    sub,
    transport,
    transposed,
    twist_about_x,
    unit,
)
from mocap.solve.spaces import rows_to_unity

Array = npt.NDArray[np.float64]

# MediaPipe hand landmarks (mocap.skeleton.HAND_NAMES).
WRIST, INDEX_MCP, MIDDLE_MCP, LITTLE_MCP = 0, 5, 9, 17
# Each finger's four landmarks in humanoid order (Thumb, Index, Middle, Ring, Little): the joints
# of its Proximal, Intermediate and Distal bones, then the tip. VRM0's ThumbProximal is the
# metacarpal, so the thumb starts at the carpometacarpal joint (landmark 1).
FINGER_LANDMARKS = np.array(
    [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, 20]]
)
# FINGER_BONE_INDICES[s, f, p]: side s, finger f (FINGERS order), phalanx p (PHALANGES order).
FINGER_BONE_INDICES = np.array(
    [[[INDEX[f"{side}{f}{p}"] for p in PHALANGES] for f in FINGERS] for side in SIDES]
)

_PALM_NORMAL_AT_REST = np.array([0.0, -1.0, 0.0])  # palms face down in the T-pose
# How far a finger's middle and end joints fold: a few degrees backward (as straight fingers
# measure), up to folded. The thumb's hinges bend back a little further, as real thumbs do.
FOLD_RANGE_RAD = (math.radians(-5.0), math.radians(120.0))
THUMB_FOLD_RANGE_RAD = (math.radians(-10.0), math.radians(90.0))
# A wrist bends at most this far from the forearm's line (flexion and extension stop near 80 and
# 70 degrees, sideways bends long before): a hand measured further off is the forearm's noise.
WRIST_SWING_MAX_RAD = math.radians(80.0)
_COS_HALF_WRIST_SWING_MAX = math.cos(0.5 * WRIST_SWING_MAX_RAD)


def _rest_tables() -> tuple[Array, Array, Array]:
    """Per side: the hand's rest frame (transposed); each finger's rest direction (its three
    bones are straight at rest, so one direction each) and its hinge axis (folding about it
    turns the finger toward the palm; the thumb's, halfway toward the other fingers)."""
    hand_frames, finger_dirs = [], []
    for bones in FINGER_BONE_INDICES:
        middle, index, little = bones[2, 0], bones[1, 0], bones[4, 0]
        knuckle_line = REST_LOCAL_POSITIONS[little] - REST_LOCAL_POSITIONS[index]
        hand_frames.append(aim_frames(REST_LOCAL_POSITIONS[middle], knuckle_line).T)
        finger_dirs.append(units(REST_LOCAL_POSITIONS[bones[:, 1]]))
    dirs = np.array(finger_dirs)
    hinges = units(np.cross(dirs, _PALM_NORMAL_AT_REST))
    thumbs = dirs[:, 0]
    # The thumb's fold within the palm's plane turns it toward the fingers (the middle finger's
    # direction's part across the thumb).
    across = dirs[:, 2] - thumbs * (dirs[:, 2] * thumbs).sum(axis=1, keepdims=True)
    hinges[:, 0] = units(hinges[:, 0] + units(np.cross(thumbs, across)))
    return np.array(hand_frames), dirs, hinges


HAND_REST_FRAMES_T, _FINGER_REST_DIRS, _FINGER_HINGES = _rest_tables()
"""HAND_REST_FRAMES_T[s]: side s's hand rest frame, transposed (world = aim_frames() @ this)."""


# Per side and finger, as plain floats: the rest direction and the hinge axis.
_FINGER_RESTS: list[list[tuple[Vector, Vector]]] = [
    list(zip(dirs, hinges, strict=True))
    for dirs, hinges in zip(_FINGER_REST_DIRS.tolist(), _FINGER_HINGES.tolist(), strict=True)
]
# Per side, the thumb's rest frame (its direction and hinge), transposed: local = aim * this.
_THUMB_REST_T = [matrix_to_quaternion(transposed(aim_matrix(*rests[0]))) for rests in _FINGER_RESTS]
_FINGER_JOINTS = FINGER_LANDMARKS.tolist()


def hand_points(hand_rows: Sequence[Sequence[float]], image_size: ImageSize) -> list[Vec3]:
    """21 MediaPipe image landmarks -> a weak-perspective shape in Unity axes (pixels)."""
    width, height = image_size
    return rows_to_unity(hand_rows, (width, height, width))


def hand_aim(points_u: Sequence[Vector]) -> tuple[Vec3, Vec3]:
    """A hand's direction and twist hint, for aim_frames with HAND_REST_FRAMES_T: wrist to
    middle knuckle, and the knuckle line."""
    return (
        sub(points_u[MIDDLE_MCP], points_u[WRIST]),
        sub(points_u[LITTLE_MCP], points_u[INDEX_MCP]),
    )


def wrist_within_range(local: Quat) -> Quat:
    """A hand's local rotation with its swing from the forearm (local X, the forearm's axis)
    limited to WRIST_SWING_MAX_RAD; its twist (the forearm's turn) kept."""
    twist = twist_about_x(local)
    swing = multiply(local, conjugate(twist))
    cos_half = min(abs(swing[3]), 1.0)
    if cos_half >= _COS_HALF_WRIST_SWING_MAX:
        return local
    return multiply(power(swing, WRIST_SWING_MAX_RAD / (2.0 * math.acos(cos_half))), twist)


def finger_rotations(points_u: Sequence[Vector], hand_world: Mat3, side: int) -> list[Quat]:
    """Local rotations of one hand's 15 finger bones, in FINGER_BONE_INDICES[side] order."""
    to_hand = transposed(hand_world)
    local: list[Quat] = []
    for finger, (joints, (rest_dir, hinge)) in enumerate(
        zip(_FINGER_JOINTS, _FINGER_RESTS[side], strict=True)
    ):
        points = [points_u[joint] for joint in joints]
        # Each phalanx's direction in the hand's frame.
        segments = [unit(apply(to_hand, sub(b, a))) for a, b in itertools.pairwise(points)]
        if finger == 0:
            base = _thumb_base(segments, rest_dir, hinge, _THUMB_REST_T[side])
            fold_range = THUMB_FOLD_RANGE_RAD
        else:
            base = shortest_arc(rest_dir, segments[0])
            fold_range = FOLD_RANGE_RAD
        local.append(base)
        parent = base  # the bone before, in the hand's frame
        for segment in segments[1:]:
            bone = hinged(rotate(conjugate(parent), segment), rest_dir, hinge, *fold_range)
            local.append(bone)
            parent = multiply(parent, bone)
    return local


def _thumb_base(segments: list[Vec3], rest_dir: Vector, hinge: Vector, rest_t: Quat) -> Quat:
    """The thumb's metacarpal in the hand's frame: along its measured direction, twisted so that
    the plane the thumb bends in is its hinges' plane (while it bends enough to tell)."""
    first, second, third = segments
    untwisted = transport(rest_dir, first, hinge)
    # Both hinges' bends, each weighted by its sine: the plane of the thumb's whole bend.
    (ax, ay, az), (bx, by, bz) = cross(first, second), cross(second, third)
    hint = twist_hint(untwisted, (ax + bx, ay + by, az + bz), dot(first, third))
    return multiply(matrix_to_quaternion(aim_matrix(first, hint)), rest_t)
