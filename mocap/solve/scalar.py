"""Rotation math on plain Python floats: everything the solver does in a frame, one rotation at a
time (the torso's frames, the limbs, fingers and head, tracking loss, continuity, the mirror).

Why not numpy: a numpy call costs 1-2 us on a tiny array, and several times that right after a
MediaPipe inference has evicted the caches (the pipeline's case), while a float operation costs
~30 ns. Measured on the torso's two aim frames: 7 us here against 31 us as numpy calls, and 57 us
against 202 us with cold caches; on the 55 bones' speed limit, continuity and mirror, 68 us
against 148 us with cold caches. numpy (mocap.solve.rotations) only builds the rest-pose tables
at import. tests/test_solve_scalar.py checks every function against scipy.

Vectors are sequences of 3 floats, quaternions of 4 (x, y, z, w, as in rotations), matrices
sequences of 3 rows acting on column vectors. Functions return tuples. Degenerate input (a zero
vector, a hint parallel to its direction) gives finite output, never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Vector = Sequence[float]
Quaternion = Sequence[float]
Matrix = Sequence[Sequence[float]]
Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
Mat3 = tuple[Vec3, Vec3, Vec3]

IDENTITY: Quat = (0.0, 0.0, 0.0, 1.0)
# The same nudge as rotations._NUDGE: a hint parallel to its direction still gives a frame.
_NUDGE = (0.267e-7, 0.535e-7, 0.802e-7)
# Newton's iteration for the polar factor converges quadratically: once a step changes the
# matrix by under 1e-8 the next would change it by ~1e-16, so it stops there (on a 3.3-conditioned
# face fit, after about four steps).
_POLAR_STEPS = 30
_POLAR_TOLERANCE = 1e-16  # squared Frobenius norm of a step
# A fit matrix whose determinant is below this fraction of its norm cubed is flat, not a 3D fit.
_POLAR_MIN_DETERMINANT = 1e-9


def all_finite(rows: Sequence[Sequence[float]]) -> bool:
    """Every value finite. (A sum of landmarks cannot overflow a float, and NaN or infinity
    anywhere makes it non-finite.)"""
    return math.isfinite(sum(map(sum, rows)))


def sub(a: Vector, b: Vector) -> Vec3:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def dot(a: Vector, b: Vector) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross(a: Vector, b: Vector) -> Vec3:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def unit(v: Vector) -> Vec3:
    """v scaled to length 1; a zero vector stays zero."""
    length = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    if length == 0.0:
        return (0.0, 0.0, 0.0)
    return (v[0] / length, v[1] / length, v[2] / length)


def lerp(a: Vector, b: Vector, t: float) -> Vec3:
    """a + t (b - a)."""
    return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), a[2] + t * (b[2] - a[2]))


def apply(matrix: Matrix, v: Vector) -> Vec3:
    r0, r1, r2 = matrix
    return (dot(r0, v), dot(r1, v), dot(r2, v))


def transport(from_dir: Vector, to_dir: Vector, v: Vector) -> Vec3:
    """v turned by the shortest-arc rotation taking unit from_dir onto unit to_dir (as
    R = I + 2 b a^T - (a + b)(a + b)^T / (1 + a.b)); merely finite for opposite directions."""
    s = (from_dir[0] + to_dir[0], from_dir[1] + to_dir[1], from_dir[2] + to_dir[2])
    along_a = 2.0 * dot(from_dir, v)
    along_s = dot(s, v) / max(1.0 + dot(from_dir, to_dir), 1e-9)
    return (
        v[0] + along_a * to_dir[0] - along_s * s[0],
        v[1] + along_a * to_dir[1] - along_s * s[1],
        v[2] + along_a * to_dir[2] - along_s * s[2],
    )


def shortest_arc(from_dir: Vector, to_dir: Vector) -> Quat:
    """The smallest rotation taking unit from_dir onto unit to_dir (rotations.shortest_arcs for
    one pair): (a x b, 1 + a.b) normalised."""
    x, y, z = cross(from_dir, (to_dir[0] + _NUDGE[0], to_dir[1] + _NUDGE[1], to_dir[2] + _NUDGE[2]))
    w = 1.0 + dot(from_dir, to_dir)
    length = math.sqrt(x * x + y * y + z * z + w * w)
    return (x / length, y / length, z / length, w / length)


def axis_angle(axis: Vector, angle_rad: float) -> Quat:
    """The rotation by angle_rad about a unit axis."""
    sin_half = math.sin(0.5 * angle_rad)
    return (axis[0] * sin_half, axis[1] * sin_half, axis[2] * sin_half, math.cos(0.5 * angle_rad))


def aim_matrix(direction: Vector, hint: Vector) -> Mat3:
    """rotations.aim_frames for one pair: columns x along direction, y the part of hint
    perpendicular to it, z = x cross y."""
    x = unit(direction)
    z = unit(cross(x, (hint[0] + _NUDGE[0], hint[1] + _NUDGE[1], hint[2] + _NUDGE[2])))
    return transposed((x, cross(z, x), z))


def transposed(matrix: Matrix) -> Mat3:
    (a, b, c), (d, e, f), (g, h, i) = matrix
    return ((a, d, g), (b, e, h), (c, f, i))


def transposed_times(a: Matrix, b: Matrix) -> Mat3:
    """a^T b: b's rotation relative to a's."""
    columns_b = transposed(b)
    c0, c1, c2 = transposed(a)
    return (apply(columns_b, c0), apply(columns_b, c1), apply(columns_b, c2))


def matrix_to_quaternion(matrix: Matrix) -> Quat:
    """A rotation matrix's unit quaternion with w >= 0 (Shepperd's method: the largest of the
    four diagonal combinations sets the division, so it is well conditioned everywhere)."""
    (m00, m01, m02), (m10, m11, m12), (m20, m21, m22) = matrix
    trace = m00 + m11 + m22
    if trace >= max(m00, m11, m22):
        q = (m21 - m12, m02 - m20, m10 - m01, 1.0 + trace)
    elif m00 >= m11 and m00 >= m22:
        q = (1.0 + m00 - m11 - m22, m01 + m10, m02 + m20, m21 - m12)
    elif m11 >= m22:
        q = (m01 + m10, 1.0 - m00 + m11 - m22, m12 + m21, m02 - m20)
    else:
        q = (m02 + m20, m12 + m21, 1.0 - m00 - m11 + m22, m10 - m01)
    scale = math.copysign(1.0, q[3]) / math.sqrt(
        q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]
    )
    return (q[0] * scale, q[1] * scale, q[2] * scale, q[3] * scale)


def to_matrix(q: Quaternion) -> Mat3:
    """The rotation matrix of a unit quaternion."""
    x, y, z, w = q
    return (
        (1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - z * w), 2.0 * (x * z + y * w)),
        (2.0 * (x * y + z * w), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - x * w)),
        (2.0 * (x * z - y * w), 2.0 * (y * z + x * w), 1.0 - 2.0 * (x * x + y * y)),
    )


def canonical(q: Quaternion) -> Quat:
    """q or -q (the same rotation), whichever has w >= 0."""
    if q[3] < 0.0:
        return (-q[0], -q[1], -q[2], -q[3])
    return (q[0], q[1], q[2], q[3])


def multiply(a: Quaternion, b: Quaternion) -> Quat:
    """The Hamilton product a * b: the rotation b, then a."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def conjugate(q: Quaternion) -> Quat:
    return (-q[0], -q[1], -q[2], q[3])


def rotate(q: Quaternion, v: Vector) -> Vec3:
    """v turned by the unit quaternion q: v + 2 w (u x v) + 2 u x (u x v), u = q's vector part."""
    u, w = q[:3], q[3]
    t = cross(u, v)
    t = (2.0 * t[0], 2.0 * t[1], 2.0 * t[2])
    ut = cross(u, t)
    return (v[0] + w * t[0] + ut[0], v[1] + w * t[1] + ut[1], v[2] + w * t[2] + ut[2])


def power(q: Quaternion, fraction: float) -> Quat:
    """q^fraction: the rotation scaled along its shortest path (rotations.power for one)."""
    sign = math.copysign(1.0, q[3])
    x, y, z, w = q[0] * sign, q[1] * sign, q[2] * sign, q[3] * sign
    sin_half = math.sqrt(x * x + y * y + z * z)
    if sin_half == 0.0:
        return IDENTITY
    half_rad = math.atan2(sin_half, w) * fraction
    scale = math.sin(half_rad) / sin_half
    return (x * scale, y * scale, z * scale, math.cos(half_rad))


def limited_step(target: Quaternion, previous: Quaternion, max_step_rad: float) -> Quat:
    """The rotation max_step_rad along the shortest path from previous toward target (which is
    farther than that), in previous's hemisphere."""
    cos_half = min(abs(dot4(target, previous)), 1.0)
    step = multiply(conjugate(previous), target)
    return multiply(previous, power(step, max_step_rad / (2.0 * math.acos(cos_half))))


def dot4(a: Quaternion, b: Quaternion) -> float:
    """The quaternions' dot product: the cosine of half the angle between their rotations, up to
    sign."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3]


def polar_rotation(matrix: Matrix) -> Mat3 | None:
    """The rotation nearest the matrix (the orthogonal factor of its polar decomposition), or
    None when that is a reflection (determinant <= 0) or the matrix is too flat to tell.

    Kabsch's least-squares rotation is this factor of the cross-covariance. An SVD would also
    give it, but numpy's SVD runs LAPACK and its Python wrapper (38 us a frame inside the old
    solver's loop). These are Newton's steps X <- (g X + X^-T / g) / 2 with Higham's
    Frobenius-norm scaling g, written out on nine named floats because the face fit runs them
    every frame: 8 us warm and 32 us right after an inference, against 28 and 56 us for the same
    steps as calls on row tuples.
    """
    (a, b, c), (d, e, f), (g, h, i) = matrix
    norm2 = a * a + b * b + c * c + d * d + e * e + f * f + g * g + h * h + i * i
    # X^-T det X, row by row: row 1 x row 2, row 2 x row 0, row 0 x row 1.
    ca, cb, cc = e * i - f * h, f * g - d * i, d * h - e * g
    det = a * ca + b * cb + c * cc
    if det <= _POLAR_MIN_DETERMINANT * math.sqrt(norm2) ** 3:
        return None
    for _ in range(_POLAR_STEPS):
        cd, ce, cf = h * c - i * b, i * a - g * c, g * b - h * a
        cg, ch, ci = b * f - c * e, c * d - a * f, a * e - b * d
        cofactors2 = (
            ca * ca + cb * cb + cc * cc + cd * cd + ce * ce + cf * cf + cg * cg + ch * ch + ci * ci
        )
        scale = math.sqrt(math.sqrt(cofactors2 / norm2) / det)
        s, t = 0.5 * scale, 0.5 / (scale * det)
        a2, b2, c2 = s * a + t * ca, s * b + t * cb, s * c + t * cc
        d2, e2, f2 = s * d + t * cd, s * e + t * ce, s * f + t * cf
        g2, h2, i2 = s * g + t * cg, s * h + t * ch, s * i + t * ci
        change2 = (
            (a2 - a) ** 2 + (b2 - b) ** 2 + (c2 - c) ** 2
            + (d2 - d) ** 2 + (e2 - e) ** 2 + (f2 - f) ** 2
            + (g2 - g) ** 2 + (h2 - h) ** 2 + (i2 - i) ** 2
        )  # fmt: skip
        a, b, c, d, e, f, g, h, i = a2, b2, c2, d2, e2, f2, g2, h2, i2
        if change2 < _POLAR_TOLERANCE:
            break
        norm2 = a * a + b * b + c * c + d * d + e * e + f * f + g * g + h * h + i * i
        ca, cb, cc = e * i - f * h, f * g - d * i, d * h - e * g
        det = a * ca + b * cb + c * cc
    return ((a, b, c), (d, e, f), (g, h, i))


def hinged(
    direction: Vector, rest_dir: Vector, hinge: Vector, min_rad: float, max_rad: float
) -> Quat:
    """The swing taking unit rest_dir onto unit direction (both in the parent bone's frame),
    with the bend about the unit hinge (perpendicular to rest_dir) limited to [min_rad, max_rad].

    The part of direction along the hinge (a bend out of the hinge's plane) is kept as measured:
    only a joint bent past its range is changed, back to that range.
    """
    bend_dir = cross(hinge, rest_dir)  # where rest_dir turns to about the hinge
    along, bent, off_plane = (
        dot(direction, rest_dir),
        dot(direction, bend_dir),
        dot(direction, hinge),
    )
    bend_rad = math.atan2(bent, along)
    if min_rad <= bend_rad <= max_rad:
        return shortest_arc(rest_dir, direction)
    bend_rad = min(max(bend_rad, min_rad), max_rad)
    in_plane = math.sqrt(max(1.0 - off_plane * off_plane, 0.0))
    cos_in, sin_in = math.cos(bend_rad) * in_plane, math.sin(bend_rad) * in_plane
    return shortest_arc(
        rest_dir,
        (
            rest_dir[0] * cos_in + bend_dir[0] * sin_in + hinge[0] * off_plane,
            rest_dir[1] * cos_in + bend_dir[1] * sin_in + hinge[1] * off_plane,
            rest_dir[2] * cos_in + bend_dir[2] * sin_in + hinge[2] * off_plane,
        ),
    )


def twist_about_x(q: Quaternion) -> Quat:
    """The twist part of q's swing-twist decomposition about X (q = swing * twist, the swing's
    axis perpendicular to X); a rotation swung a half turn has none."""
    length = math.hypot(q[0], q[3])
    if length < 1e-6:
        return IDENTITY
    return (q[0] / length, 0.0, 0.0, q[3] / length)
