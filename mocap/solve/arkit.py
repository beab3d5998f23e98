"""The face's ARKit weights (PoseFrame.arkit, MediaPipe's blendshape model) as the avatar shows
them: on the avatar's own sides.

ARKit names sides from the subject's point of view (eyeBlinkLeft is the subject's left eye,
jawLeft moves the jaw to the subject's left); with the solver's mirror on, the avatar's left is
the subject's right, so every Left weight trades places with its Right.
"""

from __future__ import annotations

import math

from mocap.frames import FloatArray
from mocap.skeleton import ARKIT_NAMES

_INDEX = {name: i for i, name in enumerate(ARKIT_NAMES)}


def _mirrored_name(name: str) -> str:
    if name.endswith("Left"):
        return name.removesuffix("Left") + "Right"
    if name.endswith("Right"):
        return name.removesuffix("Right") + "Left"
    return name


# MIRRORED_ARKIT[i]: the weight that a mirror image shows instead of weight i.
MIRRORED_ARKIT = tuple(_INDEX[_mirrored_name(name)] for name in ARKIT_NAMES)


def avatar_arkit(weights: FloatArray, mirror: bool) -> tuple[float, ...] | None:
    """The frame's weights on the avatar's sides (mirror: the solver's), None when they are
    absent (any not finite: no face, or the model off)."""
    values = weights.tolist()
    if not all(math.isfinite(value) for value in values):
        return None
    if mirror:
        return tuple(values[i] for i in MIRRORED_ARKIT)
    return tuple(values)
