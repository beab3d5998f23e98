"""AvatarSolver: one smoothed PoseFrame in, one AvatarFrame (humanoid bones, VRM0 expressions) out.

Per frame: landmarks -> Unity space (mocap.solve.spaces) -> world rotations of the torso, limbs,
hands and head -> local rotations (a quaternion chain from parent to child) -> tracking loss per
limb (hold, then ease to rest) -> the hands' twist moved into the forearms -> hips lowered onto
the feet -> quaternion sign continuity -> mirror (config.mirror). Up to the mirror everything is
on the subject's own sides ("LeftHand" is the subject's left hand). Time comes only from
frame.timestamp_s.

Cost: the pipeline thread runs this right after an inference that has evicted its caches, where
every numpy call costs several microseconds and each kind of call pays that again. So a frame
works on plain floats (mocap.solve.scalar) from the landmarks' tolist() to one np.array of the 55
rotations at the end; the 55 bones are a list of quaternion tuples in between.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mocap.config import SolverConfig
from mocap.frames import PoseFrame
from mocap.solve import body, hands, scalar, tracking
from mocap.solve.avatar import AvatarFrame
from mocap.solve.face import EXPRESSIONS, MIRRORED_EXPRESSIONS, read_face
from mocap.solve.humanoid import BONE_COUNT, BONES, INDEX, PARENTS, REST_LOCAL_POSITIONS
from mocap.solve.scalar import Quat, Vec3
from mocap.solve.spaces import mirror_rotations, rows_to_unity

# Spine, Chest and UpperChest share the upper chest's rotation relative to the hips equally; of
# the head's rotation relative to the upper chest, the Neck takes NECK_SHARE, the Head the rest.
NECK_SHARE = 0.4
# A found hand belongs to an arm only when its wrist lies within this many palm lengths (wrist to
# middle knuckle, in the image) of the pose's wrist: Holistic sometimes reports one hand as both
# the left and the right.
HAND_WRIST_MATCH_PALMS = 1.0
_POSE_WRISTS = (15, 16)
_KNEES_AND_ANKLES = ((25, 27), (26, 28))

# The aimed bones: the limb bones, then the hands. Each one's parent is a row of (UpperChest,
# Hips, *aimed), parents first: the Shoulder bones stay at rest, so the upper arms hang from the
# upper chest's frame.
_AIMED = (*body.LIMB_BONES, "LeftHand", "RightHand")
_HAND_ROWS = 2 + len(body.LIMB_BONES)  # the hands' rows among the world rotations


def _parent_rows() -> list[int]:
    rows = {"UpperChest": 0, "Hips": 1, **{name: 2 + i for i, name in enumerate(_AIMED)}}
    parents = [BONES[PARENTS[INDEX[name]]] for name in _AIMED]
    return [rows["UpperChest" if p.endswith("Shoulder") else p] for p in parents]


_PARENT_ROWS = _parent_rows()
# Each aimed bone's rest frame, transposed, as a quaternion: world = aim * this.
_AIMED_REST_T = [
    scalar.matrix_to_quaternion(frame)
    for frame in np.concatenate((body.LIMB_REST_FRAMES_T, hands.HAND_REST_FRAMES_T)).tolist()
]
# A stand-in aim for a hand that was not found: any finite pair; its rotations are not used.
_NO_HAND_AIM = ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0))
_FACE_BONES = ("Neck", "Head", "LeftEye", "RightEye")


@lru_cache(maxsize=8)
def _measured_bones(face: bool, left_hand: bool, right_hand: bool) -> tuple[int, ...]:
    """The bones _measure solves, in the order it lists their rotations: the aimed bones, the
    torso, then, when found, the neck, head and eyes, and each hand's fingers."""
    names = [*_AIMED, "Hips", "Spine", "Chest", "UpperChest", *(_FACE_BONES if face else ())]
    sides = [side for side, found in enumerate((left_hand, right_hand)) if found]
    fingers = hands.FINGER_BONE_INDICES[sides].ravel().tolist()
    return (*(INDEX[name] for name in names), *fingers)


_ROOT_POSITION = np.zeros(3)
_ROOT_ROTATION = np.array(scalar.IDENTITY)
_ROOT_POSITION.flags.writeable = _ROOT_ROTATION.flags.writeable = False
_HIPS = INDEX["Hips"]


@dataclass(frozen=True, slots=True)
class _Measurement:
    """What one frame shows: the 55 local rotations (valid for the bones of tracked groups),
    which groups are tracked (tracking.GROUP_NAMES), expression weights (valid when the head is
    tracked)."""

    rotations: list[Quat]
    tracked: list[bool]
    expressions: list[float]


class AvatarSolver:
    """Landmarks -> avatar. Keeps the state that spans frames: held poses and sign continuity."""

    def __init__(self, config: SolverConfig) -> None:
        self._config = config
        self.reset()

    def reset(self) -> None:
        """Forget every earlier frame (a new source, or a replay that starts over)."""
        self._tracker = tracking.LimbTracker(
            self._config.hold_s, self._config.ease_s, len(EXPRESSIONS)
        )
        self._previous: list[Quat] | None = None
        self._previous_s = 0.0
        # Which groups (tracking.GROUP_NAMES, the subject's sides) the last frame measured: the
        # rotation filter leaves the others' hold and ease alone.
        self.tracked_groups: list[bool] = [False] * len(tracking.GROUP_NAMES)

    def __call__(self, frame: PoseFrame) -> AvatarFrame:
        measured = _measure(frame, self._config)
        self.tracked_groups = measured.tracked
        local, expressions = self._tracker.update(
            frame.timestamp_s, measured.rotations, measured.tracked, measured.expressions
        )
        body.transfer_forearm_twist(local)
        positions = REST_LOCAL_POSITIONS.copy()
        positions[_HIPS, 1] = body.grounded_hips_height_m(local)
        local = self._continued(local, frame.timestamp_s)
        if self._config.mirror:
            # The rest pose is symmetric and the hips move only vertically: positions stay.
            local = mirror_rotations(local)
            expressions = [expressions[i] for i in MIRRORED_EXPRESSIONS]
        # fromiter over the flattened tuples: half the cost of np.array's nested-sequence path.
        local_rotations = np.fromiter(
            itertools.chain.from_iterable(local), np.float64, 4 * BONE_COUNT
        ).reshape(BONE_COUNT, 4)
        local_rotations.flags.writeable = False
        positions.flags.writeable = False
        return AvatarFrame(
            bone_names=BONES,
            local_positions=positions,
            local_rotations=local_rotations,
            root_position=_ROOT_POSITION,
            root_rotation=_ROOT_ROTATION,
            blendshapes={
                n: min(max(w, 0.0), 1.0) for n, w in zip(EXPRESSIONS, expressions, strict=True)
            },
        )

    def _continued(self, local: list[Quat], now_s: float) -> list[Quat]:
        """local, no faster than config.max_bone_speed_dps from the previous output, each
        quaternion in the same hemisphere as its previous one."""
        previous, elapsed_s = self._previous, now_s - self._previous_s
        self._previous_s = now_s
        if previous is not None:
            max_step_rad = math.radians(self._config.max_bone_speed_dps) * elapsed_s
            limited = 0.0 < max_step_rad < math.pi  # no rotation is farther than a half turn
            # |q . p| is the cosine of half the angle between the rotations.
            cos_half_max = math.cos(0.5 * max_step_rad) if limited else -1.0
            for bone, (q, p) in enumerate(zip(local, previous, strict=True)):
                cos_half = scalar.dot4(q, p)
                if abs(cos_half) < cos_half_max:
                    local[bone] = scalar.limited_step(q, p, max_step_rad)
                elif cos_half < 0.0:
                    local[bone] = (-q[0], -q[1], -q[2], -q[3])
        self._previous = local
        return local


def _measure(frame: PoseFrame, config: SolverConfig) -> _Measurement:
    local = [scalar.IDENTITY] * BONE_COUNT
    pose_world = frame.pose_world.tolist()
    if not scalar.all_finite(pose_world):
        return _Measurement(local, [False] * len(tracking.GROUP_NAMES), [0.0] * len(EXPRESSIONS))
    points_u = rows_to_unity(pose_world, (1.0, 1.0, 1.0))
    visibility = [row[3] for row in pose_world]
    hands_u = _hands_on_their_arms(frame)
    aims = body.solve_body(points_u, visibility)
    world, measured = _aimed_rotations(
        aims, [_NO_HAND_AIM if hand is None else hands.hand_aim(hand) for hand in hands_u]
    )
    hips, upper_chest = world[1], world[0]
    spine = scalar.power(scalar.multiply(scalar.conjugate(hips), upper_chest), 1 / 3)
    measured += (hips, spine, spine, spine)
    face = read_face(frame.face, frame.image_size)
    if face is not None:
        head = scalar.multiply(
            scalar.conjugate(upper_chest), scalar.matrix_to_quaternion(face.head_rotation)
        )
        measured += (
            scalar.power(head, NECK_SHARE),
            scalar.power(head, 1.0 - NECK_SHARE),
            face.eye_rotation,
            face.eye_rotation,
        )
    for side, hand in enumerate(hands_u):
        if hand is not None:
            hand_world = scalar.to_matrix(world[_HAND_ROWS + side])
            measured += hands.finger_rotations(hand, hand_world, side)
    found = [hand is not None for hand in hands_u]
    for bone, rotation in zip(_measured_bones(face is not None, *found), measured, strict=True):
        local[bone] = rotation

    # Arms follow the pose whenever there is one: for arms out of the picture the pose model
    # guesses a resting pose (hanging, forearms forward), better than the T-pose of the rest pose.
    # Legs move only when seen: its guesses for unseen legs are wrong (standing for a seated user).
    legs = [
        not config.upper_body_only
        and min(visibility[knee], visibility[ankle]) >= config.leg_min_visibility
        for knee, ankle in _KNEES_AND_ANKLES
    ]
    tracked = [True, face is not None, True, True, *found, *legs]  # tracking.GROUP_NAMES
    expressions = face.expressions if face is not None else [0.0] * len(EXPRESSIONS)
    return _Measurement(local, tracked, expressions)


def _aimed_rotations(
    aims: body.BodyAims, hand_aims: list[tuple[Vec3, Vec3]]
) -> tuple[list[Quat], list[Quat]]:
    """World rotations of (UpperChest, Hips, *_AIMED), and local rotations of the _AIMED bones
    (w >= 0)."""
    world = [scalar.matrix_to_quaternion(aims.upper_chest), scalar.matrix_to_quaternion(aims.hips)]
    local = []
    directions, hints = (
        [*aims.directions, *(d for d, _ in hand_aims)],
        [*aims.hints, *(h for _, h in hand_aims)],
    )
    for direction, hint, rest_t, parent in zip(
        directions, hints, _AIMED_REST_T, _PARENT_ROWS, strict=True
    ):
        rotation = scalar.multiply(
            scalar.matrix_to_quaternion(scalar.aim_matrix(direction, hint)), rest_t
        )
        local.append(scalar.canonical(scalar.multiply(scalar.conjugate(world[parent]), rotation)))
        world.append(rotation)
    return world, local


def _hands_on_their_arms(frame: PoseFrame) -> list[list[Vec3] | None]:
    """(left, right): the hand's points in Unity axes (hands.hand_points), when it was found and
    its wrist is where the pose puts that wrist; else None."""
    found: list[list[Vec3] | None] = [None, None]
    pose = frame.pose.tolist()
    if not scalar.all_finite(pose):
        return found
    width, height = frame.image_size
    for side, block in enumerate((frame.left_hand, frame.right_hand)):
        hand = block.tolist()
        if not scalar.all_finite(hand):
            continue
        (wrist_x, wrist_y, *_), (knuckle_x, knuckle_y, *_) = hand[0], hand[9]
        pose_x, pose_y, *_ = pose[_POSE_WRISTS[side]]
        palm_px = math.hypot((knuckle_x - wrist_x) * width, (knuckle_y - wrist_y) * height)
        offset_px = math.hypot((pose_x - wrist_x) * width, (pose_y - wrist_y) * height)
        if offset_px <= HAND_WRIST_MATCH_PALMS * palm_px:
            found[side] = hands.hand_points(hand, frame.image_size)
    return found
