"""VRChat's OSC trackers from first principles: an independently posed person (tests/human.py),
the solver, the encoder, python-osc's parser on a real UDP socket; each tracker's rotation rebuilt
with scipy's from_euler('zxy', [z, x, y]) (Unity's order: Z, then X, then Y about the fixed axes)
and compared with the solved bone."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt
import pytest
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from scipy.spatial.transform import Rotation

from mocap.addresses import HostPort
from mocap.config import VRCHAT_TRACKERS, SolverConfig
from mocap.encode.vrchat import TRACKERS, VrchatEncoder, VrchatSettings
from mocap.frames import PoseFrame, is_present
from mocap.publish.sinks import Published, VrchatSink
from mocap.publish.udp import resolve
from mocap.recording.reader import RecordingReader
from mocap.solve.avatar import AvatarFrame
from mocap.solve.humanoid import INDEX, forward_kinematics
from mocap.solve.solver import AvatarSolver
from tests import human
from tests.human import Leg, Pose, X, Y, Z, turn, with_arm
from tests.runs import DATA, UdpCollector
from tests.support import type_tags, wait_until

Array = npt.NDArray[np.float64]
ALL = tuple(VRCHAT_TRACKERS)
SLOT = {name: slot for slot, name in enumerate(ALL, start=1)}
ONE_FRAME = SolverConfig(hold_s=0.0, ease_s=0.0)  # the pose as measured, at once
RECORDING = DATA / "recording_thumbs_up.jsonl.gz"

SEATED = Leg(hip=turn(X, -90.0), knee=90.0)
RIGHT_FOOT_RAISED = Pose(legs=(Leg(), Leg(hip=turn(X, -70.0), knee=80.0)))
POSES = {
    "standing": Pose(),
    "right foot raised": RIGHT_FOOT_RAISED,
    "seated": Pose(legs=(SEATED, SEATED)),
    "arms out": with_arm(with_arm(Pose(), 0, shoulder=turn(Z, 80.0)), 1, shoulder=turn(Z, 80.0)),
    "turned away 40 degrees": Pose(pelvis=turn(Y, 40.0)),
}


def sent(datagram: bytes | None) -> dict[str, list[float]]:
    """A bundle as {address: arguments}, parsed by python-osc."""
    assert datagram is not None
    return {m.address: list(m.params) for m in OscBundle(datagram) if isinstance(m, OscMessage)}


def encode_one(
    pose: Pose, *, mirror: bool = False, height_m: float = 1.72, trackers: tuple[str, ...] = ALL
) -> dict[str, list[float]]:
    frame = human.pose_frame(pose)
    avatar = AvatarSolver(dataclasses.replace(ONE_FRAME, mirror=mirror))(frame)
    settings = VrchatSettings(trackers, height_m=height_m, mirrored=mirror)
    return sent(VrchatEncoder(settings).encode(frame, avatar, 0.0))


def position(messages: dict[str, list[float]], tracker: str) -> Array:
    slot = "head" if tracker == "head" else SLOT[tracker]
    return np.array(messages[f"/tracking/trackers/{slot}/position"])


def rotation(messages: dict[str, list[float]], tracker: str) -> Rotation:
    """The sent Euler angles (x, y, z) rebuilt as Unity applies them: Z, then X, then Y."""
    slot = "head" if tracker == "head" else SLOT[tracker]
    x, y, z = messages[f"/tracking/trackers/{slot}/rotation"]
    return Rotation.from_euler("zxy", [z, x, y], degrees=True)


def solved_world(avatar: AvatarFrame, bone: str) -> Rotation:
    _, world = forward_kinematics(avatar.local_rotations)
    return Rotation.from_quat(world[INDEX[bone]])


def test_the_tracker_names_are_the_configs() -> None:
    assert tuple(TRACKERS) == ALL
    assert ALL[:3] == ("hip", "left_foot", "right_foot")  # SlimeVR's slots 1..3


@pytest.mark.parametrize("name", POSES)
def test_head_above_hips_above_feet(name: str) -> None:
    messages = encode_one(POSES[name])
    head, hip, chest = (position(messages, t)[1] for t in ("head", "hip", "chest"))
    feet = [position(messages, t)[1] for t in ("left_foot", "right_foot")]
    assert head > chest > hip > max(feet), (head, chest, hip, feet)
    assert min(feet) > -0.1  # the floor is y = 0
    # The chest tracker is on the upper chest, well above the middle of the spine.
    assert chest - hip > 0.6 * human.SPINE_M


@pytest.mark.parametrize("name", POSES)
def test_every_rotation_is_its_solved_bone_rebuilt_from_the_angles(name: str) -> None:
    frame = human.pose_frame(POSES[name])
    avatar = AvatarSolver(ONE_FRAME)(frame)
    messages = sent(VrchatEncoder(VrchatSettings(ALL)).encode(frame, avatar, 0.0))
    bones = {name: tracker.bone for name, tracker in TRACKERS.items()} | {"head": "Head"}
    for tracker, bone in bones.items():
        error = rotation(messages, tracker) * solved_world(avatar, bone).inv()
        assert error.magnitude() < math.radians(0.01), (tracker, bone)


def test_the_body_s_turn_is_kept() -> None:
    hips = rotation(encode_one(POSES["turned away 40 degrees"]), "hip")
    forward = hips.apply([0.0, 0.0, 1.0])
    # The person turned to their left (toward -X in Unity, whose +X is the subject's right).
    assert math.degrees(math.atan2(forward[0], forward[2])) == pytest.approx(-40.0, abs=5.0)


def test_the_raised_right_foot_is_on_the_side_the_hips_call_right() -> None:
    messages = encode_one(RIGHT_FOOT_RAISED)
    right, left, hip = (position(messages, t) for t in ("right_foot", "left_foot", "hip"))
    assert right[1] > left[1] + 0.2  # the raised foot is the right foot tracker
    hips_right = rotation(messages, "hip").apply([1.0, 0.0, 0.0])  # Unity's +X: the body's right
    assert np.dot(right - hip, hips_right) > 0.05
    assert np.dot(left - hip, hips_right) < -0.05


@pytest.mark.parametrize("name", ["standing", "seated", "arms out"])
def test_distances_scale_with_the_height(name: str) -> None:
    short, tall = encode_one(POSES[name], height_m=1.5), encode_one(POSES[name], height_m=1.9)
    body = human.pose_points(POSES[name]).pose  # metres, y up, the human's own height is 1.72
    pairs = [("head", "left_foot", (2, 5), (27,)), ("hip", "right_knee", (23, 24), (26,)),
             ("left_elbow", "right_elbow", (13,), (14,))]  # fmt: skip
    for a, b, i, j in pairs:
        sent_m = {
            h: np.linalg.norm(position(m, a) - position(m, b))
            for h, m in ((1.5, short), (1.9, tall))
        }
        assert sent_m[1.9] / sent_m[1.5] == pytest.approx(1.9 / 1.5, rel=0.1), (a, b)
        real_m = np.linalg.norm(body[list(i)].mean(axis=0) - body[list(j)].mean(axis=0))
        assert sent_m[1.9] / 1.9 == pytest.approx(real_m / 1.72, rel=0.1), (a, b)


def test_a_mirrored_avatar_sends_the_same_trackers_as_an_unmirrored_one() -> None:
    # The right arm raised forward: the subject's right elbow drives the right elbow tracker.
    pose = with_arm(Pose(), 1, shoulder=turn(X, -80.0), elbow=30.0)
    plain, mirrored = encode_one(pose), encode_one(pose, mirror=True)
    assert set(plain) == set(mirrored)
    for address, values in plain.items():
        assert values == pytest.approx(mirrored[address], abs=1e-4), address
    right_elbow, left_elbow = position(plain, "right_elbow"), position(plain, "left_elbow")
    assert right_elbow[0] > 0.1 and right_elbow[2] > left_elbow[2] + 0.15  # out front, on +X


def test_chosen_trackers_fill_the_slots_in_their_order() -> None:
    messages = encode_one(Pose(), trackers=("hip", "left_foot", "right_foot"))
    slots = {address.split("/")[3] for address in messages}
    assert slots == {"1", "2", "3", "head"}


def frame_at(pose: Pose, t_s: float, **changes: object) -> PoseFrame:
    return dataclasses.replace(human.pose_frame(pose, timestamp_s=t_s), **changes)  # type: ignore[arg-type]


def test_a_lost_part_is_held_then_no_longer_sent() -> None:
    encoder = VrchatEncoder(VrchatSettings(ALL, hold_s=0.5))
    solver = AvatarSolver(ONE_FRAME)
    seen = human.pose_frame(Pose())
    first = sent(encoder.encode(seen, solver(seen), 0.0))
    hidden = seen.pose_world.copy()
    hidden[[25, 26, 27, 28], 3] = 0.1  # knees and ankles out of the picture
    legs_hidden = dataclasses.replace(seen, pose_world=hidden)
    held = sent(encoder.encode(legs_hidden, solver(legs_hidden), 0.4))
    assert held["/tracking/trackers/2/position"] == first["/tracking/trackers/2/position"]
    gone = sent(encoder.encode(legs_hidden, solver(legs_hidden), 0.6))
    assert {a.split("/")[3] for a in gone} == {"1", "6", "7", "8", "head"}
    nobody = PoseFrame.empty(3, 0.7, seen.image_size, 478)
    assert sent(encoder.encode(nobody, solver(nobody), 0.7)).keys() == gone.keys()  # held
    assert encoder.encode(nobody, solver(nobody), 1.2) is None


def test_never_a_non_finite_value() -> None:
    encoder = VrchatEncoder(VrchatSettings(ALL))
    frame = human.pose_frame(Pose())
    avatar = AvatarSolver(ONE_FRAME)(frame)
    broken = frame.pose_world.copy()
    broken[27, 0] = np.inf
    broken_frame = dataclasses.replace(frame, pose_world=broken)
    assert encoder.encode(broken_frame, avatar, 0.0) is None  # no stature measured yet: nothing
    good = sent(encoder.encode(frame, avatar, 0.1))
    messages = sent(encoder.encode(broken_frame, avatar, 0.2))  # its tracker held, as if lost
    assert messages["/tracking/trackers/2/position"] == good["/tracking/trackers/2/position"]
    assert messages.keys() == good.keys()
    assert all(math.isfinite(v) for values in messages.values() for v in values)


def test_the_recording_over_udp_conforms_to_vrchat_s_addresses_and_types() -> None:
    """A real recording (face found: the eyes too) through the sink to a socket on 127.0.0.1."""
    reader = RecordingReader(RECORDING)
    frames = [f for f in reader.frames(lambda *_: None) if f.avatar is not None]
    assert frames
    with UdpCollector() as receiver:
        sink = VrchatSink([resolve(HostPort("127.0.0.1", receiver.port))], VrchatSettings(ALL))
        for frame in frames:
            sink.publish(Published(frame.seq, frame.t_s, frame.pose, frame.avatar, 0.0))
        sink.close()
        wait_until(lambda: len(receiver.datagrams) >= sink.sender.sent, 10.0)
        datagrams = list(receiver.datagrams)
    assert len(datagrams) == len(frames)
    trackers = {f"/tracking/trackers/{slot}/{kind}" for slot in (*range(1, 9), "head")
                for kind in ("position", "rotation")}  # fmt: skip
    eyes = {"/tracking/eye/EyesClosedAmount": ",f", "/tracking/eye/CenterPitchYaw": ",ff"}
    with_eyes = 0
    for datagram, frame_by_datagram in zip(datagrams, frames, strict=True):
        messages = [m for m in OscBundle(datagram) if isinstance(m, OscMessage)]
        addresses = {m.address for m in messages}
        assert addresses <= trackers | set(eyes)
        for message in messages:
            assert type_tags(message) == eyes.get(message.address, ",fff")
            assert all(math.isfinite(v) for v in message.params)
        values = {m.address: m.params for m in messages}
        if "/tracking/eye/EyesClosedAmount" in values:
            with_eyes += 1
            assert 0.0 <= values["/tracking/eye/EyesClosedAmount"][0] <= 1.0
            assert all(abs(angle) <= 90.0 for angle in values["/tracking/eye/CenterPitchYaw"])
        if is_present(frame_by_datagram.pose.pose_world):
            assert {
                "/tracking/trackers/1/position",
                "/tracking/trackers/head/rotation",
            } <= addresses
    assert with_eyes > len(datagrams) // 2


@pytest.mark.parametrize("mirrored", [False, True])
def test_the_gaze_is_vrchat_s_down_and_right_positive(mirrored: bool) -> None:
    """Eyes turned (in Unity's axes, scipy's rotations) down by 15 and toward the subject's right
    by 20 degrees: VRChat's CenterPitchYaw is (15, 20); a mirrored avatar's eyes (the other eye,
    reflected) say the same."""
    frame = dataclasses.replace(human.pose_frame(Pose()), face=np.zeros((478, 3), np.float32))
    avatar = AvatarSolver(dataclasses.replace(ONE_FRAME, mirror=mirrored))(frame)
    # Unity's +Y is up and +X the subject's right: turning +Z toward +X about +Y is a turn right,
    # and toward -Y about +X is a look down.
    gaze = Rotation.from_euler("YX", [20.0, 15.0], degrees=True).as_quat()
    if mirrored:  # the avatar's own right eye is the subject's left, seen in a mirror
        gaze = gaze * np.array([1.0, -1.0, -1.0, 1.0])
    rotations = avatar.local_rotations.copy()
    rotations[[INDEX["LeftEye"], INDEX["RightEye"]]] = gaze
    shapes = {"Blink": 0.2, "Blink_L": 0.4, "Blink_R": 0.0}
    looking = dataclasses.replace(avatar, local_rotations=rotations, blendshapes=shapes)
    messages = sent(VrchatEncoder(VrchatSettings(ALL, mirrored=mirrored)).encode(frame, looking, 0))
    assert messages["/tracking/eye/CenterPitchYaw"] == pytest.approx([15.0, 20.0], abs=0.01)
    # Each eye closes by Blink plus its own excess: 0.6 and 0.2, so 0.4 on average.
    assert messages["/tracking/eye/EyesClosedAmount"] == pytest.approx([0.4], abs=1e-6)
