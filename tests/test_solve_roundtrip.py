"""Forward-kinematics round trips: pose the avatar, make the landmarks MediaPipe would report for
it (tests.synthetic), solve, pose the avatar with the solved rotations: every bone must point
where it pointed (within 5 degrees). Also left/right and the mirror."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import pytest
from scipy.spatial.transform import Rotation

from mocap.config import SolverConfig
from mocap.frames import frozen
from mocap.solve import AvatarFrame, AvatarSolver, humanoid
from mocap.solve.body import FOREARM_SHARE_OF_TWIST
from mocap.solve.face import EYES
from mocap.solve.humanoid import BONES, FINGERS, INDEX, PHALANGES, forward_kinematics
from mocap.solve.solver import NECK_SHARE
from mocap.solve.spaces import mirror_rotations
from tests import synthetic
from tests.support import angle_deg
from tests.synthetic import posed, turn

Array = npt.NDArray[np.float64]
TOLERANCE_DEG = 5.0
# Geometry only: no easing in (a first frame would otherwise start at rest).
GEOMETRY = SolverConfig(mirror=False, hold_s=0.0, ease_s=0.0)


def head_turned(yaw_deg: float, pitch_deg: float, roll_deg: float) -> Array:
    """The head's turn relative to the chest, shared by Neck and Head as the solver shares it."""
    turned = Rotation.from_euler("YXZ", [yaw_deg, pitch_deg, roll_deg], degrees=True)
    neck = Rotation.from_rotvec(turned.as_rotvec() * NECK_SHARE).as_quat()
    head = Rotation.from_rotvec(turned.as_rotvec() * (1 - NECK_SHARE)).as_quat()
    return posed(Neck=neck, Head=head)


def fingers(curl_deg: float, spread_deg: float = 0.0, thumb_curl_deg: float = 0.0) -> Array:
    """Both hands: each finger curled by curl_deg at each joint, toward the palm (about +Z for the
    left hand's fingers along -X, -Z for the right's), the outer fingers spread apart."""
    local = humanoid.REST_ROTATIONS.copy()
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        for finger, spread in zip(FINGERS[1:], (1.0, 0.0, -0.5, -1.0), strict=True):
            for phalanx in PHALANGES:
                spread_now = spread * spread_deg if phalanx == "Proximal" else 0.0
                rotation = turn("zy", sign * curl_deg, sign * spread_now)
                local[INDEX[f"{side}{finger}{phalanx}"]] = rotation
        # The thumb folds about its own hinge: its direction crossed with the palm's normal.
        hinge = np.cross([sign * -1.0, 0, 1.0], [0, -1.0, 0]) / np.sqrt(2)
        for phalanx in PHALANGES[1:]:
            bend = Rotation.from_rotvec(hinge * np.radians(thumb_curl_deg)).as_quat()
            local[INDEX[f"{side}Thumb{phalanx}"]] = bend
    return local


POSES = {
    "t_pose": humanoid.REST_ROTATIONS,
    "arms_down": posed(LeftUpperArm=turn("z", 85), RightUpperArm=turn("z", -85)),
    # The avatar faces +Z: its left arm rests along -X, its right along +X. About +Y, -X turns to
    # +Z (forward) and +X to -Z, so a left arm reaches forward by +90 about Y, a right by -90.
    "left_arm_raised_to_the_front": posed(LeftUpperArm=turn("y", 90)),
    "right_arm_raised_to_the_side": posed(RightUpperArm=turn("z", 90)),
    # Arms hanging (turned about Z, which keeps a forearm's forward turn about Y a forward one).
    "arms_down_elbows_bent_90": posed(
        LeftUpperArm=turn("z", 80),
        LeftLowerArm=turn("y", 90),
        RightUpperArm=turn("z", -80),
        RightLowerArm=turn("y", -90),
    ),
    "arm_hanging_elbow_bent_50_forward": posed(
        LeftUpperArm=turn("z", 85), LeftLowerArm=turn("y", 50)
    ),
    "forearm_bent_90_in_the_t_pose": posed(LeftLowerArm=turn("y", 90)),
    # Forward, then 30 degrees down about X (which takes +Z toward -Y): a reach across a desk.
    "right_arm_reaching_forward_and_down": posed(RightUpperArm=turn("yx", -90, 30)),
    "head_turned_30_and_tilted": head_turned(30, 10, 15),
    "sitting_knees_bent": posed(
        LeftUpperLeg=turn("x", -80),
        LeftLowerLeg=turn("x", 85),
        RightUpperLeg=turn("x", -75),
        RightLowerLeg=turn("x", 90),
    ),
    "one_knee_bent": posed(LeftLowerLeg=turn("x", 70)),
    "fists": fingers(75.0, thumb_curl_deg=40.0),
    "open_hands_spread": fingers(0.0, spread_deg=12.0),
    "hands_turned_and_bent": posed(
        LeftHand=turn("xz", 70, 30),
        RightHand=turn("xy", -120, 25),
        LeftUpperArm=turn("z", 60),
        RightUpperArm=turn("yz", 40, -30),
    ),
}


def bone_directions(local: Array) -> dict[str, Array]:
    """Unit direction of every bone with an extent: from its joint to its children's mean joint
    (or to its tip, for a leaf)."""
    positions, world_rotations = forward_kinematics(local)
    tips = humanoid.tip_positions(positions, world_rotations)
    directions = {}
    for bone, name in enumerate(BONES):
        children = np.flatnonzero(bone == humanoid.PARENTS)
        end = positions[children].mean(axis=0) if children.size else tips[bone]
        extent = end - positions[bone]
        if np.linalg.norm(extent) > 1e-6:
            directions[name] = extent / np.linalg.norm(extent)
    return directions


def solved(local: Array, config: SolverConfig = GEOMETRY) -> AvatarFrame:
    return AvatarSolver(config)(synthetic.pose_frame(local))


@pytest.mark.parametrize("pose", POSES, ids=str)
def test_every_bone_points_where_it_was_posed(pose: str) -> None:
    expected = bone_directions(POSES[pose])
    got = bone_directions(solved(POSES[pose]).local_rotations)
    errors = {name: angle_deg(expected[name], got[name]) for name in expected}
    worst = max(errors, key=errors.__getitem__)
    assert errors[worst] < TOLERANCE_DEG, f"{worst} is off by {errors[worst]:.1f} degrees"


@pytest.mark.parametrize(
    ("pose", "hand"),
    [
        ("left_arm_raised_to_the_front", "LeftHand"),
        ("arms_down_elbows_bent_90", "LeftHand"),
        ("arms_down_elbows_bent_90", "RightHand"),
        ("arm_hanging_elbow_bent_50_forward", "LeftHand"),
        ("forearm_bent_90_in_the_t_pose", "LeftHand"),
        ("right_arm_reaching_forward_and_down", "RightHand"),
    ],
)
def test_a_forward_pose_puts_the_hand_in_front_of_the_chest(pose: str, hand: str) -> None:
    """The poses do what their names say: the avatar faces +Z, so in front is +Z."""
    positions, _ = forward_kinematics(POSES[pose])
    assert positions[INDEX[hand], 2] - positions[INDEX["Chest"], 2] > 0.15


def test_the_head_turns_as_the_face_does() -> None:
    local = POSES["head_turned_30_and_tilted"]
    _, expected = forward_kinematics(local)
    _, got = forward_kinematics(solved(local).local_rotations)
    head = INDEX["Head"]
    error = Rotation.from_quat(expected[head]).inv() * Rotation.from_quat(got[head])
    assert error.magnitude() < np.radians(TOLERANCE_DEG)


def test_a_hands_turn_is_shared_by_the_forearm_and_the_wrist() -> None:
    """Turning the palm over is the forearm's twist, which avatars without twist bones show best
    half at the elbow and half at the wrist; the hand still ends where it was turned."""
    local = posed(LeftHand=turn("x", 120))
    frame = solved(local)
    hand = Rotation.from_quat(frame.local_rotations[INDEX["LeftHand"]])
    forearm = Rotation.from_quat(frame.local_rotations[INDEX["LeftLowerArm"]])
    share = np.radians(120 * FOREARM_SHARE_OF_TWIST)
    assert hand.magnitude() == pytest.approx(np.radians(120) - share, abs=np.radians(1.0))
    assert forearm.magnitude() == pytest.approx(share, abs=np.radians(1.0))
    _, world = forward_kinematics(frame.local_rotations)
    expected = Rotation.from_quat(forward_kinematics(local)[1][INDEX["LeftHand"]])
    error = expected.inv() * Rotation.from_quat(world[INDEX["LeftHand"]])
    assert error.magnitude() < np.radians(1.0)


def test_hips_sink_when_the_knees_fold_so_the_feet_stay_down() -> None:
    standing = solved(POSES["t_pose"]).local_positions[INDEX["Hips"], 1]
    sitting = solved(POSES["sitting_knees_bent"])
    positions, _ = forward_kinematics(
        sitting.local_rotations, local_positions=sitting.local_positions
    )
    rest_positions, _ = forward_kinematics(humanoid.REST_ROTATIONS)
    assert sitting.local_positions[INDEX["Hips"], 1] < standing - 0.2
    lowest_ankle = positions[[INDEX["LeftFoot"], INDEX["RightFoot"]], 1].min()
    assert lowest_ankle == pytest.approx(rest_positions[INDEX["LeftFoot"], 1], abs=0.01)


def raised_hand_side(frame: AvatarFrame) -> str:
    positions, _ = forward_kinematics(frame.local_rotations)
    left, right = positions[[INDEX["LeftHand"], INDEX["RightHand"]], 1]
    head = positions[INDEX["Head"], 1]
    assert max(left, right) > head > min(left, right)
    return "Left" if left > right else "Right"


def test_a_raised_right_hand_raises_the_avatars_right_hand_without_mirror() -> None:
    subject = posed(RightUpperArm=turn("z", 90))  # the subject raises their right hand
    frame = synthetic.pose_frame(subject)
    wrist, shoulder = frame.pose[16], frame.pose[12]
    assert wrist[1] < shoulder[1] and wrist[0] < 0.5  # up, on the image's left: their right
    assert raised_hand_side(solved(subject)) == "Right"


def test_a_raised_right_hand_raises_the_avatars_left_hand_in_the_mirror() -> None:
    subject = posed(RightUpperArm=turn("z", 90))
    mirrored = SolverConfig(mirror=True, hold_s=0.0, ease_s=0.0)
    assert raised_hand_side(solved(subject, mirrored)) == "Left"


def test_the_mirror_reflects_every_bone_and_swaps_the_sides_of_expressions() -> None:
    subject = posed(
        RightUpperArm=turn("zy", 60, 20),
        LeftLowerArm=turn("y", -70),
        LeftUpperLeg=turn("x", -40),
        Neck=turn("y", 12),
        Head=turn("y", 18),
    )
    frame = synthetic.pose_frame(subject)
    wink = np.array(frame.face)
    _, _, left_lids = EYES[1]  # the subject's left eye, closed
    for upper_lid, lower_lid in left_lids:
        wink[upper_lid] = wink[lower_lid]
    frame = dataclasses.replace(frame, face=frozen(wink, *wink.shape))
    plain = AvatarSolver(GEOMETRY)(frame)
    mirrored = AvatarSolver(SolverConfig(mirror=True, hold_s=0.0, ease_s=0.0))(frame)
    np.testing.assert_allclose(
        mirrored.local_rotations, mirror_rotations(plain.local_rotations.tolist())
    )
    assert plain.blendshapes["Blink_L"] > 0.5 and plain.blendshapes["Blink_R"] == 0.0
    assert mirrored.blendshapes["Blink_R"] == plain.blendshapes["Blink_L"]
    assert mirrored.blendshapes["LookLeft"] == plain.blendshapes["LookRight"]
