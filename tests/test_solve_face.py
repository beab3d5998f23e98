"""Expressions and gaze from a synthetic face: the solver's canonical face, reshaped in the head's
frame (centimetres), as MediaPipe would report it."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.transform import Rotation

from mocap.config import SolverConfig
from mocap.frames import PoseFrame, frozen
from mocap.solve import AvatarFrame, AvatarSolver
from mocap.solve.face import (
    EXPRESSIONS,
    EYEBALL_RADIUS_CM,
    EYES,
    GAZE_LIMIT_PITCH_RAD,
    GAZE_LIMIT_YAW_RAD,
    INNER_LIPS,
    IRIS_CENTRES,
    MOUTH_CORNERS,
)
from mocap.solve.humanoid import INDEX
from tests import synthetic
from tests.support import PLAIN_SOLVER

Array = npt.NDArray[np.float64]
RIGHT_EYE_LIDS, LEFT_EYE_LIDS = EYES[0][2], EYES[1][2]
UPPER_LIP, LOWER_LIP = INNER_LIPS
RIGHT_CORNER, LEFT_CORNER = MOUTH_CORNERS


def face_frame(moves_cm: Mapping[int, npt.ArrayLike] | None = None, points: int = 478) -> PoseFrame:
    """The synthetic avatar at rest (its head faces the camera, so the head's frame is Unity's),
    with face landmarks moved by moves_cm (avatar axes: +X the subject's right, +Y up)."""
    frame = synthetic.pose_frame()
    face = np.array(frame.face, dtype=np.float64)[:points]
    width, height = frame.image_size
    # synthetic.py projects Unity metres to MediaPipe's image space by -PIXELS_PER_METRE / size.
    to_image = -synthetic.PIXELS_PER_METRE / 100.0 / np.array([width, height, width])
    for landmark, move_cm in (moves_cm or {}).items():
        face[landmark] += np.asarray(move_cm, dtype=np.float64) * to_image
    return dataclasses.replace(frame, face=frozen(face, points, 3))


def lid_gap_cm() -> float:
    upper, lower = RIGHT_EYE_LIDS[0]
    frame = face_frame()
    width, height = frame.image_size
    gap_px = (frame.face[lower] - frame.face[upper])[:2] * [width, height]
    return float(np.linalg.norm(gap_px) / synthetic.PIXELS_PER_METRE * 100.0)


def closed(lids: tuple[tuple[int, int], ...], fraction: float = 1.0) -> dict[int, Array]:
    """Upper lids moved down toward the lower ones by fraction of the gap."""
    return {upper: np.array([0.0, -fraction * lid_gap_cm(), 0.0]) for upper, _ in lids}


def gaze(yaw_deg: float, pitch_up_deg: float) -> dict[int, Array]:
    offset = EYEBALL_RADIUS_CM * np.sin(np.radians([yaw_deg, pitch_up_deg]))
    return {iris: np.array([offset[0], offset[1], 0.0]) for iris in IRIS_CENTRES}


def solve(frame: PoseFrame, config: SolverConfig = PLAIN_SOLVER) -> AvatarFrame:
    return AvatarSolver(config)(frame)


def weights(frame: PoseFrame, config: SolverConfig = PLAIN_SOLVER) -> dict[str, float]:
    return solve(frame, config).blendshapes


def eye_direction(frame: AvatarFrame, bone: str) -> Array:
    forward: Array = Rotation.from_quat(frame.local_rotations[INDEX[bone]]).apply([0, 0, 1.0])
    return forward


def test_a_neutral_face_shows_no_expression_and_looks_ahead() -> None:
    frame = solve(face_frame())
    assert list(frame.blendshapes) == list(EXPRESSIONS)
    assert max(frame.blendshapes.values()) < 0.02
    for eye in ("LeftEye", "RightEye"):
        np.testing.assert_allclose(eye_direction(frame, eye), [0, 0, 1], atol=0.01)


def test_closed_eyes_blink_with_both_in_blink() -> None:
    shown = weights(face_frame({**closed(RIGHT_EYE_LIDS), **closed(LEFT_EYE_LIDS)}))
    assert shown["Blink"] == pytest.approx(1.0)
    assert shown["Blink_L"] == shown["Blink_R"] == pytest.approx(0.0)


def test_blink_grows_as_the_lids_close() -> None:
    fractions = (0.0, 0.3, 0.5, 0.7, 0.9)
    blinks = [weights(face_frame(closed(RIGHT_EYE_LIDS, f)))["Blink_R"] for f in fractions]
    assert blinks[0] == 0.0 and blinks[-1] == 1.0
    assert all(a <= b for a, b in itertools.pairwise(blinks))


@pytest.mark.parametrize(("mirror", "shown_as"), [(False, "Blink_L"), (True, "Blink_R")])
def test_a_wink_is_on_the_avatars_side(mirror: bool, shown_as: str) -> None:
    config = SolverConfig(mirror=mirror, hold_s=0.0, ease_s=0.0)
    shown = weights(face_frame(closed(LEFT_EYE_LIDS)), config)  # the subject's left eye
    assert shown[shown_as] == pytest.approx(1.0)
    assert shown["Blink"] == 0.0


def mouth(open_cm: float, widen_cm: float = 0.0, lift_cm: float = 0.0) -> dict[int, Array]:
    return {
        LOWER_LIP: np.array([0.0, -open_cm, 0.0]),
        RIGHT_CORNER: np.array([widen_cm / 2, lift_cm, 0.0]),
        LEFT_CORNER: np.array([-widen_cm / 2, lift_cm, 0.0]),
    }


@pytest.mark.parametrize(
    ("shape", "vowel"),
    [
        (mouth(2.5), "A"),
        (mouth(0.8, widen_cm=1.5), "I"),
        (mouth(0.8, widen_cm=-1.5), "U"),
        (mouth(2.0, widen_cm=1.2), "E"),
        (mouth(2.0, widen_cm=-1.5), "O"),
    ],
)
def test_mouth_shapes_give_their_vowel(shape: dict[int, Array], vowel: str) -> None:
    shown = weights(face_frame(shape))
    vowels = {name: shown[name] for name in "AIUEO"}
    assert max(vowels, key=vowels.__getitem__) == vowel
    assert sum(vowels.values()) <= 1.0 + 1e-9


def test_a_smile_is_joy_and_no_vowel() -> None:
    shown = weights(face_frame(mouth(0.0, widen_cm=1.0, lift_cm=1.0)))
    assert shown["Joy"] == pytest.approx(1.0)
    assert max(shown[name] for name in "AIUEO") == 0.0


@pytest.mark.parametrize(
    ("mirror", "look", "toward_x"), [(False, "LookRight", 1), (True, "LookLeft", -1)]
)
def test_looking_to_the_subjects_right(mirror: bool, look: str, toward_x: int) -> None:
    config = SolverConfig(mirror=mirror, hold_s=0.0, ease_s=0.0)
    frame = solve(face_frame(gaze(15.0, 0.0)), config)
    assert frame.blendshapes[look] == pytest.approx(np.radians(15.0) / GAZE_LIMIT_YAW_RAD, abs=0.03)
    for eye in ("LeftEye", "RightEye"):
        forward = eye_direction(frame, eye)
        yaw_deg = np.degrees(np.arctan2(forward[0], forward[2]))
        assert yaw_deg == pytest.approx(toward_x * 15.0, abs=1.0)


def test_looking_up_and_down() -> None:
    up = solve(face_frame(gaze(0.0, 10.0)))
    assert up.blendshapes["LookUp"] == pytest.approx(
        np.radians(10.0) / GAZE_LIMIT_PITCH_RAD, abs=0.03
    )
    assert eye_direction(up, "LeftEye")[1] == pytest.approx(np.sin(np.radians(10.0)), abs=0.02)
    down = weights(face_frame(gaze(0.0, -12.0)))
    assert down["LookDown"] > 0.4 and down["LookUp"] == 0.0


def test_closed_eyes_do_not_look_anywhere() -> None:
    shown = weights(
        face_frame({**gaze(20.0, 0.0), **closed(RIGHT_EYE_LIDS), **closed(LEFT_EYE_LIDS)})
    )
    assert shown["LookRight"] == shown["LookLeft"] == 0.0


def test_a_mesh_without_irises_leaves_the_eyes_at_rest() -> None:
    frame = solve(face_frame(points=468))
    assert all(frame.blendshapes[name] == 0.0 for name in EXPRESSIONS if name.startswith("Look"))
    for eye in ("LeftEye", "RightEye"):
        np.testing.assert_array_equal(frame.local_rotations[INDEX[eye]], [0, 0, 0, 1.0])


@pytest.mark.parametrize(
    ("broken", "face_read"),
    [(RIGHT_EYE_LIDS[0][0], False), (0, True)],  # an upper lid is read; landmark 0 is not
)
def test_a_non_finite_point_loses_the_face_only_where_it_is_read(
    broken: int, face_read: bool
) -> None:
    frame = face_frame({**closed(RIGHT_EYE_LIDS), **closed(LEFT_EYE_LIDS)})
    face = np.array(frame.face)
    face[broken] = np.nan
    shown = weights(dataclasses.replace(frame, face=frozen(face, len(face), 3)))
    assert shown["Blink"] == (1.0 if face_read else 0.0)  # no face: the expressions rest


@settings(max_examples=40)
@given(hnp.arrays(np.float64, (478, 3), elements=st.floats(-3.0, 3.0)))
def test_any_face_gives_weights_in_the_unit_interval(noise_cm: Array) -> None:
    frame = solve(face_frame(dict(enumerate(noise_cm))))
    assert all(0.0 <= weight <= 1.0 for weight in frame.blendshapes.values())
    assert np.all(np.isfinite(frame.local_rotations))
