"""The solver's output: one humanoid pose in Unity's space. Data only.

Space: Unity's, left-handed, +X right, +Y up, +Z forward, metres; quaternions (x, y, z, w). An
avatar at rest faces +Z, so its own right hand points to +X. Rotations are LOCAL (relative to the
parent bone) and relative to a rest pose whose rotations are all identity (VRM0's normalised
T-pose; mocap.solve.humanoid). Bone and expression sides are the avatar's own: with the solver's
mirror on, the subject's right hand drives the avatar's LeftHand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Float64Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AvatarFrame:
    """bone_names[i] has local position local_positions[i] (3,) and rotation local_rotations[i]
    (4,) x,y,z,w (read-only arrays). Positions are the rest pose's offsets, but for the Hips
    (relative to the root), which sink when the legs fold so that the feet stay on the floor.
    root_* place the whole avatar. Every value is finite: a lost part is held or eased to rest by
    the solver, never NaN. blendshapes maps VRM0 expression names to [0, 1]; Blink carries what
    both eyes share and Blink_L / Blink_R each eye's excess, so that a receiver adding the clips
    closes each eye by exactly its own amount."""

    bone_names: tuple[str, ...]
    local_positions: Float64Array  # (len(bone_names), 3) metres
    local_rotations: Float64Array  # (len(bone_names), 4) unit quaternions x, y, z, w
    root_position: Float64Array  # (3,) metres
    root_rotation: Float64Array  # (4,) x, y, z, w
    blendshapes: dict[str, float]
    # (len(bone_names), 3) rotation vectors, radians, in each bone's frame: how far the rotation
    # filter estimates its rotations trail the motion (mocap.solve.filter); the paced outputs'
    # prediction turns the bones on by it. None when nothing filtered.
    lag_rad: Float64Array | None = None
    # The face's 51 ARKit weights in 0..1 (skeleton.ARKIT_NAMES order) on the avatar's own sides
    # (with the mirror on, eyeBlinkLeft is the subject's right eye), as measured: "Perfect Sync"
    # receivers drive their own clips with them. None when the frame has none (no face, or the
    # blendshape model off).
    arkit: tuple[float, ...] | None = None
