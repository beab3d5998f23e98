"""The face's ARKit weights (PoseFrame.arkit, MediaPipe's blendshape model): as the avatar shows
them (on its own sides), and as the source of the VRM0 Joy expression.

Sides: ARKit names them from the subject's point of view (eyeBlinkLeft is the subject's left eye,
jawLeft moves the jaw to the subject's left); with the solver's mirror on, the avatar's left is
the subject's right, so every Left weight trades places with its Right.

Which VRM0 expressions come from the weights, judged on the real media in tests/data (Holistic's
landmarks through the model, against what the photos and video visibly show):
- Joy: yes. mouthSmileLeft/Right tell smiles from neutral faces where the mouth corners' height
  does not: every smiling face (five photos, their mirror images, and the video's closed-mouth
  smile) reads above 0.5 from the weights, against 27% of them from the corners' height (a
  laughing face, whose wide-open mouth pulls the corners down, read 0.31), and both keep the
  neutral faces under 0.2. The held smile is also steadier (mean step 8% of its level, 41% from
  the corners). Measured by tools/compare_expressions.py, which also tries the rejected ones.
- Blink: no. eyeBlink reads 0.35-0.42 for open eyes looking down (lids following the gaze) and
  only 0.6-0.76 for closed ones, so no threshold keeps both apart; the lid gap read against the
  gaze (mocap.solve.face) keeps looking down at 0 and still closes the eyes.
- A, I, U, E, O: no. jawOpen reads 0.13-0.16 for the laughing face's open mouth (0.17-0.25 of a
  vowel), which the lips' gap reads as 0.8 of one; no face in the media speaks a vowel to tune a
  mapping on.
- Angry, Sorrow, Fun, Surprised: no. browDown reads 0.3-0.86 on neutral faces, and no face in the
  media shows these expressions to tune them on.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import cast

from mocap.frames import FloatArray
from mocap.skeleton import ARKIT_NAMES

_INDEX = {name: i for i, name in enumerate(ARKIT_NAMES)}
_SMILES = (_INDEX["mouthSmileLeft"], _INDEX["mouthSmileRight"])

# The mean of mouthSmileLeft and mouthSmileRight: a neutral face's (measured 0.01-0.06 on the
# video's neutral frames and 0.0-0.02 on the neutral photo; a calibration measures the user's),
# how far above it a smile starts (the model's wobble on a still face), and how much further is a
# full smile (real smiles measure 0.5-0.94).
TYPICAL_SMILE_WEIGHT = 0.05
SMILE_ONSET = 0.05
SMILE_RANGE = 0.4


def _mirrored_name(name: str) -> str:
    if name.endswith("Left"):
        return name.removesuffix("Left") + "Right"
    if name.endswith("Right"):
        return name.removesuffix("Right") + "Left"
    return name


# MIRRORED_ARKIT[i]: the weight that a mirror image shows instead of weight i.
MIRRORED_ARKIT = tuple(_INDEX[_mirrored_name(name)] for name in ARKIT_NAMES)
_MIRRORED = operator.itemgetter(*MIRRORED_ARKIT)  # one C call where a generator costs 51 steps


def measured_arkit(weights: FloatArray) -> tuple[float, ...] | None:
    """A frame's weights as plain floats (the subject's sides), None when they are absent (any
    not finite: no face, or the model off)."""
    values = weights.tolist()
    # NaN or infinity anywhere makes the sum non-finite (so do absurd weights that overflow it).
    if not math.isfinite(sum(values)):
        return None
    return tuple(values)


def on_avatar_sides(arkit: Sequence[float], mirror: bool) -> tuple[float, ...]:
    """The weights on the avatar's own sides (mirror: the solver's)."""
    return cast(tuple[float, ...], _MIRRORED(arkit)) if mirror else tuple(arkit)


def avatar_arkit(weights: FloatArray, mirror: bool) -> tuple[float, ...] | None:
    """A frame's weights on the avatar's sides, None when they are absent."""
    arkit = measured_arkit(weights)
    return None if arkit is None else on_avatar_sides(arkit, mirror)


def smile_weight(arkit: Sequence[float]) -> float:
    """The smile's weight: both mouth corners' mean."""
    return 0.5 * (arkit[_SMILES[0]] + arkit[_SMILES[1]])


def joy(arkit: Sequence[float], neutral_smile: float | None) -> float:
    """Joy in [0, 1] from the smile's weight against the user's neutral one (None: typical)."""
    neutral = TYPICAL_SMILE_WEIGHT if neutral_smile is None else neutral_smile
    return min(max((smile_weight(arkit) - neutral - SMILE_ONSET) / SMILE_RANGE, 0.0), 1.0)
