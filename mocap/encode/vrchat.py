"""VRChat OSC: the pose and the solved avatar -> one bundle of body trackers, head and eyes.

Facts from VRChat's documentation (docs.vrchat.com: osc-trackers, osc-eye-tracking) and the most
used bridge (SlimeVR's VRCOSCHandler), see ../shared/PROTOCOLS.md:

- `/tracking/trackers/N/position` and `/rotation` for N in 1..8, and `/tracking/trackers/head/...`,
  three floats each: Unity's space (left-handed, +X right, +Y up, +Z forward), 1.0 = 1 m in the
  real world; rotations are Euler angles in degrees sent as (x, y, z) and applied as Unity applies
  them: about Z first, then X, then Y, all about the fixed axes, i.e. scipy's
  `Rotation.from_euler('zxy', [z, x, y], degrees=True)`.
- Slots are not body parts (VRChat assigns them when the user calibrates), but SlimeVR sends hip=1,
  left foot=2, right foot=3, left knee=4, right knee=5, chest=6, left elbow=7, right elbow=8, and
  other tools rely on that order: it is the default slot order (config: vrchat.trackers).
- `/tracking/eye/EyesClosedAmount` (f, 0..1) and `/tracking/eye/CenterPitchYaw` (f f, degrees;
  positive pitch looks down, positive yaw to the user's right). VRChat falls back to its automatic
  eyes 10 s after the last message.
- SlimeVR sends a frame's messages as one bundle (the "immediately" time tag), as this does.

Space. Positions are the pose's world landmarks (MediaPipe: metres about the hips' centre, x to the
image's right, y DOWN, z AWAY from the camera), taken to Unity's axes by the point reflection
(X, Y, Z) = (-x, -y, -z) (mocap.solve.spaces: the subject's right, up and forward), scaled so
that the subject is height_m tall, and lifted so that the floor under a standing subject is y = 0.
The body's turn toward or away from the camera is kept (the landmarks turn with it). Scale: the
subject's stature is estimated from the chain ankle-knee-hip-shoulders-ears, whose segment lengths
do not depend on the posture (so a seated user measures as tall as a standing one); the chain is
CHAIN_OF_STATURE of the stature in adult anthropometry (Drillis and Contini), and the estimate
follows the frames slowly (STATURE_FOLLOW) so that landmark noise does not breathe the scale.

Rotations are the solved bones' WORLD rotations (the local rotations chained from the Hips), each
tracker rigid on one bone at one landmark: hip (hip centre, Hips), chest (the upper chest, a
quarter of the way from the shoulders' midpoint to the hips' centre, UpperChest), feet (ankles,
Foot), knees (knees, UpperLeg, as SlimeVR's thigh trackers), elbows (elbows, UpperArm: VRChat's
"elbows (upper arms)"), head (between the eyes, Head). A tracker at rest (the T-pose the solver's
rotations are relative to) sends (0, 0, 0); VRChat's calibration takes each tracker's offset from
its bone, so only the rotation's change matters, and it must be the bone's.

Never mirrored: in VR the user is the avatar. When the solver mirrors its output (solver.mirror,
for VMC's mirror-like avatars in the same run), the encoder undoes the mirror on the bones it
reads (mocap.solve.spaces: a mirrored rotation is (x, -y, -z, w) on the other side's bone); the
landmarks are never mirrored.

Loss: a tracker is seen when the pose is found and its landmarks are finite (and, for knees, feet
and elbows, visible at least min_visibility; legs never when legs is false). A tracker not seen is
sent as last seen for hold_s, then no longer sent: VRChat keeps it where it was. Eyes are seen with
the face. Nothing non-finite is ever sent.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from mocap.config import SolverConfig, VrchatConfig
from mocap.encode.osc import BUNDLE_HEADER, TIMETAG_IMMEDIATELY, message_head
from mocap.frames import PoseFrame, is_present
from mocap.solve.avatar import AvatarFrame
from mocap.solve.humanoid import INDEX, MIRROR, PARENTS
from mocap.solve.scalar import Quat, multiply, to_matrix

TRACKERS_ADDRESS = "/tracking/trackers"
EYES_CLOSED_ADDRESS = "/tracking/eye/EyesClosedAmount"
GAZE_ADDRESS = "/tracking/eye/CenterPitchYaw"

# The landmark chain's share of the stature: ankle (0.039 H) to the ears (~0.91 H).
CHAIN_OF_STATURE = 0.87
# The hip joints' height in a standing adult, as a share of the stature (0.53 H, Drillis and
# Contini); MediaPipe's hip landmarks, the origin of its world landmarks, sit there.
HIPS_OF_STATURE = 0.53
# Each frame moves the stature estimate this share of the way to its own measurement: about a
# second and a half at 30 fps to follow a new user, while one frame's 5 % error moves it 0.25 %.
STATURE_FOLLOW = 0.05
# The chest tracker sits this share of the way from the shoulders' midpoint to the hips' centre:
# on the sternum, where chest trackers are worn.
CHEST_BELOW_SHOULDERS = 0.25

# MediaPipe pose landmarks (mocap.skeleton.POSE_NAMES).
_LEFT_EYE, _RIGHT_EYE, _LEFT_EAR, _RIGHT_EAR = 2, 5, 7, 8
_SHOULDERS, _HIPS = (11, 12), (23, 24)
_LEGS = ((23, 25, 27), (24, 26, 28))  # each side's hip, knee and ankle


@dataclass(frozen=True, slots=True)
class _Tracker:
    """Where a tracker sits (landmark weights summing to 1), the bone it turns with, and the
    landmarks that must be visible for it to count as seen (none: seen whenever the body is)."""

    points: tuple[tuple[int, float], ...]
    bone: str
    visible: tuple[int, ...] = ()
    leg: bool = False


_CHEST_SHOULDER = (1.0 - CHEST_BELOW_SHOULDERS) / 2.0
_CHEST_HIP = CHEST_BELOW_SHOULDERS / 2.0

TRACKERS: Mapping[str, _Tracker] = MappingProxyType(
    {
        "hip": _Tracker(((23, 0.5), (24, 0.5)), "Hips"),
        "left_foot": _Tracker(((27, 1.0),), "LeftFoot", (25, 27), leg=True),
        "right_foot": _Tracker(((28, 1.0),), "RightFoot", (26, 28), leg=True),
        "left_knee": _Tracker(((25, 1.0),), "LeftUpperLeg", (25,), leg=True),
        "right_knee": _Tracker(((26, 1.0),), "RightUpperLeg", (26,), leg=True),
        "chest": _Tracker(
            ((11, _CHEST_SHOULDER), (12, _CHEST_SHOULDER), (23, _CHEST_HIP), (24, _CHEST_HIP)),
            "UpperChest",
        ),
        "left_elbow": _Tracker(((13, 1.0),), "LeftUpperArm", (13,)),
        "right_elbow": _Tracker(((14, 1.0),), "RightUpperArm", (14,)),
    }
)
"""Every tracker by its config name, in SlimeVR's slot order."""
_HEAD = _Tracker(((_LEFT_EYE, 0.5), (_RIGHT_EYE, 0.5)), "Head")
_EYE_BONE = INDEX["LeftEye"]  # the solver turns both eyes alike


@dataclass(frozen=True, slots=True)
class VrchatSettings:
    """What to send (trackers by name, in slot order 1..8; the head pair; the eyes) and how: the
    user's height, whether the avatar frames come mirrored (solver.mirror, undone here), how long
    a lost tracker is held, the visibility a limb's landmarks need, whether legs are tracked."""

    trackers: tuple[str, ...]
    head: bool = True
    eyes: bool = True
    height_m: float = 1.7
    mirrored: bool = False
    hold_s: float = 0.5
    min_visibility: float = 0.6
    legs: bool = True

    @classmethod
    def of(cls, vrchat: VrchatConfig, solver: SolverConfig) -> VrchatSettings:
        """The settings a run's config gives: its [vrchat] section, and from its [solver] the
        mirror to undo and the tracking-loss rules the avatar follows too."""
        return cls(
            vrchat.trackers,
            head=vrchat.head,
            eyes=vrchat.eyes,
            height_m=vrchat.height_m,
            mirrored=solver.mirror,
            hold_s=solver.hold_s,
            min_visibility=solver.leg_min_visibility,
            legs=not solver.upper_body_only,
        )

    def __post_init__(self) -> None:
        unknown = [name for name in self.trackers if name not in TRACKERS]
        if unknown or len(set(self.trackers)) != len(self.trackers) or len(self.trackers) > 8:
            raise ValueError(f"not up to 8 distinct VRChat trackers: {self.trackers!r}")


_Wire = tuple[float, ...]
_THREE = struct.Struct(">fff")


def _element_head(address: str, floats: int) -> bytes:
    """A bundle element up to its float arguments: its size, address and type tags."""
    head = message_head(address, "f" * floats)
    return struct.pack(">i", len(head) + 4 * floats) + head


def _pair_heads(slot: str) -> tuple[bytes, bytes]:
    return (
        _element_head(f"{TRACKERS_ADDRESS}/{slot}/position", 3),
        _element_head(f"{TRACKERS_ADDRESS}/{slot}/rotation", 3),
    )


_SLOT_HEADS = [_pair_heads(str(slot)) for slot in range(1, 9)]
_HEAD_HEADS = _pair_heads("head")
_EYES_CLOSED_HEAD = _element_head(EYES_CLOSED_ADDRESS, 1)
_GAZE_HEAD = _element_head(GAZE_ADDRESS, 2)
_BUNDLE_START = BUNDLE_HEADER + TIMETAG_IMMEDIATELY


class VrchatEncoder:
    """Frames in, one bundle each out. Keeps what spans frames: the stature estimate and each
    tracker's last seen values (held for settings.hold_s)."""

    def __init__(self, settings: VrchatSettings) -> None:
        self.settings = settings
        self._trackers = [TRACKERS[name] for name in settings.trackers]
        self._stature_m = 0.0  # 0: not measured yet
        # By slot (0..7), "head" and "eyes": the wire values last seen and when (t_s).
        self._last: dict[int | str, tuple[_Wire, float]] = {}
        # Each position-and-rotation pair's key and message heads, in sending order.
        self._pairs: list[tuple[int | str, tuple[bytes, bytes]]] = [
            *enumerate(_SLOT_HEADS[: len(self._trackers)]),
            *([("head", _HEAD_HEADS)] if settings.head else []),
        ]

    def encode(self, pose: PoseFrame, avatar: AvatarFrame, t_s: float) -> bytes | None:
        """The bundle for this frame at t_s (seconds on the run's clock), None when there is
        nothing to send (nothing seen yet, or everything lost for longer than hold_s)."""
        seen = self._measure(pose, avatar)
        elements: list[bytes] = []
        for key, (position_head, rotation_head) in self._pairs:
            values = self._held(key, seen.get(key), t_s)
            if values is not None:
                elements.append(position_head + _THREE.pack(*values[:3]))
                elements.append(rotation_head + _THREE.pack(*values[3:]))
        eyes = self._held("eyes", seen.get("eyes"), t_s)
        if eyes is not None:
            elements.append(_EYES_CLOSED_HEAD + struct.pack(">f", eyes[0]))
            elements.append(_GAZE_HEAD + struct.pack(">ff", *eyes[1:]))
        return _BUNDLE_START + b"".join(elements) if elements else None

    def _held(self, key: int | str, values: _Wire | None, t_s: float) -> _Wire | None:
        """values when seen (remembered), else the last seen within hold_s, else None."""
        if values is not None:
            self._last[key] = (values, t_s)
            return values
        last = self._last.get(key)
        if last is None or not 0.0 <= t_s - last[1] <= self.settings.hold_s:
            return None
        return last[0]

    # --- one frame's measurement ----------------------------------------------------------------

    def _measure(self, pose: PoseFrame, avatar: AvatarFrame) -> dict[int | str, _Wire]:
        """The wire values of everything seen in this frame, by slot, "head" and "eyes"."""
        seen: dict[int | str, _Wire] = {}
        settings = self.settings
        local = avatar.local_rotations.tolist()
        if settings.eyes and is_present(pose.face):
            eyes = _eyes(avatar.blendshapes, local, settings.mirrored)
            if eyes is not None:
                seen["eyes"] = eyes
        if not is_present(pose.pose_world):
            return seen
        world = pose.pose_world.tolist()
        if not self._update_stature(world):
            return seen
        scale = settings.height_m / self._stature_m
        lift_m = HIPS_OF_STATURE * settings.height_m
        rotations = _world_rotations(local, avatar.root_rotation.tolist(), settings.mirrored)
        wanted: list[tuple[int | str, _Tracker]] = list(enumerate(self._trackers))
        if settings.head:
            wanted.append(("head", _HEAD))
        for key, tracker in wanted:
            if not self._visible(tracker, world):
                continue
            values = (
                *_position(world, tracker.points, scale, lift_m),
                *_unity_euler_deg(rotations[tracker.bone]),
            )
            if all(map(math.isfinite, values)):
                seen[key] = values
        return seen

    def _visible(self, tracker: _Tracker, world: Sequence[Sequence[float]]) -> bool:
        if tracker.leg and not self.settings.legs:
            return False
        return all(world[i][3] >= self.settings.min_visibility for i in tracker.visible)

    def _update_stature(self, world: Sequence[Sequence[float]]) -> bool:
        """Follow the stature measured in this frame; False when nothing is measured yet."""
        measured_m = _chain_m(world) / CHAIN_OF_STATURE
        if math.isfinite(measured_m) and measured_m > 0.0:
            if self._stature_m == 0.0:
                self._stature_m = measured_m
            else:
                self._stature_m += STATURE_FOLLOW * (measured_m - self._stature_m)
        return self._stature_m > 0.0


def _distance(a: Sequence[float], b: Sequence[float]) -> float:
    return math.dist(a[:3], b[:3])


def _midpoint(world: Sequence[Sequence[float]], pair: tuple[int, int]) -> tuple[float, ...]:
    a, b = world[pair[0]], world[pair[1]]
    return (0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1]), 0.5 * (a[2] + b[2]))


def _chain_m(world: Sequence[Sequence[float]]) -> float:
    """Ankle to knee to hip (the mean of both legs), hips' to shoulders' centre, shoulders' to
    ears' centre, in the landmarks' metres."""
    legs = sum(
        _distance(world[ankle], world[knee]) + _distance(world[knee], world[hip])
        for hip, knee, ankle in _LEGS
    )
    shoulders = _midpoint(world, _SHOULDERS)
    return (
        0.5 * legs
        + _distance(_midpoint(world, _HIPS), shoulders)
        + _distance(shoulders, _midpoint(world, (_LEFT_EAR, _RIGHT_EAR)))
    )


def _position(
    world: Sequence[Sequence[float]],
    points: tuple[tuple[int, float], ...],
    scale: float,
    lift_m: float,
) -> tuple[float, float, float]:
    """The weighted landmarks in Unity's space: (X, Y, Z) = (-x, -y, -z) * scale, Y lifted."""
    x = sum(world[i][0] * weight for i, weight in points)
    y = sum(world[i][1] * weight for i, weight in points)
    z = sum(world[i][2] * weight for i, weight in points)
    return (-x * scale, -y * scale + lift_m, -z * scale)


def _local_unmirrored(local: Sequence[Sequence[float]], bone: int, mirrored: bool) -> Quat:
    """A bone's local rotation as the subject's own: a mirrored avatar's bone on the other side,
    reflected back (mocap.solve.spaces.mirror_rotations is its own inverse)."""
    if not mirrored:
        x, y, z, w = local[bone]
        return (x, y, z, w)
    x, y, z, w = local[int(MIRROR[bone])]
    return (x, -y, -z, w)


def _chain(bone: str) -> list[int]:
    """The bones from the Hips down to bone, in order."""
    chain = [INDEX[bone]]
    while PARENTS[chain[-1]] >= 0:
        chain.append(int(PARENTS[chain[-1]]))
    return chain[::-1]


_CHAINS = {name: _chain(name) for name in {t.bone for t in (*TRACKERS.values(), _HEAD)}}


def _world_rotations(
    local: Sequence[Sequence[float]], root: Sequence[float], mirrored: bool
) -> dict[str, Quat]:
    """The world rotation of every tracker's bone: the root's, then the local rotations down the
    chain from the Hips, each bone computed once."""
    if mirrored:
        root = [root[0], -root[1], -root[2], root[3]]
    world: dict[int, Quat] = {}
    out: dict[str, Quat] = {}
    for name, chain in _CHAINS.items():
        parent: Quat = (root[0], root[1], root[2], root[3])
        for bone in chain:
            if bone not in world:
                world[bone] = multiply(parent, _local_unmirrored(local, bone, mirrored))
            parent = world[bone]
        out[name] = parent
    return out


def _unity_euler_deg(q: Quat) -> tuple[float, float, float]:
    """Unity's Euler angles (x, y, z) of a rotation, degrees: R = Ry(y) Rx(x) Rz(z), so that
    Z, X, Y applied in turn about the fixed axes rebuild it. From R's elements: R12 = -sin x,
    R02 / R22 = tan y, R10 / R11 = tan z; at x = +-90 degrees (gimbal lock) z is 0 and y takes
    the whole turn about the vertical."""
    (r00, _, r02), (r10, r11, r12), (r20, _, r22) = to_matrix(q)
    sin_x = max(-1.0, min(1.0, -r12))
    x = math.asin(sin_x)
    if abs(sin_x) < 1.0 - 1e-9:
        y, z = math.atan2(r02, r22), math.atan2(r10, r11)
    else:
        y, z = math.atan2(-r20, r00), 0.0
    return (math.degrees(x), math.degrees(y), math.degrees(z))


def _eyes(
    shapes: Mapping[str, float], local: Sequence[Sequence[float]], mirrored: bool
) -> _Wire | None:
    """(EyesClosedAmount, pitch, yaw): the eyes' mean closure (Blink is what both share, Blink_L
    and Blink_R each eye's excess), and the gaze relative to the head (down and right positive),
    from the eye bone's local rotation turning the rest gaze +Z. None when not all finite."""
    closed = shapes.get("Blink", 0.0) + 0.5 * (
        shapes.get("Blink_L", 0.0) + shapes.get("Blink_R", 0.0)
    )
    eye = _local_unmirrored(local, _EYE_BONE, mirrored)
    (_, _, gaze_x), (_, _, gaze_y), (_, _, gaze_z) = to_matrix(eye)  # the matrix's third column
    pitch = math.degrees(math.atan2(-gaze_y, math.hypot(gaze_x, gaze_z)))
    yaw = math.degrees(math.atan2(gaze_x, gaze_z))
    values = (min(max(closed, 0.0), 1.0), pitch, yaw)
    return values if all(map(math.isfinite, values)) else None
