"""The two conventions the solver must get right: MediaPipe's space to Unity's, and mirroring.

MediaPipe (world landmarks in metres, and image landmarks scaled to pixels as (x W, y H, z W)):
x toward the image's right, y DOWN, z AWAY from the camera (smaller z is nearer): right-handed.
A subject facing the camera therefore has their own right at -x, their up at -y and their
forward (toward the camera) at -z.

Unity (VMC): left-handed, +X right, +Y up, +Z forward, and an avatar at rest faces +Z with its own
right hand at +X. Driving the avatar as the subject (no mirror) means the subject's right, up and
forward become the avatar's +X, +Y, +Z:

    (X, Y, Z)_unity = (-x, -y, -z)_mediapipe

a point reflection (determinant -1), as it must be between a right- and a left-handed frame. The
solver reads landmarks only through `rows_to_unity` (points as plain floats) and `unity_scale`
(the same map as factors per axis, for sums that are cheaper to convert once they are summed), and
computes in that unmirrored space.

Mirroring (config.mirror) then reflects the solved avatar across its YZ plane, x -> -x, and swaps
Left and Right. A rotation R seen in that mirror is M R M with M = diag(-1, 1, 1). Its angle is
unchanged and its axis, a pseudovector, becomes det(M) M a = (a_x, -a_y, -a_z); so a quaternion
(x, y, z, w) = (a sin(t/2), cos(t/2)) becomes (x, -y, -z, w). Because the rest pose is itself
symmetric and all its rotations are identity, the same holds for local rotations
(M R_parent^-1 R_child M = (M R_parent M)^-1 (M R_child M)): mirror each bone's rotation and give it
to the bone's counterpart. Positions become (-x, y, z).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mocap.solve.humanoid import MIRROR
from mocap.solve.scalar import Quat, Vec3

_MIRROR = MIRROR.tolist()

# (X, Y, Z)_unity = (-x, -y, -z)_mediapipe, axis by axis.
_UNITY_SIGNS = (-1.0, -1.0, -1.0)


def unity_scale(scale: Sequence[float]) -> Vec3:
    """Per axis, the factor that takes a MediaPipe coordinate, first multiplied by scale (e.g. an
    image's width, height, width), to the Unity one: the map is diagonal."""
    sx, sy, sz = (factor * sign for factor, sign in zip(scale, _UNITY_SIGNS, strict=True))
    return (sx, sy, sz)


def rows_to_unity(rows: Iterable[Sequence[float]], scale: Sequence[float]) -> list[Vec3]:
    """MediaPipe rows (x, y, z, anything after ignored), each axis times scale, -> Unity points as
    plain floats."""
    sx, sy, sz = unity_scale(scale)
    return [(row[0] * sx, row[1] * sy, row[2] * sz) for row in rows]


def mirror_rotations(local: Sequence[Quat]) -> list[Quat]:
    """The 55 local rotations of the humanoid -> those of its mirror image (Left <-> Right)."""
    return [(q[0], -q[1], -q[2], q[3]) for q in (local[bone] for bone in _MIRROR)]
