"""Tracking loss per limb: hold the last good pose, then ease to the rest pose; ease back in.

Each group of bones (a limb, a hand, the head with the face's expressions) has a presence weight:
1 while tracked; after the last good frame it stays 1 for hold_s, then falls linearly to 0 over
ease_s. The output is the last good local rotation slerped from identity (the rest pose) by that
weight, and the last good expression weights scaled by it. Whenever a group is (again) tracked,
its weight rises from wherever it was to 1 over ease_s, so nothing snaps: not a limb that comes
back into view, not the first frames (the avatar starts at rest), and a part that the detector
reports for a single frame barely shows.
"""

from __future__ import annotations

from collections.abc import Sequence

from mocap.solve import scalar
from mocap.solve.humanoid import BONE_COUNT, FINGER_BONES, INDEX, SIDES
from mocap.solve.scalar import Quat

TORSO, HEAD, LEFT_ARM, RIGHT_ARM, LEFT_HAND, RIGHT_HAND, LEFT_LEG, RIGHT_LEG = range(8)
GROUP_NAMES = (
    "torso", "head", "left_arm", "right_arm", "left_hand", "right_hand", "left_leg", "right_leg",
)  # fmt: skip
ARMS = (LEFT_ARM, RIGHT_ARM)
HANDS = (LEFT_HAND, RIGHT_HAND)
LEGS = (LEFT_LEG, RIGHT_LEG)


def _group_bones() -> dict[int, list[str]]:
    """The bones of each group. The rest (Toes, Jaw) are never solved: at rest."""
    groups = {
        TORSO: ["Hips", "Spine", "Chest", "UpperChest", "LeftShoulder", "RightShoulder"],
        HEAD: ["Neck", "Head", "LeftEye", "RightEye"],
    }
    for side, arm, hand, leg in zip(SIDES, ARMS, HANDS, LEGS, strict=True):
        groups[arm] = [f"{side}UpperArm", f"{side}LowerArm"]
        fingers = [name for name in FINGER_BONES if name.startswith(side)]
        groups[hand] = [f"{side}Hand", *fingers]
        groups[leg] = [f"{side}UpperLeg", f"{side}LowerLeg", f"{side}Foot"]
    return groups


GROUP_BONES = _group_bones()
_GROUP_BONE_INDICES = [
    tuple(INDEX[name] for name in GROUP_BONES[group]) for group in range(len(GROUP_NAMES))
]


def _ramp(elapsed_s: float, duration_s: float) -> float:
    """0 -> 1 linearly over duration_s (at once when the duration is 0)."""
    if duration_s <= 0.0:
        return 1.0 if elapsed_s >= 0.0 else 0.0
    return min(max(elapsed_s / duration_s, 0.0), 1.0)


class _Presence:
    """One group's presence weight over time (see the module docstring)."""

    def __init__(self) -> None:
        self.weight = 0.0
        self._tracked = False
        self._last_good_s = 0.0
        self._anchor_s = 0.0  # when the current rise or fall started
        self._anchor_weight = 0.0  # the weight it started from

    def update(self, now_s: float, tracked: bool, hold_s: float, ease_s: float) -> float:
        if tracked != self._tracked:
            # A rise starts now, a fall at the last good frame; both from the current weight.
            self._anchor_s = now_s if tracked else self._last_good_s
            self._anchor_weight = self.weight
            self._tracked = tracked
        if tracked:
            self._last_good_s = now_s
            rise = _ramp(now_s - self._anchor_s, ease_s)
            self.weight = min(1.0, self._anchor_weight + rise)
        else:
            fall = _ramp(now_s - self._anchor_s - hold_s, ease_s)
            self.weight = self._anchor_weight * (1.0 - fall)
        return self.weight


class LimbTracker:
    """Holds each group's last good rotations and expressions and fades them to rest.

    Rotations are lists of 55 quaternions in BONES order, as plain floats: a frame copies a few
    dozen of them and slerps only the groups that are fading, which costs less than numpy calls.
    """

    def __init__(self, hold_s: float, ease_s: float, expression_count: int) -> None:
        self._hold_s = hold_s
        self._ease_s = ease_s
        self._presence = [_Presence() for _ in GROUP_NAMES]
        self._held = [scalar.IDENTITY] * BONE_COUNT
        self._held_expressions = [0.0] * expression_count

    def update(
        self,
        now_s: float,
        measured: Sequence[Quat],
        tracked: list[bool],
        expressions: list[float],
    ) -> tuple[list[Quat], list[float]]:
        """measured: 55 local rotations, valid for the bones of tracked groups; tracked: one flag
        per group; expressions: valid when the head is tracked. Returns the rotations and
        expression weights to show (new lists)."""
        weights = [
            presence.update(now_s, seen, self._hold_s, self._ease_s)
            for presence, seen in zip(self._presence, tracked, strict=True)
        ]
        held = self._held
        shown = [scalar.IDENTITY] * BONE_COUNT  # zero weight shows the rest pose
        for bones, seen, weight in zip(_GROUP_BONE_INDICES, tracked, weights, strict=True):
            if seen:
                for bone in bones:
                    held[bone] = measured[bone]
            if weight >= 1.0:
                for bone in bones:
                    shown[bone] = held[bone]
            elif weight > 0.0:
                for bone in bones:
                    shown[bone] = scalar.power(held[bone], weight)
        if tracked[HEAD]:
            self._held_expressions = expressions
        face_weight = weights[HEAD]
        return shown, [weight * face_weight for weight in self._held_expressions]
