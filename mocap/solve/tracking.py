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

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from mocap.solve import rotations
from mocap.solve.humanoid import FINGER_BONES, INDEX, REST_ROTATIONS, SIDES

Array = npt.NDArray[np.float64]

TORSO, HEAD, LEFT_ARM, RIGHT_ARM, LEFT_HAND, RIGHT_HAND, LEFT_LEG, RIGHT_LEG = range(8)
GROUP_NAMES = (
    "torso", "head", "left_arm", "right_arm", "left_hand", "right_hand", "left_leg", "right_leg",
)  # fmt: skip
ARMS = np.array([LEFT_ARM, RIGHT_ARM])
HANDS = np.array([LEFT_HAND, RIGHT_HAND])
LEGS = np.array([LEFT_LEG, RIGHT_LEG])


def _group_bones() -> dict[int, list[str]]:
    """The bones of each group. The rest (Shoulders, Toes, Jaw) are never solved: at rest."""
    groups = {
        TORSO: ["Hips", "Spine", "Chest", "UpperChest"],
        HEAD: ["Neck", "Head", "LeftEye", "RightEye"],
    }
    for side, arm, hand, leg in zip(SIDES, ARMS, HANDS, LEGS, strict=True):
        groups[int(arm)] = [f"{side}UpperArm", f"{side}LowerArm"]
        fingers = [name for name in FINGER_BONES if name.startswith(side)]
        groups[int(hand)] = [f"{side}Hand", *fingers]
        groups[int(leg)] = [f"{side}UpperLeg", f"{side}LowerLeg", f"{side}Foot"]
    return groups


GROUP_BONES = _group_bones()
_GROUP_BONE_INDICES = [
    np.array([INDEX[name] for name in GROUP_BONES[group]]) for group in range(len(GROUP_NAMES))
]


@lru_cache(maxsize=256)
def _bones_of(groups: tuple[bool, ...]) -> npt.NDArray[np.intp]:
    """The bones of the groups marked True (one flag per group): one array per pattern, so a
    frame indexes its bones once rather than group by group."""
    chosen = [_GROUP_BONE_INDICES[g] for g, flag in enumerate(groups) if flag]
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.intp)


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
    """Holds each group's last good rotations and expressions and fades them to rest."""

    def __init__(self, hold_s: float, ease_s: float, expression_count: int) -> None:
        self._hold_s = hold_s
        self._ease_s = ease_s
        self._presence = [_Presence() for _ in GROUP_NAMES]
        self._held = REST_ROTATIONS.copy()
        self._held_expressions = [0.0] * expression_count

    def update(
        self,
        now_s: float,
        measured: Array,
        tracked: list[bool],
        expressions: list[float],
    ) -> tuple[Array, list[float]]:
        """measured: (55, 4) local rotations, valid for the bones of tracked groups; tracked: one
        flag per group; expressions: valid when the head is tracked. Returns the rotations and
        expression weights to show (a new array)."""
        weights = [
            presence.update(now_s, seen, self._hold_s, self._ease_s)
            for presence, seen in zip(self._presence, tracked, strict=True)
        ]
        fresh = _bones_of(tuple(tracked))
        self._held[fresh] = measured[fresh]
        if tracked[HEAD]:
            self._held_expressions = expressions
        # Full weight shows the held pose and zero the rest pose; only fading groups need a slerp.
        shown = self._held.copy()
        shown[_bones_of(tuple(weight <= 0.0 for weight in weights))] = REST_ROTATIONS[0]
        for group, weight in enumerate(weights):
            if 0.0 < weight < 1.0:
                bones = _GROUP_BONE_INDICES[group]
                shown[bones] = rotations.power(self._held[bones], weight)
        face_weight = weights[HEAD]
        return shown, [weight * face_weight for weight in self._held_expressions]
