"""OSC encoder: literal bytes for the building blocks, python-osc's parser for whole frames."""

from __future__ import annotations

import numpy as np
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage

from mocap.encode.osc import (
    bundle,
    encode_landmarks_bundle,
    float_message,
    frame_message,
    osc_string,
)
from mocap.frames import PoseFrame
from tests.conftest import synthetic_pose_frame


def test_osc_string_pads_to_four_bytes_with_at_least_one_nul() -> None:
    assert osc_string("/abc") == b"/abc\x00\x00\x00\x00"
    assert osc_string("/ab") == b"/ab\x00"
    assert osc_string(",if") == b",if\x00"


def test_frame_message_golden_bytes() -> None:
    assert frame_message("/mocap/frame", 3, 1.5) == (
        b"/mocap/frame\x00\x00\x00\x00,if\x00\x00\x00\x00\x03\x3f\xc0\x00\x00"
    )


def test_float_message_golden_bytes() -> None:
    block = np.array([[1.0, -2.0]], dtype=np.float32)
    assert float_message("/p", block) == (b"/p\x00\x00,ff\x00\x3f\x80\x00\x00\xc0\x00\x00\x00")


def test_bundle_golden_bytes_with_immediate_timetag() -> None:
    element = b"/x\x00\x00,\x00\x00\x00"
    assert bundle([element]) == (
        b"#bundle\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x08" + element
    )


def parse(datagram: bytes) -> dict[str, list[object]]:
    parsed = OscBundle(datagram)
    assert parsed.timestamp == 0 or parsed.timestamp < 1  # "immediately"
    messages = [item for item in parsed if isinstance(item, OscMessage)]
    return {message.address: list(message.params) for message in messages}


def test_whole_frame_round_trips_through_python_osc(pose_frame: PoseFrame) -> None:
    messages = parse(encode_landmarks_bundle(pose_frame, seq=42, t_s=2.5, prefix="/mocap"))
    assert list(messages) == [
        "/mocap/frame", "/mocap/pose", "/mocap/pose_world", "/mocap/face",
        "/mocap/hand/left", "/mocap/hand/right",
    ]  # fmt: skip
    assert messages["/mocap/frame"] == [42, 2.5]
    for address, block in [
        ("/mocap/pose", pose_frame.pose),
        ("/mocap/pose_world", pose_frame.pose_world),
        ("/mocap/face", pose_frame.face),
        ("/mocap/hand/left", pose_frame.left_hand),
        ("/mocap/hand/right", pose_frame.right_hand),
    ]:
        received = np.array(messages[address], dtype=np.float32)
        np.testing.assert_array_equal(received, block.ravel())
    assert len(messages["/mocap/pose"]) == 33 * 4
    assert len(messages["/mocap/face"]) == 478 * 3


def test_the_arkit_weights_are_one_message_after_the_parts() -> None:
    frame = synthetic_pose_frame(arkit=True)
    datagram = encode_landmarks_bundle(frame, seq=1, t_s=0.0, prefix="/mocap")
    messages = parse(datagram)
    assert list(messages)[-1] == "/mocap/face/arkit"
    np.testing.assert_array_equal(np.array(messages["/mocap/face/arkit"], np.float32), frame.arkit)
    address = b"/mocap/face/arkit\x00\x00\x00"  # 17 bytes and a NUL, padded to 20
    assert address + b"," + b"f" * 51 in datagram


def test_absent_parts_are_left_out_of_the_bundle() -> None:
    frame = synthetic_pose_frame(hands=False, face_points=468)
    messages = parse(encode_landmarks_bundle(frame, seq=0, t_s=0.0, prefix="/body"))
    assert list(messages) == ["/body/frame", "/body/pose", "/body/pose_world", "/body/face"]
    assert len(messages["/body/face"]) == 468 * 3
