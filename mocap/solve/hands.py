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

import numpy as np
import numpy.typing as npt

from mocap.frames import FloatArray, ImageSize
from mocap.solve import rotations
from mocap.solve.humanoid import FINGERS, INDEX, PHALANGES, REST_LOCAL_POSITIONS, SIDES
from mocap.solve.rotations import aim_frames, apply_inverse, cross, shortest_arcs, unit
from mocap.solve.spaces import mediapipe_to_unity

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
        finger_dirs.append(unit(REST_LOCAL_POSITIONS[bones[:, 1]]))
    dirs = np.array(finger_dirs)
    return np.array(hand_frames), dirs, unit(cross(dirs, _PALM_NORMAL_AT_REST))


HAND_REST_FRAMES_T, _FINGER_REST_DIRS, _FINGER_HINGES = _rest_tables()
"""HAND_REST_FRAMES_T[s]: side s's hand rest frame, transposed (world = aim_frames() @ this)."""


def hand_points(hand: FloatArray, image_size: ImageSize) -> Array:
    """(21, 3) MediaPipe image landmarks -> a weak-perspective shape in Unity axes (pixels)."""
    width, height = image_size
    return mediapipe_to_unity(hand * np.array([width, height, width], dtype=np.float32))


def hand_aims(points_u: Array) -> tuple[Array, Array]:
    """Directions and twist hints (k, 3) of k hands (k, 21, 3), for aim_frames with
    HAND_REST_FRAMES_T."""
    return (
        points_u[:, MIDDLE_MCP] - points_u[:, WRIST],
        points_u[:, LITTLE_MCP] - points_u[:, INDEX_MCP],
    )


def finger_rotations(points_u: Array, hand_world: Array, sides: npt.NDArray[np.intp]) -> Array:
    """Local rotations (k, 5, 3, 4) of the fingers of k hands (FINGER_BONE_INDICES layout)."""
    segments = unit(points_u[:, FINGER_LANDMARKS[:, 1:]] - points_u[:, FINGER_LANDMARKS[:, :3]])
    in_hand = apply_inverse(hand_world[:, None], segments[..., 0, :])  # Proximal bones
    proximal = shortest_arcs(_FINGER_REST_DIRS[sides], in_hand)
    bend_cos = rotations.dot(segments[..., :2, :], segments[..., 1:, :])
    # arccos falls from pi at -1, so capping the cosine from below caps the fold.
    folds_rad = np.arccos(np.minimum(np.maximum(bend_cos, np.cos(FOLD_MAX_RAD)), 1.0))
    hinged = rotations.axis_angles(_FINGER_HINGES[sides][..., None, :], folds_rad)
    return np.concatenate((proximal[..., None, :], hinged), axis=-2)
