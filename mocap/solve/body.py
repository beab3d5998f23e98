"""Hips, spine, arms, legs and feet from MediaPipe's world landmarks (already in Unity space).

Every bone's WORLD rotation is an aim frame: the bone's measured direction plus a hint that fixes
its twist, mapped from the same pair at rest (rotations.aim_frames). Where the landmarks say
nothing about a twist, the hint is the parent's own carried along the shortest arc (a swing with
no twist). Elbows and knees are hinges: once bent they set the upper bone's twist, and the lower
bone and the foot keep that hinge axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mocap.frames import FloatArray
from mocap.solve import rotations
from mocap.solve.humanoid import INDEX, REST_LOCAL_POSITIONS
from mocap.solve.rotations import aim_frames, apply, transport, unit

Array = npt.NDArray[np.float64]

# MediaPipe pose landmarks (mocap.skeleton.POSE_NAMES).
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 11, 12, 23, 24
# The limb bones, each as (humanoid bone, the landmark at its joint, the landmark it points to):
# upper arms and legs, lower arms and legs, feet ("foot_index" is the toes).
LIMB_BONES = (
    ("LeftUpperArm", 11, 13), ("RightUpperArm", 12, 14), ("LeftUpperLeg", 23, 25),
    ("RightUpperLeg", 24, 26), ("LeftLowerArm", 13, 15), ("RightLowerArm", 14, 16),
    ("LeftLowerLeg", 25, 27), ("RightLowerLeg", 26, 28), ("LeftFoot", 27, 31),
    ("RightFoot", 28, 32),
)  # fmt: skip
_LIMB_STARTS = np.array([start for _, start, _ in LIMB_BONES])
_LIMB_ENDS = np.array([end for _, _, end in LIMB_BONES])
# Which of the four limbs (left arm, right arm, left leg, right leg) each limb bone belongs to:
# its hinge axis is that limb's.
_LIMB_OF_BONE = np.array([0, 1, 2, 3, 0, 1, 2, 3, 2, 3])

_UP = np.array([0.0, 1.0, 0.0])
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
_HINGES_AT_REST = unit(rotations.cross(_REST_DIRS[:4], _BEND_AT_REST))
_REST_DIRS_AND_HINGES = np.stack((_REST_DIRS[:4], _HINGES_AT_REST), axis=1)  # (limb, 2, 3)
_TORSO_POINTS = [LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP]
LIMB_REST_FRAMES_T = aim_frames(_REST_DIRS, _HINGES_AT_REST[_LIMB_OF_BONE]).swapaxes(-1, -2)
"""Rest frames of the limb bones, transposed: world = aim_frames(measured) @ this."""


@dataclass(frozen=True, slots=True)
class Torso:
    """World rotations (3, 3) of the Hips and of the UpperChest (the shoulders' frame)."""

    hips: Array
    upper_chest: Array


def solve_torso(points_u: Array, visibility: FloatArray) -> Torso:
    """The hips from the hip line kept upright, the upper chest from the shoulder line and the
    hips-to-shoulders direction. At rest both lines point to +X and the torso up +Y, so the rest
    frames are identity and the aim frames are the rotations."""
    left_shoulder, right_shoulder, left_hip, right_hip = points_u[_TORSO_POINTS]
    shoulder_line, hip_line = unit(np.array((right_shoulder - left_shoulder, right_hip - left_hip)))
    hips_seen = (min(visibility[LEFT_HIP], visibility[RIGHT_HIP]) - HIPS_HIDDEN_VISIBILITY) / (
        HIPS_SEEN_VISIBILITY - HIPS_HIDDEN_VISIBILITY
    )
    seen = min(max(float(hips_seen), 0.0), 1.0)
    hips_right = seen * hip_line + (1.0 - seen) * shoulder_line
    torso_up = left_shoulder + right_shoulder - left_hip - right_hip
    frames = aim_frames(np.array((hips_right, shoulder_line)), np.array((_UP, torso_up)))
    return Torso(hips=frames[0], upper_chest=frames[1])


def limb_aims(points_u: Array, torso: Torso) -> tuple[Array, Array]:
    """Directions and twist hints (10, 3) of the LIMB_BONES, for aim_frames with
    LIMB_REST_FRAMES_T."""
    directions = points_u[_LIMB_ENDS] - points_u[_LIMB_STARTS]
    units = unit(directions[:8])
    upper, lower = units[:4], units[4:]
    # Where each limb's rest direction and hinge point once turned with its parent, in one product.
    parents = np.array((torso.upper_chest, torso.upper_chest, torso.hips, torso.hips))
    turned = (parents[:, None] @ _REST_DIRS_AND_HINGES[..., None])[..., 0]  # (limb, 2, 3)
    untwisted = transport(turned[:, 0], upper, turned[:, 1])
    bend_cos = rotations.dot(upper, lower)
    weight = (_HINGE_COS_FROM - bend_cos) * (1.0 / (_HINGE_COS_FROM - _HINGE_COS_FULL))
    weight = np.minimum(np.maximum(weight, 0.0), 1.0)[:, None]
    measured = unit(rotations.cross(upper, lower))
    hinges = untwisted + weight * (measured - untwisted)
    return directions, hinges[_LIMB_OF_BONE]


_HIPS = INDEX["Hips"]
_LOWER_ARMS = np.array([INDEX["LeftLowerArm"], INDEX["RightLowerArm"]])
_HANDS = np.array([INDEX["LeftHand"], INDEX["RightHand"]])
_TWIST_AXIS_MASK = np.array([1.0, 0.0, 0.0, 1.0])  # keeps a quaternion's x and w: its twist on X


def transfer_forearm_twist(local: Array) -> Array:
    """The Hands' twist about the forearm's axis, moved into the LowerArms.

    A wrist cannot twist: turning the palm over is the forearm's pronation, and an avatar skinned
    without twist bones would show it as a wrung wrist. The forearm's axis is local X (its rest
    direction), so the hands' world rotations and every joint position stay as they were.
    local: (55, 4) local rotations; returns a new array.
    """
    hands = local[_HANDS]
    # The twist part of a swing-twist decomposition about X; a hand swung a half turn has none.
    twist = hands * _TWIST_AXIS_MASK
    twist = unit(twist + (rotations.dot(twist, twist) < 1e-12)[:, None] * _TWIST_AXIS_MASK)
    moved = local.copy()
    moved[_LOWER_ARMS] = rotations.multiply(local[_LOWER_ARMS], twist)
    moved[_HANDS] = rotations.multiply(rotations.conjugate(twist), hands)
    return moved


_LEG_CHAIN = np.array([_HIPS] + [INDEX[n] for n in (
    "LeftUpperLeg", "RightUpperLeg", "LeftLowerLeg", "RightLowerLeg")])  # fmt: skip
_HIP_JOINTS = REST_LOCAL_POSITIONS[_LEG_CHAIN[1:3]]
_KNEE_JOINTS = REST_LOCAL_POSITIONS[_LEG_CHAIN[3:5]]
_ANKLE_JOINTS = REST_LOCAL_POSITIONS[[INDEX["LeftFoot"], INDEX["RightFoot"]]]
_REST_HIPS_HEIGHT_M = float(REST_LOCAL_POSITIONS[_HIPS, 1])
_REST_ANKLE_BELOW_HIPS_M = float(-(_HIP_JOINTS + _KNEE_JOINTS + _ANKLE_JOINTS)[:, 1].max())


def grounded_hips_height_m(local: Array) -> float:
    """The Hips' height that keeps the lower ankle at its rest height above the floor.

    MediaPipe's world landmarks are centred on the hips, so they carry no translation; but when
    the knees bend (sitting, crouching) an avatar whose hips stayed up would lift its feet off the
    floor. The hips sink instead by as much as the legs have folded. local: (55, 4) rotations.
    """
    matrices = rotations.quaternions_to_matrices(local[_LEG_CHAIN])
    hips = matrices[0]
    thighs = hips @ matrices[1:3]
    shins = thighs @ matrices[3:5]
    ankles_y = (
        apply(hips, _HIP_JOINTS) + apply(thighs, _KNEE_JOINTS) + apply(shins, _ANKLE_JOINTS)
    )[:, 1]
    folded_m = _REST_ANKLE_BELOW_HIPS_M + float(ankles_y.min())
    return _REST_HIPS_HEIGHT_M - max(folded_m, 0.0)
