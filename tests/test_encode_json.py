"""WebSocket JSON encoder: valid JSON (no NaN), the schema's fields, values within rounding."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from mocap import skeleton
from mocap.encode.frame_json import SCHEMA, encode_frame, encode_hello
from mocap.frames import ImageSize, PoseFrame, frozen
from tests.conftest import synthetic_pose_frame


def strict_loads(text: str) -> dict[str, object]:
    def refuse(constant: str) -> object:
        raise AssertionError(f"{constant} is not JSON")

    loaded = json.loads(text, parse_constant=refuse)
    assert isinstance(loaded, dict)
    return loaded


def test_frame_message_fields_and_values(pose_frame: PoseFrame) -> None:
    message = strict_loads(encode_frame(pose_frame, seq=5, t_s=1.25))
    assert message["type"] == "frame"
    assert message["seq"] == 5
    assert message["t"] == 1.25
    assert message["size"] == [1280, 720]
    for name, block in pose_frame.parts().items():
        received = np.array(message[name], dtype=np.float64)
        assert received.shape == block.shape
        np.testing.assert_allclose(received, block, atol=5.1e-6)


def test_golden_text_for_a_tiny_block() -> None:
    frame = synthetic_pose_frame(hands=False)
    text = encode_frame(frame, seq=0, t_s=0.0)
    assert text.startswith('{"type":"frame","seq":0,"t":0.0,"size":[1280,720],"pose":[[')
    assert text.endswith(',"left_hand":null,"right_hand":null,"arkit":null}')


def test_absent_parts_are_null_and_a_nan_value_is_null() -> None:
    frame = synthetic_pose_frame(hands=False)
    face = np.array(frame.face)
    face[3, 1] = np.nan
    frame = PoseFrame(
        index=0,
        timestamp_s=0.0,
        image_size=frame.image_size,
        pose=frame.pose,
        pose_world=frame.pose_world,
        face=frozen(face, 478, 3),
        left_hand=frame.left_hand,
        right_hand=frame.right_hand,
    )
    message = strict_loads(encode_frame(frame, seq=1, t_s=0.5))
    assert message["left_hand"] is None
    assert message["right_hand"] is None
    face_points = message["face"]
    assert isinstance(face_points, list)
    assert face_points[3][1] is None
    np.testing.assert_allclose(face_points[4], frame.face[4], atol=5.1e-6)


def test_arkit_weights_by_name_in_order_rounded_to_four_decimals() -> None:
    frame = synthetic_pose_frame(arkit=True)
    message = strict_loads(encode_frame(frame, seq=1, t_s=0.5))
    weights = message["arkit"]
    assert isinstance(weights, dict)
    assert list(weights) == list(skeleton.ARKIT_NAMES) and len(weights) == 51
    assert weights["browDownLeft"] == round(float(frame.arkit[0]), 4)
    np.testing.assert_allclose(list(weights.values()), frame.arkit, atol=5.1e-5)
    assert strict_loads(encode_frame(synthetic_pose_frame(), seq=1, t_s=0.5))["arkit"] is None


def test_extra_fields_are_appended() -> None:
    message = strict_loads(
        encode_frame(synthetic_pose_frame(), seq=1, t_s=0.5, extra={"blendshapes": {"A": 0.5}})
    )
    assert message["blendshapes"] == {"A": 0.5}


def test_hello_names_schema_parts_source_and_drawing_data() -> None:
    hello = strict_loads(encode_hello(ImageSize(640, 360), 25.0, 478))
    assert hello["type"] == "hello"
    assert hello["schema"] == SCHEMA
    assert hello["parts"] == {
        "pose": 33, "pose_world": 33, "face": 478, "left_hand": 21, "right_hand": 21,
    }  # fmt: skip
    assert hello["source"] == {"width": 640, "height": 360, "fps": 25.0}
    names = hello["names"]
    assert isinstance(names, dict)
    assert len(names["pose"]) == skeleton.POSE_POINTS
    assert names["arkit"] == list(skeleton.ARKIT_NAMES)
    connections = hello["connections"]
    assert isinstance(connections, dict)
    assert [0, 1] in connections["pose"]


def test_a_block_made_from_a_column_major_array_encodes() -> None:
    """A landmark block built by matrix arithmetic can come out column-major (Fortran order),
    which orjson refuses; frozen() hands every encoder rows."""
    world_m = np.asfortranarray(np.arange(33 * 4, dtype=np.float64).reshape(33, 4) / 100.0)
    assert not world_m.flags.c_contiguous
    frame = dataclasses.replace(synthetic_pose_frame(), pose_world=frozen(world_m, 33, 4))
    message = strict_loads(encode_frame(frame, 1, 0.0))
    assert message["pose_world"] == np.round(world_m, 5).tolist()
