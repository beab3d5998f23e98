"""VMC encoder: literal bytes for each message kind, python-osc's parser for the conformance
checks, the NaN guard, and each receiver profile's difference."""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket

from mocap.encode.expressions import VRM0_TO_VRM1
from mocap.encode.osc import message
from mocap.encode.vmc import encode_vmc_frame
from mocap.encode.vmc_profiles import VmcProfile, profile_named
from mocap.skeleton import ARKIT_NAMES
from mocap.solve.avatar import AvatarFrame
from mocap.solve.humanoid import BONES
from tests.support import VMC_TYPE_TAGS, type_tags

GENERIC = profile_named("generic", vrm1_names=False)
IMMEDIATELY = b"\x00" * 7 + b"\x01"

VRM0_EXPRESSIONS = {name: 0.5 for name in VRM0_TO_VRM1}
PERFECT_SYNC_SAMPLE = {"jawOpen": 0.25, "mouthSmileLeft": 0.75}


def avatar_frame(
    *,
    seed: int = 0,
    bone_names: Sequence[str] = BONES,
    blendshapes: dict[str, float] | None = None,
    root_position: Sequence[float] = (0.1, 0.0, -0.2),
    root_rotation: Sequence[float] = (0.0, 0.0, 0.0, 1.0),
    arkit: Sequence[float] | None = None,
) -> AvatarFrame:
    """Plausible local positions; rotations of length 2 so that the encoder must normalise."""
    rng = np.random.default_rng(seed)
    count = len(bone_names)
    rotations = rng.normal(size=(count, 4))
    rotations *= 2.0 / np.linalg.norm(rotations, axis=1, keepdims=True)
    weights = dict(VRM0_EXPRESSIONS, **PERFECT_SYNC_SAMPLE) if blendshapes is None else blendshapes
    return AvatarFrame(
        bone_names=tuple(bone_names),
        local_positions=rng.uniform(-0.3, 0.3, (count, 3)),
        local_rotations=rotations,
        root_position=np.array(root_position, dtype=np.float64),
        root_rotation=np.array(root_rotation, dtype=np.float64),
        blendshapes=weights,
        arkit=None if arkit is None else tuple(arkit),
    )


def one_bone(position: Sequence[float], rotation: Sequence[float]) -> AvatarFrame:
    return AvatarFrame(
        bone_names=("Hips",),
        local_positions=np.array([position], dtype=np.float64),
        local_rotations=np.array([rotation], dtype=np.float64),
        root_position=np.zeros(3),
        root_rotation=np.array([0.0, 0.0, 0.0, 1.0]),
        blendshapes={},
    )


def floats(*values: float) -> bytes:
    return struct.pack(f">{len(values)}f", *values)


def messages(datagram: bytes) -> list[OscMessage]:
    return [timed.message for timed in OscPacket(datagram).messages]


def frame_messages(datagrams: list[bytes]) -> list[OscMessage]:
    return [parsed for datagram in datagrams for parsed in messages(datagram)]


def params_of(parsed: list[OscMessage], address: str) -> list[list[Any]]:
    return [list(m.params) for m in parsed if m.address == address]


# --- golden bytes ---------------------------------------------------------------------------------


def test_root_message_golden_bytes() -> None:
    datagrams = encode_vmc_frame(avatar_frame(root_position=(0.0, 1.0, 0.0)), 0.0, GENERIC)
    assert datagrams[0] == (
        b"/VMC/Ext/Root/Pos\x00\x00\x00,sfffffff\x00\x00\x00root\x00\x00\x00\x00"
        + floats(0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    )


def test_bone_bundle_golden_bytes() -> None:
    bones = encode_vmc_frame(one_bone((0.0, 1.0, 0.0), (0.0, 0.0, 0.0, 1.0)), 0.0, GENERIC)[1]
    head = b"/VMC/Ext/Bone/Pos\x00\x00\x00,sfffffff\x00\x00\x00Hips\x00\x00\x00\x00"
    element = head + floats(0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    assert len(element) == 0x44
    assert bones == b"#bundle\x00" + IMMEDIATELY + b"\x00\x00\x00\x44" + element


def test_expression_bundle_golden_bytes_ends_with_one_apply() -> None:
    frame = avatar_frame(blendshapes={"A": 0.5})
    assert encode_vmc_frame(frame, 0.0, GENERIC)[2] == (
        b"#bundle\x00" + IMMEDIATELY + b"\x00\x00\x00\x20"
        b"/VMC/Ext/Blend/Val\x00\x00,sf\x00A\x00\x00\x00" + floats(0.5)
        + b"\x00\x00\x00\x1c/VMC/Ext/Blend/Apply\x00\x00\x00\x00,\x00\x00\x00"
    )  # fmt: skip


def test_available_and_time_golden_bytes() -> None:
    *_, available, elapsed = encode_vmc_frame(avatar_frame(), 1.5, GENERIC)
    assert available == b"/VMC/Ext/OK\x00,iiii\x00\x00\x00" + struct.pack(">4i", 1, 3, 0, 1)
    assert elapsed == b"/VMC/Ext/T\x00\x00,f\x00\x00\x3f\xc0\x00\x00"
    lost = encode_vmc_frame(avatar_frame(), 1.5, GENERIC, tracking_ok=False)[-2]
    assert lost == b"/VMC/Ext/OK\x00,iiii\x00\x00\x00" + struct.pack(">4i", 1, 3, 0, 0)


def test_message_helper_tags_arguments_by_type() -> None:
    assert message("/a", "b", 1, 2.0) == (
        b"/a\x00\x00,sif\x00\x00\x00\x00b\x00\x00\x00\x00\x00\x00\x01\x40\x00\x00\x00"
    )
    assert message("/a") == b"/a\x00\x00,\x00\x00\x00"
    with pytest.raises(TypeError):
        message("/a", True)


# --- conformance, through python-osc's parser --------------------------------------------------


@pytest.fixture(scope="module")
def stream() -> list[list[bytes]]:
    """Three frames at 30 fps, as the sink would send them, VRM1 names on."""
    profile = profile_named("generic", vrm1_names=True)
    return [encode_vmc_frame(avatar_frame(seed=i), i / 30, profile) for i in range(3)]


def test_frame_layout_follows_the_reference_sender(stream: list[list[bytes]]) -> None:
    for datagrams in stream:
        assert [d.startswith(b"#bundle") for d in datagrams] == [False, True, True, False, False]
        assert [messages(d)[0].address for d in datagrams] == [
            "/VMC/Ext/Root/Pos", "/VMC/Ext/Bone/Pos", "/VMC/Ext/Blend/Val", "/VMC/Ext/OK",
            "/VMC/Ext/T",
        ]  # fmt: skip
        for bundled in datagrams[1:3]:
            assert bundled[8:16] == IMMEDIATELY
            assert b"#bundle" not in bundled[16:]  # never nested
        assert all(len(d) < 65_507 for d in datagrams)


def test_every_address_and_type_tag_is_the_specs(stream: list[list[bytes]]) -> None:
    for datagrams in stream:
        for parsed in frame_messages(datagrams):
            assert type_tags(parsed) == VMC_TYPE_TAGS[parsed.address]


def test_every_bone_of_the_55_once(stream: list[list[bytes]]) -> None:
    assert len(BONES) == len(set(BONES)) == 55
    for datagrams in stream:
        names = [p[0] for p in params_of(frame_messages(datagrams), "/VMC/Ext/Bone/Pos")]
        assert sorted(names) == sorted(BONES)


def test_values_come_before_one_apply_at_the_end(stream: list[list[bytes]]) -> None:
    for datagrams in stream:
        addresses = [m.address for m in messages(datagrams[2])]
        assert addresses[-1] == "/VMC/Ext/Blend/Apply"
        assert set(addresses[:-1]) == {"/VMC/Ext/Blend/Val"}
        assert [m.address for m in frame_messages(datagrams)].count("/VMC/Ext/Blend/Apply") == 1


def test_available_and_relative_time_in_every_frame(stream: list[list[bytes]]) -> None:
    times = []
    for datagrams in stream:
        parsed = frame_messages(datagrams)
        assert params_of(parsed, "/VMC/Ext/OK") == [[1, 3, 0, 1]]
        [[elapsed]] = params_of(parsed, "/VMC/Ext/T")
        times.append(elapsed)
    assert times == sorted(set(times))
    assert all(0 <= t < 60 for t in times)  # seconds since start, not Unix time


def test_quaternions_are_unit_and_no_float_is_nan(stream: list[list[bytes]]) -> None:
    for datagrams in stream:
        parsed = frame_messages(datagrams)
        transforms = params_of(parsed, "/VMC/Ext/Root/Pos") + params_of(parsed, "/VMC/Ext/Bone/Pos")
        for params in transforms:
            assert math.hypot(*params[4:8]) == pytest.approx(1.0, abs=1e-6)
        sent = [p for m in parsed for p in m.params if isinstance(p, float)]
        assert sent and all(math.isfinite(value) for value in sent)


def test_quaternion_is_normalised_and_position_sent_as_given() -> None:
    bones = encode_vmc_frame(one_bone((0.0, 0.9, 0.05), (0.0, 0.0, 3.0, 4.0)), 0.0, GENERIC)[1]
    [[_, *values]] = params_of(messages(bones), "/VMC/Ext/Bone/Pos")
    np.testing.assert_allclose(values, [0.0, 0.9, 0.05, 0.0, 0.0, 0.6, 0.8], rtol=1e-6)


def test_relative_time_is_required() -> None:
    for t_s in (time.time(), -0.1, math.nan, math.inf):
        with pytest.raises(ValueError, match="since the run started"):
            encode_vmc_frame(avatar_frame(), t_s, GENERIC)


def test_a_bone_name_outside_humanbodybones_is_refused() -> None:
    with pytest.raises(ValueError, match="hips"):
        encode_vmc_frame(avatar_frame(bone_names=("Hips", "hips")), 0.0, GENERIC)


def test_a_datagram_over_the_udp_limit_is_refused() -> None:
    crowded = avatar_frame(blendshapes={f"expression_{i:05d}": 0.0 for i in range(3000)})
    with pytest.raises(ValueError, match="UDP limit"):
        encode_vmc_frame(crowded, 0.0, GENERIC)


# --- the NaN guard -------------------------------------------------------------------------------


def test_non_finite_values_are_never_sent() -> None:
    frame = avatar_frame(
        root_position=(math.nan, 0.0, 0.0),
        blendshapes={"Joy": math.nan, "A": math.inf, "I": 1.5, "U": -0.25, "E": 0.5},
    )
    index = {name: i for i, name in enumerate(frame.bone_names)}
    frame.local_rotations[index["LeftHand"]] = (0.0, math.nan, 0.0, 1.0)
    frame.local_positions[index["RightFoot"]] = (0.0, math.inf, 0.0)
    frame.local_positions[index["Spine"]] = (0.0, 1e39, 0.0)  # finite, but not as a float32
    frame.local_rotations[index["Head"]] = (0.0, 0.0, 0.0, 0.0)  # no direction to normalise

    datagrams = encode_vmc_frame(frame, 0.5, GENERIC)
    parsed = frame_messages(datagrams)

    assert len(datagrams) == 4 and not params_of(parsed, "/VMC/Ext/Root/Pos")  # receiver holds
    sent_bones = {p[0] for p in params_of(parsed, "/VMC/Ext/Bone/Pos")}
    assert sent_bones == set(BONES) - {"LeftHand", "RightFoot", "Spine", "Head"}
    assert dict(params_of(parsed, "/VMC/Ext/Blend/Val")) == {
        "Joy": 0.0, "A": 0.0, "I": 1.0, "U": 0.0, "E": 0.5,
    }  # fmt: skip
    assert all(math.isfinite(p) for m in parsed for p in m.params if isinstance(p, float))


# --- profiles ------------------------------------------------------------------------------------


def test_profiles_are_found_by_their_exact_name() -> None:
    assert profile_named("warudo", vrm1_names=True) == VmcProfile(
        "warudo", arkit_case="pascal", vrm1_names=True
    )
    with pytest.raises(ValueError, match="vseeface"):
        profile_named("VSeeFace", vrm1_names=False)


def test_vrm1_names_follow_the_vrm0_values_with_the_same_weights() -> None:
    frame = avatar_frame(blendshapes={"Blink_L": 1.0, "Joy": 0.25, "jawOpen": 0.5})
    parsed = messages(encode_vmc_frame(frame, 0.0, profile_named("vnyan", True))[2])
    assert [list(m.params) for m in parsed[:-1]] == [
        ["Blink_L", 1.0], ["Joy", 0.25], ["jawOpen", 0.5], ["blinkLeft", 1.0], ["happy", 0.25],
    ]  # fmt: skip
    assert parsed[-1].address == "/VMC/Ext/Blend/Apply"
    without = messages(encode_vmc_frame(frame, 0.0, profile_named("vnyan", False))[2])
    assert [m.params[0] for m in without[:-1]] == ["Blink_L", "Joy", "jawOpen"]


def test_vrm1_names_cover_the_vrm1_presets() -> None:
    assert set(VRM0_TO_VRM1.values()) == {
        "neutral", "aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy",
        "angry", "sad", "relaxed", "surprised", "lookUp", "lookDown", "lookLeft", "lookRight",
    }  # fmt: skip


def test_vmagicmirror_gets_no_eye_or_jaw_bones() -> None:
    # VMagicMirror's receiver has no LeftEye, RightEye or Jaw (VMCPBasedHumanoid).
    datagrams = encode_vmc_frame(avatar_frame(), 0.0, profile_named("vmagicmirror", False))
    names = {p[0] for p in params_of(frame_messages(datagrams), "/VMC/Ext/Bone/Pos")}
    assert names == set(BONES) - {"LeftEye", "RightEye", "Jaw"}


def test_receivers_without_a_difference_get_the_generic_frame() -> None:
    # XR Animator's Warudo/VNyan(+Z) root turn only brings its own frame to Unity's, which the
    # AvatarFrame already uses (VmcProfile's docstring): the root goes out as solved.
    frame = avatar_frame(root_position=(0.1, 0.02, -0.3), root_rotation=(0.0, 0.6, 0.0, 0.8))
    generic = encode_vmc_frame(frame, 0.25, GENERIC)
    for name in ("vseeface", "warudo", "vnyan"):
        assert encode_vmc_frame(frame, 0.25, profile_named(name, False)) == generic
    [root] = params_of(messages(generic[0]), "/VMC/Ext/Root/Pos")
    np.testing.assert_allclose(root[1:], [0.1, 0.02, -0.3, 0.0, 0.6, 0.0, 0.8], rtol=1e-6)


# --- Perfect Sync: the 51 ARKit weights --------------------------------------------------------

# Written out rather than derived from ARKIT_NAMES, so that a wrong spelling rule shows.
PASCAL_SAMPLE = {
    "browDownLeft": "BrowDownLeft", "eyeBlinkRight": "EyeBlinkRight", "jawOpen": "JawOpen",
    "mouthSmileLeft": "MouthSmileLeft", "noseSneerRight": "NoseSneerRight",
    "cheekPuff": "CheekPuff",
}  # fmt: skip
ARKIT_SAMPLE = [i / 50 for i in range(51)]


def blend_values(frame: AvatarFrame, profile: VmcProfile) -> list[list[Any]]:
    parsed = messages(encode_vmc_frame(frame, 0.0, profile)[2])
    assert parsed[-1].address == "/VMC/Ext/Blend/Apply"
    assert {m.address for m in parsed[:-1]} == {"/VMC/Ext/Blend/Val"}
    return [list(m.params) for m in parsed[:-1]]


def test_perfect_sync_sends_the_51_after_the_expressions_before_apply() -> None:
    frame = avatar_frame(blendshapes={"Blink": 0.5, "A": 0.25}, arkit=ARKIT_SAMPLE)
    profile = profile_named("generic", vrm1_names=True, perfect_sync=True)
    sent = blend_values(frame, profile)
    assert sent[:4] == [["Blink", 0.5], ["A", 0.25], ["blink", 0.5], ["aa", 0.25]]
    assert [name for name, _ in sent[4:]] == list(ARKIT_NAMES)
    np.testing.assert_allclose([value for _, value in sent[4:]], ARKIT_SAMPLE, atol=1e-7)


def test_perfect_sync_is_off_by_default_and_absent_weights_send_none() -> None:
    with_weights = avatar_frame(blendshapes={"Blink": 0.5}, arkit=ARKIT_SAMPLE)
    assert blend_values(with_weights, GENERIC) == [["Blink", 0.5]]
    without = avatar_frame(blendshapes={"Blink": 0.5})
    assert blend_values(without, profile_named("generic", False, perfect_sync=True)) == [
        ["Blink", 0.5]
    ]


def test_arkit_case_follows_the_profile_unless_configured() -> None:
    frame = avatar_frame(blendshapes={}, arkit=ARKIT_SAMPLE)
    for name, case in (("generic", "camel"), ("vseeface", "pascal"), ("warudo", "pascal"),
                       ("vnyan", "pascal"), ("vmagicmirror", "pascal")):  # fmt: skip
        names = {n for n, _ in blend_values(frame, profile_named(name, False, perfect_sync=True))}
        expected = PASCAL_SAMPLE.values() if case == "pascal" else PASCAL_SAMPLE.keys()
        assert set(expected) <= names and len(names) == 51, name
    chosen = profile_named("vmagicmirror", False, perfect_sync=True, arkit_case="camel")
    assert set(PASCAL_SAMPLE) <= {n for n, _ in blend_values(frame, chosen)}
    pascal = profile_named("generic", False, perfect_sync=True, arkit_case="pascal")
    assert set(PASCAL_SAMPLE.values()) <= {n for n, _ in blend_values(frame, pascal)}
    with pytest.raises(ValueError, match="camel, pascal"):
        profile_named("generic", False, perfect_sync=True, arkit_case="snake")


def test_arkit_values_are_clamped_and_never_nan() -> None:
    weights = [0.5] * 51
    weights[:4] = [math.nan, -0.5, 1.5, math.inf]
    frame = avatar_frame(blendshapes={}, arkit=weights)
    sent = blend_values(frame, profile_named("generic", False, perfect_sync=True))
    assert [value for _, value in sent[:5]] == [0.0, 0.0, 1.0, 0.0, 0.5]


def test_a_wrong_number_of_arkit_weights_is_refused() -> None:
    frame = avatar_frame(blendshapes={}, arkit=[0.5] * 52)
    with pytest.raises(ValueError, match="52 ARKit weights"):
        encode_vmc_frame(frame, 0.0, profile_named("generic", False, perfect_sync=True))
