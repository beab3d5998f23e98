"""The solver against an independent synthetic human (tests/human.py; issue 13): its own
proportions, a pinhole camera and noise. Checked with quantities that hold whatever the avatar's
proportions: the angles between bones and their directions in the body's axes, the rotation from
frame to frame, a bone's twist about its own axis."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy.spatial.transform import Rotation

from mocap.config import SolverConfig
from mocap.frames import is_present
from mocap.recording.reader import RecordingReader
from mocap.solve import AvatarFrame, AvatarSolver
from mocap.solve.humanoid import INDEX, forward_kinematics, tip_positions
from tests import human
from tests.human import Finger, Leg, Pose, Thumb, X, Z, turn, with_arm
from tests.support import angle_deg

Array = npt.NDArray[np.float64]
DATA = Path(__file__).parent / "data"
ONE_FRAME = SolverConfig(mirror=False, hold_s=0.0, ease_s=0.0)
FPS = 30.0
NATURAL_DEG = 8.0
# The human's body axes (x its left, y up, z forward) -> the avatar's (Unity: +X its right).
TO_AVATAR = np.array([-1.0, 1.0, 1.0])


def solved(pose: Pose, config: SolverConfig = ONE_FRAME) -> AvatarFrame:
    return AvatarSolver(config)(human.pose_frame(pose))


def avatar_points(frame: AvatarFrame) -> tuple[Array, Array]:
    """The avatar's joint positions and leaf tips (Unity space)."""
    positions, rotations = forward_kinematics(
        frame.local_rotations, local_positions=frame.local_positions
    )
    return positions, tip_positions(positions, rotations)


# (the avatar's joint, the joint it points at; the human's two pose landmarks)
BONES = {
    "left upper arm": ("LeftUpperArm", "LeftLowerArm", 11, 13),
    "left forearm": ("LeftLowerArm", "LeftHand", 13, 15),
    "right upper arm": ("RightUpperArm", "RightLowerArm", 12, 14),
    "right forearm": ("RightLowerArm", "RightHand", 14, 16),
    "left thigh": ("LeftUpperLeg", "LeftLowerLeg", 23, 25),
    "left shin": ("LeftLowerLeg", "LeftFoot", 25, 27),
    "right thigh": ("RightUpperLeg", "RightLowerLeg", 24, 26),
    "right shin": ("RightLowerLeg", "RightFoot", 26, 28),
}


def bone_errors_deg(pose: Pose) -> dict[str, float]:
    """Each limb bone's direction on the avatar against the human's, and the spine's (hips to
    the shoulders' midpoint), degrees."""
    body = human.pose_points(pose).pose * TO_AVATAR
    positions, _ = avatar_points(solved(pose))
    errors = {
        name: angle_deg(positions[INDEX[child]] - positions[INDEX[joint]], body[end] - body[start])
        for name, (joint, child, start, end) in BONES.items()
    }
    shoulders = positions[[INDEX["LeftUpperArm"], INDEX["RightUpperArm"]]].mean(axis=0)
    errors["spine"] = angle_deg(
        shoulders - positions[INDEX["Hips"]],
        body[[11, 12]].mean(axis=0) - body[[23, 24]].mean(axis=0),
    )
    return errors


SEATED = Leg(hip=turn(X, -90.0), knee=90.0)
BOWING = Leg(hip=turn(X, -30.0))  # legs upright under a pelvis pitched forward
NATURAL_POSES = {
    "forearm forward, arm hanging": with_arm(Pose(), 0, elbow=90.0),
    "forward reach": with_arm(Pose(), 0, shoulder=turn(X, -80.0), elbow=15.0),
    "arm raised 45 degrees sideways": with_arm(Pose(), 0, shoulder=turn(Z, 45.0), elbow=20.0),
    "seated, knees at 90": Pose(legs=(SEATED, SEATED)),
    "20 degree side lean": Pose(torso=turn(Z, 20.0)),
    "bowing 30 degrees at the hips": Pose(pelvis=turn(X, 30.0), legs=(BOWING, BOWING)),
}


@pytest.mark.parametrize("name", NATURAL_POSES)
def test_natural_poses_come_back_within_8_degrees(name: str) -> None:
    errors = bone_errors_deg(NATURAL_POSES[name])
    assert max(errors.values()) < NATURAL_DEG, errors


@pytest.mark.parametrize("name", ["20 degree side lean", "bowing 30 degrees at the hips"])
def test_the_hips_take_part_of_a_bow_or_lean(name: str) -> None:
    hips = Rotation.from_quat(solved(NATURAL_POSES[name]).local_rotations[INDEX["Hips"]])
    assert np.degrees(hips.magnitude()) > 8.0


def test_an_arm_measured_far_behind_the_back_stops_where_arms_do() -> None:
    """Depth noise can put an arm 85 degrees behind the body; no shoulder goes past ~60."""
    positions, _ = avatar_points(solved(with_arm(Pose(), 0, shoulder=turn(X, 85.0))))
    upper = positions[INDEX["LeftLowerArm"]] - positions[INDEX["LeftUpperArm"]]
    behind_deg = np.degrees(np.arcsin(-upper[2] / np.linalg.norm(upper)))
    assert behind_deg == pytest.approx(60.0, abs=1.0)


def wrist_bend_deg(wrist_deg: float) -> tuple[float, float]:
    """The avatar's and the human's angle between the forearm and the hand (wrist to middle
    knuckle) for a wrist flexed by wrist_deg."""
    pose = with_arm(Pose(), 0, elbow=90.0, wrist=wrist_deg)
    body, hand = human.pose_points(pose).pose, human.pose_points(pose).hands[0]
    positions, _ = avatar_points(solved(pose))
    elbow, wrist, knuckle = (
        positions[INDEX[name]] for name in ("LeftLowerArm", "LeftHand", "LeftMiddleProximal")
    )
    return angle_deg(wrist - elbow, knuckle - wrist), angle_deg(
        body[15] - body[13], hand[9] - hand[0]
    )


def test_a_bent_wrist_comes_back_and_an_impossible_one_stops_at_the_wrists_range() -> None:
    shown_deg, posed_deg = wrist_bend_deg(50.0)
    assert shown_deg == pytest.approx(posed_deg, abs=NATURAL_DEG)
    shown_deg, posed_deg = wrist_bend_deg(110.0)
    assert posed_deg > 100.0
    assert shown_deg < 81.0


def twist_deg(rotation: Array) -> float:
    """A limb bone's twist about its own rest axis (X for the arms), from its local rotation's
    swing-twist decomposition, degrees in (-180, 180]."""
    x, _, _, w = rotation
    return float(np.degrees(2.0 * np.arctan2(x, w)) + 180.0) % 360.0 - 180.0


ARM_BONES = ("LeftUpperArm", "LeftLowerArm", "LeftHand")


def elbow_sweep_deg() -> Array:
    """30 degrees of flexion, through straight, to 25 of hyperextension and back, 3 s each way."""
    down = np.linspace(30.0, -25.0, int(3 * FPS))
    return np.concatenate((down, down[::-1], down, down[::-1]))


@pytest.mark.parametrize("shoulder", ["hanging", "raised sideways"])
def test_a_noisy_elbow_sweep_through_straight_never_flips_the_arm(shoulder: str) -> None:
    arm = turn(Z, 0.0 if shoulder == "hanging" else 60.0)
    solver = AvatarSolver(SolverConfig(mirror=False))
    rng = np.random.default_rng(13)
    rotations = []
    # 2 cm of white noise: its root mean square length, so 2 / sqrt(3) cm on each axis.
    noise_m = 0.02 / np.sqrt(3.0)
    for i, elbow in enumerate(elbow_sweep_deg()):
        pose = with_arm(Pose(), 0, shoulder=arm, elbow=float(elbow))
        frame = human.pose_frame(pose, world_noise_m=noise_m, rng=rng, timestamp_s=i / FPS, index=i)
        shown = solver(frame)
        rotations.append(shown.local_rotations[[INDEX[bone] for bone in ARM_BONES]])
    stacked = np.array(rotations)
    steps_deg = [
        np.degrees(
            (
                Rotation.from_quat(stacked[1:, b]).inv() * Rotation.from_quat(stacked[:-1, b])
            ).magnitude()
        ).max()
        for b in range(len(ARM_BONES))
    ]
    twists_deg = [abs(twist_deg(q)) for q in stacked[:, 0]]
    assert max(steps_deg) < 40.0, dict(zip(ARM_BONES, steps_deg, strict=True))
    assert max(twists_deg) < 90.0


def test_a_one_sided_shrug_lifts_that_shoulder_and_leaves_the_spine() -> None:
    neutral, shrugged = solved(Pose()), solved(with_arm(Pose(), 0, shrug_m=0.04))
    spine = ("Spine", "Chest", "UpperChest")

    def turned(frame: AvatarFrame, bones: tuple[str, ...]) -> Rotation:
        return Rotation.from_quat(frame.local_rotations[[INDEX[bone] for bone in bones]])

    spine_change = turned(shrugged, spine) * turned(neutral, spine).inv()
    assert np.degrees(spine_change.magnitude()).sum() < 3.0
    shoulder_change = turned(shrugged, ("LeftShoulder",)) * turned(neutral, ("LeftShoulder",)).inv()
    assert np.degrees(shoulder_change.magnitude()[0]) > 5.0
    positions, _ = avatar_points(shrugged)
    rest_positions, _ = avatar_points(neutral)
    shoulder = INDEX["LeftUpperArm"]
    assert positions[shoulder, 1] - rest_positions[shoulder, 1] > 0.02


def hand_axes(
    wrist: Array, middle_knuckle: Array, index_knuckle: Array, little_knuckle: Array
) -> Array:
    """Rows: along the middle finger, the knuckle line's part across it, their cross product."""
    along = (middle_knuckle - wrist) / np.linalg.norm(middle_knuckle - wrist)
    across = little_knuckle - index_knuckle
    across = across - along * np.dot(across, along)
    across /= np.linalg.norm(across)
    return np.array([along, across, np.cross(along, across)])


THUMB_BONES = ("LeftThumbProximal", "LeftThumbIntermediate", "LeftThumbDistal")


def thumb_tip_error_m(thumb: Thumb) -> float:
    """The human's thumb drawn with the avatar's solved thumb directions (in each one's hand
    axes) from the human's own base and lengths: how far its tip lands from the human's."""
    pose = with_arm(Pose(), 0, thumb=thumb)
    hand = human.pose_points(pose).hands[0] * TO_AVATAR
    positions, tips = avatar_points(solved(pose))
    joints = [positions[INDEX[name]] for name in THUMB_BONES] + [tips[INDEX[THUMB_BONES[-1]]]]
    avatar_axes = hand_axes(*(positions[INDEX[f"Left{n}"]] for n in (
        "Hand", "MiddleProximal", "IndexProximal", "LittleProximal")))  # fmt: skip
    human_axes = hand_axes(hand[0], hand[9], hand[5], hand[17])
    tip = hand[1].copy()
    for (start, end), length in zip(itertools.pairwise(joints), human.THUMB_M, strict=True):
        direction = avatar_axes @ (end - start) / np.linalg.norm(end - start)
        tip += length * (human_axes.T @ direction)
    return float(np.linalg.norm(tip - hand[4]))


THUMBS = {
    "folded in the palm's plane": Thumb(mcp=30.0, ip=30.0),
    "in opposition": Thumb(out_of_plane=45.0, pronation=60.0, mcp=25.0, ip=20.0),
    "straight, out of the palm's plane": Thumb(out_of_plane=40.0),
}


@pytest.mark.parametrize("name", THUMBS)
def test_the_thumb_comes_back_as_posed(name: str) -> None:
    assert thumb_tip_error_m(THUMBS[name]) < 0.01


def test_a_finger_bent_backward_is_not_shown_bent_forward() -> None:
    bent_back = Finger(middle=-25.0)
    pose = with_arm(Pose(), 0, fingers=(bent_back, Finger(), Finger(), Finger()))
    shown = solved(pose)
    # The intermediate phalanx relative to the proximal: the left hand's fingers lie along -X at
    # rest with the palm facing -Y, so folding toward the palm turns -X toward -Y.
    direction = Rotation.from_quat(shown.local_rotations[INDEX["LeftIndexIntermediate"]]).apply(
        [-1.0, 0.0, 0.0]
    )
    flexion_deg = np.degrees(np.arctan2(-direction[1], -direction[0]))
    assert flexion_deg <= 0.5


def test_the_real_thumbs_up_points_up() -> None:
    """tests/data's recording of the thumbs-up video (its landmarks; no model): the subject's
    right thumb points up, within 30 degrees, over the frames with that hand."""
    reader = RecordingReader(DATA / "recording_thumbs_up.jsonl.gz")
    solver = AvatarSolver(ONE_FRAME)
    angles = []
    for recorded in reader.frames(lambda number, problem: pytest.fail(f"{number}: {problem}")):
        if not is_present(recorded.pose.right_hand):
            continue
        positions, tips = avatar_points(solver(recorded.pose))
        distal = INDEX["RightThumbDistal"]
        angles.append(angle_deg(tips[distal] - positions[distal], [0.0, 1.0, 0.0]))
    assert len(angles) >= 5
    assert np.median(angles) < 30.0, angles
