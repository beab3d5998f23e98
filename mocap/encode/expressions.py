"""VRM expression preset names: VRM0's (which the VMC protocol requires) and VRM1's.

Sources: the VMC protocol's "VRM0 vs VRM1" table (sh-akira/VirtualMotionCaptureProtocol,
docs/english.markdown) for the renamed presets, and UniVRM's VRM0 -> VRM1 migration
(MigrationVrmExpression.ToPreset) for the rest: Neutral, Blink and the Look* presets only change
case, and a VRM0 clip named "Surprised" (no VRM0 preset; VRoid models carry it as a custom clip)
becomes VRM1's "surprised" preset. Names are case-sensitive on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

VRM0_TO_VRM1: Mapping[str, str] = MappingProxyType(
    {
        "Neutral": "neutral",
        "A": "aa",
        "I": "ih",
        "U": "ou",
        "E": "ee",
        "O": "oh",
        "Blink": "blink",
        "Blink_L": "blinkLeft",
        "Blink_R": "blinkRight",
        "Joy": "happy",
        "Angry": "angry",
        "Sorrow": "sad",
        "Fun": "relaxed",
        "Surprised": "surprised",
        "LookUp": "lookUp",
        "LookDown": "lookDown",
        "LookLeft": "lookLeft",
        "LookRight": "lookRight",
    }
)
