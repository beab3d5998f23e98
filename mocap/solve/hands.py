"""Hand and finger bones from the hand landmarks (MediaPipe image coordinates, as Unity points).

The hand's frame: wrist toward the middle finger's knuckle, twisted so that the knuckle line
(index to little finger) matches; four rigid points of the palm, so it is steady. A finger's
Proximal bone (knuckle joint: curl and spread) turns along the shortest arc from its rest direction
to its measured one, in the hand's frame. Its Intermediate and Distal joints are hinges that only
fold toward the palm: by the angle between the bone and the one before it, up to FOLD_MAX_RAD.
(In a fist seen end-on MediaPipe swings a phalanx from bent back to folded right over the previous
one between two frames. A free rotation there has no defined axis, and a signed fold jumps from one
limit to the other; the unsigned angle moves only as far as the landmark did, and a finger's
bending back is too small to miss.)

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
from mocap.solve.humanoid import FINGERS, INDEX, PHALANGES, REST_LOCAL_POSITIONS, SIDES
from mocap.solve.rotations import aim_frames
from mocap.solve.rotations import unit as units
from mocap.solve.scalar import (
    Mat3,
    Quat,
    Vec3,
    Vector,
    apply,
    axis_angle,
    dot,
    shortest_arc,
    sub,
    transposed,
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
FOLD_MAX_RAD = float(np.radians(120.0))  # how far a finger's middle and end joints fold


def _rest_tables() -> tuple[Array, Array, Array]:
    """Per side: the hand's rest frame (transposed); each finger's rest direction (its three
    bones are straight at rest, so one direction each) and its hinge axis (folding about it
    turns the finger toward the palm)."""
    hand_frames, finger_dirs = [], []
    for bones in FINGER_BONE_INDICES:
        middle, index, little = bones[2, 0], bones[1, 0], bones[4, 0]
        knuckle_line = REST_LOCAL_POSITIONS[little] - REST_LOCAL_POSITIONS[index]
        hand_frames.append(aim_frames(REST_LOCAL_POSITIONS[middle], knuckle_line).T)
        finger_dirs.append(units(REST_LOCAL_POSITIONS[bones[:, 1]]))
    dirs = np.array(finger_dirs)
    return np.array(hand_frames), dirs, units(np.cross(dirs, _PALM_NORMAL_AT_REST))


HAND_REST_FRAMES_T, _FINGER_REST_DIRS, _FINGER_HINGES = _rest_tables()
"""HAND_REST_FRAMES_T[s]: side s's hand rest frame, transposed (world = aim_frames() @ this)."""


# Per side and finger, as plain floats: the rest direction and the hinge axis.
_FINGER_RESTS: list[list[tuple[Vector, Vector]]] = [
    list(zip(dirs, hinges, strict=True))
    for dirs, hinges in zip(_FINGER_REST_DIRS.tolist(), _FINGER_HINGES.tolist(), strict=True)
]
_FINGER_JOINTS = FINGER_LANDMARKS.tolist()
_COS_FOLD_MAX = math.cos(FOLD_MAX_RAD)


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


def finger_rotations(points_u: Sequence[Vector], hand_world: Mat3, side: int) -> list[Quat]:
    """Local rotations of one hand's 15 finger bones, in FINGER_BONE_INDICES[side] order."""
    to_hand = transposed(hand_world)
    local: list[Quat] = []
    for joints, (rest_dir, hinge) in zip(_FINGER_JOINTS, _FINGER_RESTS[side], strict=True):
        points = [points_u[joint] for joint in joints]
        segments = [unit(sub(b, a)) for a, b in itertools.pairwise(points)]
        local.append(shortest_arc(rest_dir, apply(to_hand, segments[0])))  # the Proximal bone
        for before, after in itertools.pairwise(segments):
            # acos falls from pi at -1, so capping the cosine from below caps the fold.
            fold_rad = math.acos(min(max(dot(before, after), _COS_FOLD_MAX), 1.0))
            local.append(axis_angle(hinge, fold_rad))
    return local
