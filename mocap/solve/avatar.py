"""The solver's output: one humanoid pose in Unity's space. Data only.

Space: Unity's, left-handed, +X right, +Y up, +Z forward, metres; quaternions (x, y, z, w). An
avatar at rest faces +Z, so its own right hand points to +X. Rotations are LOCAL (relative to the parent
bone) and relative to a rest pose whose rotations are all identity (VRM0's normalised T-pose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Float64Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AvatarFrame:
    """bone_names[i] has local position local_positions[i] (3,) and rotation local_rotations[i]
    (4,) x,y,z,w. root_* place the whole avatar. Every value is finite: a lost part is held or
    eased to rest by the solver, never NaN. blendshapes maps VRM0 expression names to [0, 1]."""

    bone_names: tuple[str, ...]
    local_positions: Float64Array  # (len(bone_names), 3) metres
    local_rotations: Float64Array  # (len(bone_names), 4) unit quaternions x, y, z, w
    root_position: Float64Array  # (3,) metres
    root_rotation: Float64Array  # (4,) x, y, z, w
    blendshapes: dict[str, float]
