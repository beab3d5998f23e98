"""AvatarSolver: one smoothed PoseFrame in, one AvatarFrame (humanoid bones, VRM0 expressions) out.

Per frame: landmarks -> Unity space (spaces.mediapipe_to_unity) -> world rotations of the bones
the body, hands and face measure, in one batch -> local rotations -> tracking loss per limb (hold,
then ease to rest) -> the hands' twist moved into the forearms -> hips lowered onto the feet ->
quaternion sign continuity -> mirror (config.mirror). Up to the mirror everything is on the
subject's own sides ("LeftHand" is the subject's left hand). Time comes only from
frame.timestamp_s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mocap.config import SolverConfig
from mocap.frames import FloatArray, PoseFrame
from mocap.solve import body, hands, rotations, tracking
from mocap.solve.avatar import AvatarFrame
from mocap.solve.face import EXPRESSIONS, MIRRORED_EXPRESSIONS, read_face
from mocap.solve.humanoid import BONES, INDEX, PARENTS, REST_LOCAL_POSITIONS, REST_ROTATIONS
from mocap.solve.spaces import mediapipe_to_unity, mirror_rotations

Array = npt.NDArray[np.float64]

# Spine, Chest and UpperChest share the upper chest's rotation relative to the hips equally; of
# the head's rotation relative to the upper chest, the Neck takes NECK_SHARE, the Head the rest.
NECK_SHARE = 0.4
_SPLIT_BONES = np.array([INDEX[n] for n in ("Spine", "Chest", "UpperChest", "Neck", "Head")])
_SPLIT_SHARES = np.array([1 / 3, 1 / 3, 1 / 3, NECK_SHARE, 1 - NECK_SHARE])
# A found hand belongs to an arm only when its wrist lies within this many palm lengths (wrist to
# middle knuckle, in the image) of the pose's wrist: Holistic sometimes reports one hand as both
# the left and the right.
HAND_WRIST_MATCH_PALMS = 1.0
_POSE_WRISTS = np.array([15, 16])
_KNEES_AND_ANKLES = np.array([[25, 27], [26, 28]])
_EYE_BONES = np.array([INDEX["LeftEye"], INDEX["RightEye"]])

# World rotations solved in one batch, each in a slot; a slot's local rotation is taken against
# its parent slot. "UpperChest" holds the shoulders' frame and "HeadFrame" the face's: their
# rotations relative to their parents are split over several bones. The Shoulder bones stay at
# rest, so the upper arms hang from the upper chest's frame.
_SLOTS = (
    "Root", "Hips", "UpperChest", *(name for name, _, _ in body.LIMB_BONES), "LeftHand",
    "RightHand", "HeadFrame",
)  # fmt: skip
_HIPS_SLOT, _CHEST_SLOT, _LIMB_SLOTS, _HAND_SLOTS, _HEAD_SLOT = 1, 2, slice(3, 13), 13, 15


def _parent_slots() -> npt.NDArray[np.intp]:
    special = {"Root": "Root", "Hips": "Root", "UpperChest": "Hips", "HeadFrame": "UpperChest"}
    parents = []
    for slot in _SLOTS:
        parent = special.get(slot) or BONES[PARENTS[INDEX[slot]]]
        parents.append(_SLOTS.index("UpperChest" if parent.endswith("Shoulder") else parent))
    return np.array(parents, dtype=np.intp)


_PARENT_SLOTS = _parent_slots()
_BONE_SLOTS = np.array([i for i, s in enumerate(_SLOTS) if s in INDEX and s != "UpperChest"])
_SLOT_BONES = np.array([INDEX[_SLOTS[i]] for i in _BONE_SLOTS])
_IDENTITY_WORLD = np.broadcast_to(np.eye(3), (len(_SLOTS), 3, 3))


@dataclass(frozen=True, slots=True)
class _Measurement:
    """What one frame shows: local rotations (55, 4) (valid for the bones of tracked groups),
    which groups are tracked (tracking.GROUP_NAMES), expression weights (valid when the head is
    tracked)."""

    rotations: Array
    tracked: npt.NDArray[np.bool_]
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
        self._previous: Array | None = None
        self._previous_s = 0.0

    def __call__(self, frame: PoseFrame) -> AvatarFrame:
        measured = _measure(frame, self._config)
        local, expressions = self._tracker.update(
            frame.timestamp_s, measured.rotations, measured.tracked, measured.expressions
        )
        local = body.transfer_forearm_twist(local)
        positions = REST_LOCAL_POSITIONS.copy()
        positions[INDEX["Hips"], 1] = body.grounded_hips_height_m(local)
        local = self._continued(local, frame.timestamp_s)
        if self._config.mirror:
            # The rest pose is symmetric and the hips move only vertically: positions stay.
            local = mirror_rotations(local)
            expressions = [expressions[i] for i in MIRRORED_EXPRESSIONS]
        local.flags.writeable = False
        positions.flags.writeable = False
        return AvatarFrame(
            bone_names=BONES,
            local_positions=positions,
            local_rotations=local,
            root_position=np.zeros(3),
            root_rotation=rotations.IDENTITY_QUATERNION.copy(),
            blendshapes={
                n: min(max(w, 0.0), 1.0) for n, w in zip(EXPRESSIONS, expressions, strict=True)
            },
        )

    def _continued(self, local: Array, now_s: float) -> Array:
        """local, no faster than config.max_bone_speed_dps from the previous output, each
        quaternion in the same hemisphere as its previous one."""
        previous, elapsed_s = self._previous, now_s - self._previous_s
        self._previous_s = now_s
        if previous is None:
            self._previous = local
            return local
        max_speed_rad_s = math.radians(self._config.max_bone_speed_dps)
        if max_speed_rad_s > 0.0 and elapsed_s > 0.0:
            local = rotations.limited_steps(local, previous, max_speed_rad_s * elapsed_s)
        self._previous = rotations.hemisphere_aligned(local, previous)
        return self._previous


def _measure(frame: PoseFrame, config: SolverConfig) -> _Measurement:
    local = REST_ROTATIONS.copy()
    tracked = np.zeros(len(tracking.GROUP_NAMES), dtype=bool)
    if not _usable(frame.pose_world):
        return _Measurement(local, tracked, [0.0] * len(EXPRESSIONS))
    points_u = mediapipe_to_unity(frame.pose_world[:, :3])
    visibility = frame.pose_world[:, 3]
    sides = np.flatnonzero(_hands_on_their_arms(frame))
    hand_blocks = (frame.left_hand, frame.right_hand)
    hands_u = np.array([hands.hand_points(hand_blocks[s], frame.image_size) for s in sides])
    world = _body_and_hands_world(points_u, visibility, hands_u.reshape(-1, 21, 3), sides)
    face = read_face(frame.face, frame.image_size) if _usable(frame.face) else None
    if face is not None:
        world[_HEAD_SLOT] = face.head_rotation
        local[_EYE_BONES] = face.eye_rotation
    _set_local_rotations(local, world)
    if sides.size:
        fingers = hands.finger_rotations(hands_u, world[_HAND_SLOTS + sides], sides)
        local[hands.FINGER_BONE_INDICES[sides]] = fingers

    # Arms follow the pose whenever there is one: for arms out of the picture the pose model
    # guesses a resting pose (hanging, forearms forward), better than the T-pose of the rest pose.
    # Legs move only when seen: its guesses for unseen legs are wrong (standing for a seated user).
    tracked[[tracking.TORSO, *tracking.ARMS]] = True
    tracked[tracking.HANDS[sides]] = True
    tracked[tracking.LEGS] = [
        not config.upper_body_only and min(knee, ankle) >= config.leg_min_visibility
        for knee, ankle in visibility[_KNEES_AND_ANKLES].tolist()
    ]
    tracked[tracking.HEAD] = face is not None
    expressions = face.expressions if face is not None else [0.0] * len(EXPRESSIONS)
    return _Measurement(local, tracked, expressions)


def _body_and_hands_world(
    points_u: Array, visibility: FloatArray, hands_u: Array, sides: npt.NDArray[np.intp]
) -> Array:
    """World rotations in their _SLOTS (identity where nothing was measured), every limb and hand
    aimed in one batch."""
    torso = body.solve_torso(points_u, visibility)
    limb_dirs, limb_hints = body.limb_aims(points_u, torso)
    hand_dirs, hand_hints = hands.hand_aims(hands_u)
    aimed = rotations.aim_frames(
        np.concatenate((limb_dirs, hand_dirs)), np.concatenate((limb_hints, hand_hints))
    ) @ np.concatenate((body.LIMB_REST_FRAMES_T, hands.HAND_REST_FRAMES_T[sides]))
    world = _IDENTITY_WORLD.copy()
    world[_HIPS_SLOT], world[_CHEST_SLOT] = torso.hips, torso.upper_chest
    world[_LIMB_SLOTS] = aimed[: len(limb_dirs)]
    world[_HAND_SLOTS + sides] = aimed[len(limb_dirs) :]
    return world


def _set_local_rotations(local: Array, world: Array) -> None:
    """Each slot's rotation relative to its parent slot, as the local rotation of its bone, or
    split over the Spine, Chest and UpperChest, or over the Neck and Head."""
    slot_locals = rotations.matrices_to_quaternions(world[_PARENT_SLOTS].swapaxes(-1, -2) @ world)
    local[_SLOT_BONES] = slot_locals[_BONE_SLOTS]
    split_from = slot_locals[[_CHEST_SLOT] * 3 + [_HEAD_SLOT] * 2]
    local[_SPLIT_BONES] = rotations.power(split_from, _SPLIT_SHARES)


def _hands_on_their_arms(frame: PoseFrame) -> npt.NDArray[np.bool_]:
    """(left, right): the hand was found and its wrist is where the pose puts that wrist."""
    found = [False, False]
    if _usable(frame.pose):
        width, height = frame.image_size
        for side, hand in enumerate((frame.left_hand, frame.right_hand)):
            if _usable(hand):
                (wrist_x, wrist_y), (knuckle_x, knuckle_y) = hand[[0, 9], :2].tolist()
                pose_x, pose_y = frame.pose[_POSE_WRISTS[side], :2].tolist()
                palm_px = math.hypot((knuckle_x - wrist_x) * width, (knuckle_y - wrist_y) * height)
                offset_px = math.hypot((pose_x - wrist_x) * width, (pose_y - wrist_y) * height)
                found[side] = offset_px <= HAND_WRIST_MATCH_PALMS * palm_px
    return np.array(found)


def _usable(block: FloatArray) -> bool:
    """Found, and finite throughout: an absent part is all-NaN, and a partly broken one (which no
    detector should send) is treated as absent rather than let NaN into the avatar."""
    return bool(np.isfinite(block).all())
