"""VMC protocol: one solved AvatarFrame -> the UDP datagrams a Performer sends a Marionette.

Facts from the specification (sh-akira/VirtualMotionCaptureProtocol, docs/english.markdown and
marionette-spec.markdown) and its reference sender (sample/VRM0and1/SampleBonesSendBundle.cs).
One frame is five datagrams, in the reference sender's order and grouping:

1. `/VMC/Ext/Root/Pos ,sfffffff "root" px py pz qx qy qz qw` (the v2.0 form), a bare message
2. a bundle of `/VMC/Ext/Bone/Pos ,sfffffff name px py pz qx qy qz qw`, one per bone: the local
   position and rotation of each Unity HumanBodyBones bone relative to its parent
3. a bundle of `/VMC/Ext/Blend/Val ,sf name value` per expression, then ONE
   `/VMC/Ext/Blend/Apply ,` last (UniVRM accumulates values and shows them on Apply). With the
   profile's perfect_sync, the frame's 51 ARKit weights follow the VRM expressions as more Vals
   before that Apply, in the profile's arkit_case; a frame without them (no face) sends none, so
   the receiver keeps the last ones it applied (VMC receivers hold a value until the next one).
4. `/VMC/Ext/OK ,iiii loaded calibration-state calibration-mode tracking-status` (the V2.7 form;
   EVMC4U reads the first int only, and receivers must ignore extra arguments)
5. `/VMC/Ext/T ,f seconds` since the sender started (never Unix time: see encode_vmc_frame)

Bundles only where the reference sender bundles, never nested, with the "immediately" time tag:
every receiver is built against that sender, and not every one takes bundles beyond it (Jayo's
VNyan VMC plugin offers "Don't Bundle Packets" for such receivers).

Size: the bone bundle is 4,468 bytes for 55 bones, the expression bundle 844 bytes for 20 values
(3.6 kB with 52 Perfect Sync names and VRM1 duplicates). On loopback (MTU 64 kB) each is one
packet. Over a 1,500-byte Ethernet MTU, IP splits the bone bundle into four fragments and losing
any one loses the whole datagram: that frame's bones never arrive and the receiver keeps the
previous pose until the next frame (a LAN target loses whole frames, never half a skeleton). A
datagram over the 65,507-byte UDP limit is refused.

Space and values: the AvatarFrame is already in Unity's space (left-handed, +Y up, the avatar
facing +Z, identity rotations at rest), which is the protocol's, so no axis is converted here.
Floats go out as big-endian float32 with quaternions normalised. Positions are sent for every
bone, as the solver gives them: the message has no optional fields, and all-zero positions
collapse the skeleton in receivers that sync bone positions (EVMC4U's BonePositionSynchronize,
on by default; iFacialMocap's VMC page warns of exactly this).

NaN guard: the solver promises finite values; the encoder still never sends a NaN or infinity.
A bone (or the root) with any non-finite value, or a quaternion of (near) zero length, is left out
of that frame: EVMC4U and VMagicMirror set a bone only when its message arrives, so the receiver
holds its last pose, which is the solver's own policy for a lost part (a rest rotation instead
would snap the limb to the T-pose for a frame, and the encoder knows no rest positions). A
non-finite expression value is sent as 0 (its rest), and values are clamped to VRM's [0, 1].

"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

import numpy as np

from mocap.encode.expressions import VRM0_TO_VRM1
from mocap.encode.osc import (
    BUNDLE_HEADER,
    TIMETAG_IMMEDIATELY,
    message,
    message_head,
    osc_string,
    sized,
)
from mocap.encode.vmc_profiles import VmcProfile
from mocap.skeleton import ARKIT_NAMES
from mocap.solve.avatar import AvatarFrame
from mocap.solve.humanoid import BONES

ROOT_ADDRESS = "/VMC/Ext/Root/Pos"
BONE_ADDRESS = "/VMC/Ext/Bone/Pos"
BLEND_VALUE_ADDRESS = "/VMC/Ext/Blend/Val"
BLEND_APPLY_ADDRESS = "/VMC/Ext/Blend/Apply"
AVAILABLE_ADDRESS = "/VMC/Ext/OK"
TIME_ADDRESS = "/VMC/Ext/T"

MAX_DATAGRAM_BYTES = 65_507  # the largest UDP payload over IPv4

# /VMC/Ext/OK arguments after "loaded": the spec's Calibrated (3) and Normal mode (0), since the
# solver needs no calibration step; tracking status is 1 (OK) or 0 (bad).
LOADED = 1
CALIBRATED = 3
NORMAL_MODE = 0

# A relative time over ~3 years is a clock mix-up (Unix time is ~1.7e9 s), not a long run.
MAX_RELATIVE_TIME_S = 1e8

_TRANSFORM_TAGS = "s" + "f" * 7  # name, px py pz, qx qy qz qw
_TRANSFORM_BYTES = 28
_VALUE_TAGS = "sf"
_VALUE_BYTES = 4
_MIN_QUATERNION_NORM = 1e-6  # shorter has no usable direction: the value is garbage


def encode_vmc_frame(
    avatar: AvatarFrame,
    t_s: float,
    profile: VmcProfile,
    *,
    tracking_ok: bool = True,
) -> list[bytes]:
    """The datagrams of one frame, in sending order (see the module docstring).

    t_s is seconds since the run started: a float32 keeps ~10 ms of precision for a day, while
    Unix time would keep ~2 minutes, and receivers have reset poses on it; a negative, non-finite
    or Unix-sized t_s raises ValueError. tracking_ok is sent as the V2.7 tracking status.
    """
    if not 0.0 <= t_s < MAX_RELATIVE_TIME_S:
        raise ValueError(f"t_s={t_s!r} is not seconds since the run started")
    datagrams = [
        *_root_message(avatar),
        _bones_bundle(avatar, profile),
        _expressions_bundle(avatar.blendshapes, avatar.arkit, profile),
        _AVAILABLE_MESSAGES[tracking_ok],
        _TIME_HEAD + struct.pack(">f", t_s),
    ]
    for datagram in datagrams:
        if len(datagram) > MAX_DATAGRAM_BYTES:
            raise ValueError(f"a {len(datagram)}-byte VMC datagram exceeds the UDP limit")
    return datagrams


_AVAILABLE_MESSAGES = {
    ok: message(AVAILABLE_ADDRESS, LOADED, CALIBRATED, NORMAL_MODE, int(ok)) for ok in (False, True)
}
_TIME_HEAD = message_head(TIME_ADDRESS, "f")


# --- layouts: a frame's datagrams differ from the last one's only in their numbers --------------

# A message's floats and a row of them, as the encoder handles them: plain Python floats. Right
# after an inference (the pipeline's case) each numpy call costs several microseconds; the bone
# bundle costs 61 us this way against 138 us as numpy calls on the frame's arrays.
_Wire = tuple[float, ...]


@dataclass(frozen=True, slots=True)
class _Layout:
    """A datagram whose messages change only in their float32 arguments: start, each message's
    head (size, address, type tags, name) followed by its floats, then end, packed by one
    precompiled struct (OSC aligns every argument to 4 bytes, so nothing else moves)."""

    start: bytes
    heads: tuple[bytes, ...]
    end: bytes
    packer: struct.Struct

    def packed(self, floats: Iterable[_Wire]) -> bytes:
        """The datagram with one tuple of floats per message, in heads order."""
        arguments: list[bytes | float] = [self.start]
        for head, values in zip(self.heads, floats, strict=True):
            arguments.append(head)
            arguments.extend(values)
        arguments.append(self.end)
        return self.packer.pack(*arguments)


def _layout(heads: Iterable[bytes], floats_each: int, *, start: bytes, end: bytes) -> _Layout:
    heads = tuple(heads)
    pieces = "".join(f"{len(head)}s{floats_each}f" for head in heads)
    return _Layout(start, heads, end, struct.Struct(f">{len(start)}s{pieces}{len(end)}s"))


def _bundle_layout(heads: Iterable[bytes], floats_each: int, end: bytes = b"") -> _Layout:
    """A bundle of sized heads each with floats_each floats, then end (complete elements)."""
    return _layout(heads, floats_each, start=BUNDLE_HEADER + TIMETAG_IMMEDIATELY, end=end)


def _sized_head(address: str, tags: str, name: str, data_bytes: int) -> bytes:
    """Everything of a bundle element but its trailing numbers: the element's size, the address,
    the type tags and the leading name. Computed once per name, so a frame only adds numbers."""
    head = message_head(address, tags) + osc_string(name)
    return struct.pack(">i", len(head) + data_bytes) + head


# --- transforms (root and bones) ----------------------------------------------------------------

# The largest float32: a float64 beyond it would be sent as infinity.
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_MIN_QUATERNION_NORM2 = _MIN_QUATERNION_NORM**2
# A quaternion this close to unit length already is one in float32 (whose epsilon is 1.2e-7).
_UNIT_NORM2_TOLERANCE = 1e-9


def _wire_transforms(
    positions: Iterable[Sequence[float]], rotations: Iterable[Sequence[float]]
) -> list[_Wire | None]:
    """Per row, px py pz qx qy qz qw with a unit quaternion, or None where the row may not be
    sent: a position not finite as a float32, or a quaternion not finite or without a direction.
    Python floats never raise on overflow or NaN, and NaN fails every comparison."""
    rows: list[_Wire | None] = []
    for (px, py, pz), (x, y, z, w) in zip(positions, rotations, strict=True):
        norm2 = x * x + y * y + z * z + w * w
        if not (
            abs(px) <= _FLOAT32_MAX and abs(py) <= _FLOAT32_MAX and abs(pz) <= _FLOAT32_MAX
            and _MIN_QUATERNION_NORM2 < norm2 < math.inf
        ):  # fmt: skip
            rows.append(None)
            continue
        if abs(norm2 - 1.0) <= _UNIT_NORM2_TOLERANCE:
            rows.append((px, py, pz, x, y, z, w))
        else:
            scale = 1.0 / math.sqrt(norm2)
            rows.append((px, py, pz, x * scale, y * scale, z * scale, w * scale))
    return rows


_ROOT_LAYOUT = _layout(
    [message_head(ROOT_ADDRESS, _TRANSFORM_TAGS) + osc_string("root")], 7, start=b"", end=b""
)
_BONE_HEADS: Mapping[str, bytes] = MappingProxyType(
    {
        name: _sized_head(BONE_ADDRESS, _TRANSFORM_TAGS, name, _TRANSFORM_BYTES)
        for name in BONES  # Unity's HumanBodyBones: the names a Bone/Pos may carry
    }
)


def _root_message(avatar: AvatarFrame) -> list[bytes]:
    """The Root/Pos message, or nothing when the root is not sendable (the receiver holds it)."""
    message = _root_bytes((*avatar.root_position.tolist(), *avatar.root_rotation.tolist()))
    return [] if message is None else [message]


@lru_cache(maxsize=16)
def _root_bytes(position_and_rotation: tuple[float, ...]) -> bytes | None:
    """The Root/Pos message of a root given as 7 floats, None when not sendable. Cached: the
    solver's root never moves, so a frame only looks it up."""
    (row,) = _wire_transforms([position_and_rotation[:3]], [position_and_rotation[3:]])
    return None if row is None else _ROOT_LAYOUT.packed([row])


@lru_cache(maxsize=16)
def _wanted_bones(names: tuple[str, ...], skipped: frozenset[str]) -> tuple[int, ...]:
    """The rows of the bones the profile wants."""
    unknown = [name for name in names if name not in _BONE_HEADS]
    if unknown:
        raise ValueError(f"not Unity HumanBodyBones names: {', '.join(unknown)}")
    return tuple(row for row, name in enumerate(names) if name not in skipped)


@lru_cache(maxsize=16)
def _bone_layout(names: tuple[str, ...], rows: tuple[int, ...]) -> _Layout:
    return _bundle_layout((_BONE_HEADS[names[row]] for row in rows), 7)


def _bones_bundle(avatar: AvatarFrame, profile: VmcProfile) -> bytes:
    transforms = _wire_transforms(avatar.local_positions.tolist(), avatar.local_rotations.tolist())
    sent_rows, sent = [], []
    for row in _wanted_bones(avatar.bone_names, profile.skipped_bones):
        transform = transforms[row]
        if transform is not None:
            sent_rows.append(row)
            sent.append(transform)
    return _bone_layout(avatar.bone_names, tuple(sent_rows)).packed(sent)


# --- expressions ---------------------------------------------------------------------------------

_APPLY_ELEMENT = sized(message(BLEND_APPLY_ADDRESS))


ARKIT_SPELLINGS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "camel": ARKIT_NAMES,
        "pascal": tuple(name[0].upper() + name[1:] for name in ARKIT_NAMES),
    }
)
"""The 51 ARKit names in ARKIT_NAMES order as each arkit_case spells them."""


@lru_cache(maxsize=64)
def _expression_plan(
    names: tuple[str, ...], vrm1_names: bool, arkit_case: str | None
) -> tuple[_Layout, tuple[int, ...]]:
    """The bundle of Val messages, Apply last, and the index of the value each carries: every
    name as given, then (vrm1_names) the VRM1 name of each VRM0 preset among them, then (with an
    arkit_case) the 51 ARKit names, whose values follow the expressions'."""
    sent = [(name, index) for index, name in enumerate(names)]
    if vrm1_names:
        sent += [(VRM0_TO_VRM1[name], i) for name, i in sent if name in VRM0_TO_VRM1]
    if arkit_case is not None:
        sent += [(name, len(names) + i) for i, name in enumerate(ARKIT_SPELLINGS[arkit_case])]
    heads = (_sized_head(BLEND_VALUE_ADDRESS, _VALUE_TAGS, name, _VALUE_BYTES) for name, _ in sent)
    return _bundle_layout(heads, 1, end=_APPLY_ELEMENT), tuple(index for _, index in sent)


def _expressions_bundle(
    weights: Mapping[str, float], arkit: Sequence[float] | None, profile: VmcProfile
) -> bytes:
    values = list(weights.values())
    arkit_case = None
    if profile.perfect_sync and arkit is not None:
        if len(arkit) != len(ARKIT_NAMES):
            raise ValueError(f"{len(arkit)} ARKit weights, not {len(ARKIT_NAMES)}")
        values += arkit
        arkit_case = profile.arkit_case
    layout, indices = _expression_plan(tuple(weights), profile.vrm1_names, arkit_case)
    clamped = [min(max(v, 0.0), 1.0) if math.isfinite(v) else 0.0 for v in values]
    return layout.packed((clamped[index],) for index in indices)
