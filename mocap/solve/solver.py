"""AvatarSolver: one smoothed PoseFrame in, one AvatarFrame (humanoid bones, VRM0 expressions) out.

Per frame: landmarks -> Unity space (mocap.solve.spaces) -> world rotations of the torso,
shoulders, limbs, hands and head, every joint within its range -> local rotations (a quaternion
chain from parent to child) -> tracking loss per limb (hold, then ease to rest) -> half the hands'
twist moved into the forearms -> hips lowered onto the feet -> quaternion sign continuity ->
mirror (config.mirror). Up to the mirror everything is
on the subject's own sides ("LeftHand" is the subject's left hand). Time comes only from
frame.timestamp_s. A calibration (mocap.solve.calibration) levels the landmarks and the head
first (the camera's pitch and roll undone) and gives the face's baseline.

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
from mocap.solve.arkit import measured_arkit, on_avatar_sides
from mocap.solve.avatar import AvatarFrame
from mocap.solve.calibration import Calibration
from mocap.solve.face import EXPRESSIONS, MIRRORED_EXPRESSIONS, FaceState, read_face
from mocap.solve.humanoid import BONE_COUNT, BONES, INDEX, REST_LOCAL_POSITIONS
from mocap.solve.scalar import Quat, Vec3
from mocap.solve.spaces import mirror_rotations, rows_to_unity
from mocap.solve.sway import HipSway

# Spine and Chest share the upper chest's rotation relative to the hips equally and the UpperChest
# keeps none: the upper back barely bends, many avatars have no UpperChest (its share would be
# lost), and the lower the bend, the closer the avatar's hips-to-shoulders line comes to the one
# measured. Of the head's rotation relative to the upper chest, the Neck takes NECK_SHARE, the
# Head the rest.
NECK_SHARE = 0.4
# A found hand belongs to an arm only when its wrist lies within this many palm lengths (wrist to
# middle knuckle, in the image) of the pose's wrist: Holistic sometimes reports one hand as both
# the left and the right.
HAND_WRIST_MATCH_PALMS = 1.0
_POSE_WRISTS = (15, 16)
_KNEES_AND_ANKLES = ((25, 27), (26, 28))

# Each hand's rest frame, transposed, as a quaternion: world = aim * this.
_HAND_REST_T = [scalar.matrix_to_quaternion(frame) for frame in hands.HAND_REST_FRAMES_T.tolist()]
_FACE_BONES = ("Neck", "Head", "LeftEye", "RightEye")


@lru_cache(maxsize=8)
def _measured_bones(face: bool, left_hand: bool, right_hand: bool) -> tuple[int, ...]:
    """The bones _measure solves, in the order it lists their rotations: the limbs, the hands,
    the torso and shoulders, then, when found, the neck, head and eyes, and each hand's fingers."""
    names = [
        *body.LIMB_BONES, "LeftHand", "RightHand", "Hips", "Spine", "Chest", "UpperChest",
        "LeftShoulder", "RightShoulder", *(_FACE_BONES if face else ()),
    ]  # fmt: skip
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
    """Landmarks -> avatar. Keeps the state that spans frames: held poses, sign continuity, the
    face's baseline, and the calibration in use."""

    def __init__(self, config: SolverConfig, calibration: Calibration | None = None) -> None:
        self._config = config
        self._calibration = calibration
        self._face_calibration: Calibration | None = None  # the one self._face was made for
        self.reset()

    # --- calibration: set from any thread, taken up by the next frame ---------------------------

    def calibrate(self, calibration: Calibration | None) -> None:
        """Use calibration from the next frame on (None: none). Thread-safe: one assignment of an
        immutable value, which __call__ reads once per frame."""
        self._calibration = calibration

    def _take_up_calibration(self) -> Calibration | None:
        calibration = self._calibration
        if calibration is not self._face_calibration:
            self._use_face_baseline(calibration)
        return calibration

    def _use_face_baseline(self, calibration: Calibration | None) -> None:
        """The face's baseline from calibration; without one, a typical one that adapts."""
        face = calibration.face if calibration is not None else None
        self._face = FaceState(face, link_blinks=self._config.link_blinks)
        self._face_calibration = calibration

    # ---------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every earlier frame (a new source, or a replay that starts over)."""
        self._tracker = tracking.LimbTracker(
            self._config.hold_s, self._config.ease_s, len(EXPRESSIONS)
        )
        self._previous: list[Quat] | None = None
        self._previous_s = 0.0
        self._use_face_baseline(self._calibration)
        limit_m = self._config.hip_sway_m
        self._sway = HipSway(limit_m) if limit_m > 0.0 else None
        # Which groups (tracking.GROUP_NAMES, the subject's sides) the last frame measured: the
        # rotation filter leaves the others' hold and ease alone.
        self.tracked_groups: list[bool] = [False] * len(tracking.GROUP_NAMES)

    def __call__(self, frame: PoseFrame) -> AvatarFrame:
        calibration = self._take_up_calibration()
        arkit = measured_arkit(frame.arkit)
        measured = _measure(frame, self._config, calibration, self._face, arkit)
        self.tracked_groups = measured.tracked
        local, expressions = self._tracker.update(
            frame.timestamp_s, measured.rotations, measured.tracked, measured.expressions
        )
        body.transfer_forearm_twist(local)
        positions = REST_LOCAL_POSITIONS.copy()
        positions[_HIPS, 1] = body.grounded_hips_height_m(local)
        if self._sway is not None:
            sway_x_m, sway_y_m = self._sway(
                frame.pose.tolist(), frame.pose_world.tolist(), frame.image_size, frame.timestamp_s
            )
            positions[_HIPS, 0] += -sway_x_m if self._config.mirror else sway_x_m
            positions[_HIPS, 1] += sway_y_m
        local = self._continued(local, frame.timestamp_s)
        if self._config.mirror:
            # The rest pose is symmetric: positions stay (the sway's x is mirrored above).
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
            arkit=None if arkit is None else on_avatar_sides(arkit, self._config.mirror),
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


def _measure(
    frame: PoseFrame,
    config: SolverConfig,
    calibration: Calibration | None,
    face_state: FaceState,
    arkit: tuple[float, ...] | None,
) -> _Measurement:
    local = [scalar.IDENTITY] * BONE_COUNT
    pose_world = frame.pose_world.tolist()
    if not scalar.all_finite(pose_world):
        return _Measurement(local, [False] * len(tracking.GROUP_NAMES), [0.0] * len(EXPRESSIONS))
    points_u = rows_to_unity(pose_world, (1.0, 1.0, 1.0))
    visibility = [row[3] for row in pose_world]
    hands_u = _hands_on_their_arms(frame)
    if calibration is not None:  # --- calibration: level what the camera saw -------------------
        level = calibration.level
        points_u = [scalar.apply(level, point) for point in points_u]
        hands_u = [None if h is None else [scalar.apply(level, p) for p in h] for h in hands_u]
    solved = body.solve_body(points_u, visibility)
    hands_world = [
        None if hand is None else _hand_world(hands.hand_aim(hand), _HAND_REST_T[side])
        for side, hand in enumerate(hands_u)
    ]
    measured = [*solved.limbs]
    for side, hand_world in enumerate(hands_world):
        lower_arm = solved.lower_arms[side]
        measured.append(
            scalar.IDENTITY
            if hand_world is None
            else scalar.canonical(
                hands.wrist_within_range(scalar.multiply(scalar.conjugate(lower_arm), hand_world))
            )
        )
    hips, upper_chest = solved.hips, solved.upper_chest
    spine = scalar.power(scalar.multiply(scalar.conjugate(hips), upper_chest), 0.5)
    measured += (hips, spine, spine, scalar.IDENTITY, *solved.shoulders)
    face = read_face(frame.face, frame.image_size, face_state, arkit)
    if face is not None:
        head_world = scalar.matrix_to_quaternion(face.head_rotation)
        if calibration is not None:
            head_world = scalar.multiply(calibration.level_rotation, head_world)
        head = scalar.multiply(scalar.conjugate(upper_chest), head_world)
        measured += [
            scalar.power(head, NECK_SHARE),
            scalar.power(head, 1.0 - NECK_SHARE),
            face.eye_rotation,
            face.eye_rotation,
        ]
    for side, (hand, hand_world) in enumerate(zip(hands_u, hands_world, strict=True)):
        if hand is not None and hand_world is not None:
            measured += hands.finger_rotations(hand, scalar.to_matrix(hand_world), side)
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


def _hand_world(aim: tuple[Vec3, Vec3], rest_t: Quat) -> Quat:
    """A hand's world rotation from its direction and twist hint (hands.hand_aim)."""
    direction, hint = aim
    return scalar.multiply(scalar.matrix_to_quaternion(scalar.aim_matrix(direction, hint)), rest_t)


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
