"""From the stream's spaces to Blender's, and the little quaternion algebra that needs. Pure.

Blender: right-handed, +Z up, metres; a character faces -Y (the front view looks along +Y), so
its own left hand is at +X. Quaternions here are (w, x, y, z), mathutils' order.

Landmarks (MediaPipe: x to the image's right, y down, z away from the camera; right-handed).
Put the camera where Blender's front view looks from (at -Y, looking along +Y): the image's
right is +X, its down is -Z and "away from the camera" is +Y, so

    (X, Y, Z) = (x, z, -y)                                    (a rotation: determinant +1)

The subject then faces -Y like a Blender character, seen as the camera saw them (not mirrored).
`pose_world` is in metres with the origin between the hips. The image parts (`pose`, `face`,
hands) are fractions of the image: they are placed on a picture one unit tall and W/H wide,
centred on the origin, with z (relative depth, in units of the image width) scaled like x.

Bones (Unity: left-handed, +Y up, the avatar facing +Z with its own left hand at -X). The avatar's
left, up and forward must become Blender's +X, +Z and -Y, so a Unity vector u maps to

    b = C u = (-u_x, -u_z, u_y),   C = [[-1, 0, 0], [0, 0, -1], [0, 1, 0]],   det C = -1

(a reflection, as between any left- and right-handed pair). A rotation R becomes C R C^-1: the
same angle about the axis det(C) C a = (a_x, a_z, -a_y) (an axis is a pseudovector), so the
Unity quaternion (x, y, z, w) becomes Blender's (w, x, z, -y). See retarget.py for how that
rotation reaches a bone of an armature with its own rest pose.
"""

from __future__ import annotations

import math

from .protocol import Point, QuaternionXYZW, Vector3

Quaternion = tuple[float, float, float, float]  # w, x, y, z
IDENTITY: Quaternion = (1.0, 0.0, 0.0, 0.0)


def world_point(point: Point) -> Vector3:
    """A pose_world landmark (metres) in Blender's space."""
    x, y, z = point[:3]
    return (x, z, -y)


def image_point(point: Point, aspect: float) -> Vector3:
    """An image landmark on a picture 1 unit tall and aspect (width / height) wide."""
    x, y, z = point[:3]
    return ((x - 0.5) * aspect, z * aspect, 0.5 - y)


def unity_vector(vector: Vector3) -> Vector3:
    x, y, z = vector
    return (-x, -z, y)


def unity_rotation(quaternion: QuaternionXYZW) -> Quaternion:
    """A Unity rotation (x, y, z, w) as the same motion in Blender's space, unit length."""
    x, y, z, w = quaternion
    return normalised((w, x, z, -y))


# --- quaternion algebra ------------------------------------------------------------------------


def normalised(q: Quaternion) -> Quaternion:
    norm = math.sqrt(sum(c * c for c in q))
    if norm == 0.0:
        return IDENTITY
    w, x, y, z = q
    return (w / norm, x / norm, y / norm, z / norm)


def multiply(a: Quaternion, b: Quaternion) -> Quaternion:
    """a * b: rotate by b, then by a."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


def inverse(q: Quaternion) -> Quaternion:
    """The inverse of a unit quaternion: its conjugate."""
    w, x, y, z = q
    return (w, -x, -y, -z)


def rotate(q: Quaternion, vector: Vector3) -> Vector3:
    _, x, y, z = multiply(multiply(q, (0.0, *vector)), inverse(q))
    return (x, y, z)


def angle_between(a: Vector3, b: Vector3) -> float:
    """Radians between two non-zero vectors."""
    dot = sum(p * q for p, q in zip(a, b, strict=True))
    norms = math.sqrt(sum(p * p for p in a) * sum(q * q for q in b))
    return math.acos(max(-1.0, min(1.0, dot / norms)))


def swing(source: Vector3, target: Vector3) -> Quaternion:
    """The smallest rotation that turns direction source onto direction target.

    Opposite directions have no unique smallest rotation: half a turn about any axis
    perpendicular to source is returned."""
    sx, sy, sz = source
    tx, ty, tz = target
    cross = (sy * tz - sz * ty, sz * tx - sx * tz, sx * ty - sy * tx)
    dot = sx * tx + sy * ty + sz * tz
    norms = math.sqrt((sx * sx + sy * sy + sz * sz) * (tx * tx + ty * ty + tz * tz))
    if dot + norms < 1e-9 * norms:  # opposite
        axis = (0.0, -sz, sy) if abs(sx) < 0.9 else (-sy, sx, 0.0)
        return normalised((0.0, *axis))
    return normalised((dot + norms, *cross))


def same_hemisphere(q: Quaternion, reference: Quaternion) -> Quaternion:
    """q or -q (the same rotation), whichever is nearer reference: keyframes interpolated
    between q's then never take the long way round."""
    if sum(a * b for a, b in zip(q, reference, strict=True)) < 0.0:
        w, x, y, z = q
        return (-w, -x, -y, -z)
    return q
