"""An independent synthetic human: the PoseFrame a camera would get of a posed person.

It shares nothing with mocap.solve (issue 13): its own proportions, its own joint angles, its own
pinhole camera and noise, so that the solver's tests see what a real camera shows, not the
solver's own model run backwards (tests/synthetic.py).

Body frame (metres, right-handed): x the subject's LEFT, y up, z the subject's forward; origin
between the hip landmarks. At rest the person stands with the arms hanging, palms facing the
thighs, thumbs forward, fingers straight down.

Proportions: adult anthropometry (Drillis and Contini's segment fractions of a 1.72 m height,
rounded), but for the hips, which are placed where MediaPipe's hip landmarks sit on real people
(its landmarks are ~0.3 m apart, wider than the joints; tests/data's recording measures 0.31 m).

Camera: a pinhole (60 degrees across 1280 px) in front of the person, pitched by camera_pitch_deg
(down when positive). MediaPipe's conventions, checked against tests/data's real recording: world
landmarks are metres about the hip centre in the camera's axes (x to the image's right, which is
the subject's left; y down; z away from the camera, so the nose of a person facing it is at
negative z); image landmarks are x, y in [0, 1] of the width and height and a z on the width's
scale, relative to the hips (pose) or the wrist (hands).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from mocap.frames import ImageSize, PoseFrame, absent, frozen

Array = npt.NDArray[np.float64]

IMAGE = ImageSize(1280, 720)
FOCAL_PX = (IMAGE.width / 2) / np.tan(np.radians(30.0))
CAMERA_DISTANCE_M = 3.2  # from the hip centre, along the subject's forward
CAMERA_HEIGHT_M = 0.15  # above the hip centre

# Segment lengths, metres.
HIP_LANDMARKS_APART_M = 0.30
SPINE_M = 0.47  # hip centre to the shoulders' midpoint
SHOULDERS_APART_M = 0.38
CLAVICLE_M = 0.16  # sternoclavicular joint to the shoulder, which a shrug turns
NECK_M = 0.16  # shoulders' midpoint to the ears
UPPER_ARM_M = 0.30
FOREARM_M = 0.25
THIGH_M = 0.43
SHIN_M = 0.41
HEEL_BACK_M, TOES_FORWARD_M, ANKLE_HIGH_M = 0.05, 0.16, 0.07
# Hand (wrist to each knuckle: along the fingers and across the palm, from the middle finger),
# and each finger's phalanges; the thumb from its carpometacarpal joint.
KNUCKLES_M = {"index": (0.090, 0.025), "middle": (0.092, 0.004), "ring": (0.086, -0.016),
              "little": (0.078, -0.034)}  # fmt: skip
PHALANGES_M = {"index": (0.043, 0.025, 0.021), "middle": (0.047, 0.029, 0.023),
               "ring": (0.044, 0.028, 0.022), "little": (0.034, 0.020, 0.019)}  # fmt: skip
THUMB_BASE_M = (0.028, 0.020)  # CMC from the wrist: along the fingers, toward the thumb side
THUMB_M = (0.046, 0.032, 0.027)  # metacarpal, proximal phalanx, distal phalanx (to the tip)
THUMB_REST_FROM_FINGERS_DEG = 40.0  # in the palm's plane, toward the thumb side

X, Y, Z = np.eye(3)
SIDES = ("left", "right")
FINGERS = ("index", "middle", "ring", "little")


def turn(axis: Array, degrees: float) -> Rotation:
    """The rotation by degrees about a unit axis (right-handed)."""
    return Rotation.from_rotvec(np.asarray(axis) * np.radians(degrees))


@dataclass(frozen=True)
class Finger:
    """Flexion (toward the palm) at the three joints, degrees, and spread at the knuckle."""

    knuckle: float = 0.0
    middle: float = 0.0
    end: float = 0.0


@dataclass(frozen=True)
class Thumb:
    """The thumb's base: swing in the palm's plane (positive away from the fingers) and out of it
    (positive toward the palm's front: palmar abduction), and its axial turn (pronation, as in
    opposition); then flexion at its two hinges, about the base's own hinge axis."""

    in_plane: float = 0.0
    out_of_plane: float = 0.0
    pronation: float = 0.0
    mcp: float = 0.0
    ip: float = 0.0


@dataclass(frozen=True)
class Arm:
    """The upper arm's turn from hanging (in the torso's frame, body axes as if for the left arm:
    the right arm's is mirrored), the elbow's flexion (negative: hyperextension), the forearm's
    pronation, the wrist's flexion (toward the palm) and the fingers."""

    shoulder: Rotation = field(default_factory=Rotation.identity)
    elbow: float = 0.0
    pronation: float = 0.0
    wrist: float = 0.0
    fingers: tuple[Finger, Finger, Finger, Finger] = (Finger(), Finger(), Finger(), Finger())
    thumb: Thumb = Thumb()
    shrug_m: float = 0.0  # how far the shoulder rises


@dataclass(frozen=True)
class Leg:
    """The thigh's turn from standing (as for the left leg; the right's mirrored) and the knee's
    flexion."""

    hip: Rotation = field(default_factory=Rotation.identity)
    knee: float = 0.0


@dataclass(frozen=True)
class Pose:
    """The pelvis's and torso's turns (body axes) and the limbs."""

    pelvis: Rotation = field(default_factory=Rotation.identity)
    torso: Rotation = field(default_factory=Rotation.identity)  # relative to the pelvis
    arms: tuple[Arm, Arm] = (Arm(), Arm())
    legs: tuple[Leg, Leg] = (Leg(), Leg())


def with_arm(pose: Pose, side: int, **changes: object) -> Pose:
    arms = list(pose.arms)
    arms[side] = dataclasses.replace(arms[side], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(pose, arms=(arms[0], arms[1]))


def _mirrored(rotation: Rotation) -> Rotation:
    """A left-side turn made for the right side: reflected across the body's midplane (x)."""
    rotvec = rotation.as_rotvec()
    return Rotation.from_rotvec(rotvec * np.array([1.0, -1.0, -1.0]))


@dataclass(frozen=True)
class Body:
    """The posed person's points, body frame: the 33 pose points and both hands' 21."""

    pose: Array
    hands: tuple[Array, Array]


def pose_points(pose: Pose) -> Body:
    points = np.zeros((33, 3))
    pelvis = pose.pelvis
    torso = pelvis * pose.torso
    points[23] = pelvis.apply(X * HIP_LANDMARKS_APART_M / 2)
    points[24] = pelvis.apply(-X * HIP_LANDMARKS_APART_M / 2)
    neck_base = torso.apply(Y * SPINE_M)
    _head(points, neck_base, torso)
    hands = []
    for side, (arm, sign) in enumerate(zip(pose.arms, (1.0, -1.0), strict=True)):
        hands.append(_arm(points, side, arm, sign=sign, neck_base=neck_base, torso=torso))
    for side, leg in enumerate(pose.legs):
        _leg(points, side, leg, hip=points[23 + side], pelvis=pelvis)
    return Body(points, (hands[0], hands[1]))


def _head(points: Array, neck_base: Array, torso: Rotation) -> None:
    ears = neck_base + torso.apply(Y * NECK_M)
    face = {0: (0.0, 0.0, 0.10), 1: (0.015, 0.035, 0.085), 2: (0.032, 0.035, 0.08),
            3: (0.045, 0.035, 0.07), 7: (0.075, 0.0, 0.0), 9: (0.025, -0.04, 0.085)}  # fmt: skip
    for landmark, (x, y, z) in face.items():
        points[landmark] = ears + torso.apply((x, y, z))
        mirror = {0: 0, 1: 4, 2: 5, 3: 6, 7: 8, 9: 10}[landmark]
        points[mirror] = ears + torso.apply((-x, y, z))


def _arm(
    points: Array, side: int, arm: Arm, *, sign: float, neck_base: Array, torso: Rotation
) -> Array:
    """The arm's pose points; returns the hand's 21 points."""
    lateral = X * sign
    joint = neck_base + torso.apply(lateral * (SHOULDERS_APART_M / 2 - CLAVICLE_M))
    rise = np.arcsin(arm.shrug_m / CLAVICLE_M)
    clavicle = torso.apply(lateral * np.cos(rise) + Y * np.sin(rise)) * CLAVICLE_M
    shoulder = joint + clavicle
    own = arm.shoulder if side == 0 else _mirrored(arm.shoulder)
    upper = torso * own
    elbow = shoulder + upper.apply(-Y * UPPER_ARM_M)
    # Elbow flexion turns the forearm forward (about the lateral axis, x for both arms).
    forearm = upper * turn(X, -arm.elbow)
    wrist = elbow + forearm.apply(-Y * FOREARM_M)
    # Pronation turns the palm (facing the thigh at rest) backward: about the forearm's axis,
    # -y pointing down the arm, the left palm (-x) toward -z.
    pronated = forearm * turn(Y, -sign * arm.pronation)
    hand_frame = pronated * turn(Z, -sign * arm.wrist)
    hand = _hand(arm, sign, wrist, hand_frame)
    points[11 + side], points[13 + side], points[15 + side] = shoulder, elbow, wrist
    points[17 + side], points[19 + side], points[21 + side] = hand[17], hand[5], hand[2]
    return hand


def _hand(arm: Arm, sign: float, wrist: Array, frame: Rotation) -> Array:
    """21 points. Hand axes at rest: fingers along -y, the thumb's side +z, the palm facing
    -x * sign (toward the body's midline)."""
    palm_normal = -X * sign
    hand = np.zeros((21, 3))
    hand[0] = wrist
    for f, (finger, pose) in enumerate(zip(FINGERS, arm.fingers, strict=True)):
        along_m, across_m = KNUCKLES_M[finger]
        knuckle = -Y * along_m + Z * across_m
        # Flexion turns the finger toward the palm: about z, sign chosen by the palm's side.
        hinge = np.cross(-Y, palm_normal)  # -y turned toward the palm normal about this axis
        bend = Rotation.identity()
        point = knuckle
        hand[5 + 4 * f] = frame.apply(point) + wrist
        for joint, (length, flexion) in enumerate(
            zip(PHALANGES_M[finger], (pose.knuckle, pose.middle, pose.end), strict=True)
        ):
            bend = bend * turn(hinge, flexion)
            point = point + bend.apply(-Y * length)
            hand[6 + 4 * f + joint] = frame.apply(point) + wrist
    along_m, across_m = THUMB_BASE_M
    base = -Y * along_m + Z * across_m
    thumb = arm.thumb
    # At rest the thumb lies in the palm's plane (y-z), THUMB_REST_FROM_FINGERS_DEG from the
    # fingers toward +z; its hinges then fold it in that plane back toward the fingers, about the
    # palm's normal.
    in_plane_axis = np.cross(-Y, Z)  # turning -y toward +z
    rest = turn(in_plane_axis, THUMB_REST_FROM_FINGERS_DEG + thumb.in_plane)
    direction = rest.apply(-Y)
    out_axis = np.cross(direction, palm_normal)  # turns the thumb toward the palm's front
    metacarpal = turn(out_axis, thumb.out_of_plane) * rest
    metacarpal = metacarpal * turn(-Y, sign * thumb.pronation)
    fold_axis = -in_plane_axis  # folds the rest thumb back toward the fingers
    hand[1] = frame.apply(base) + wrist
    point, bend = base, metacarpal
    for joint, (length, flexion) in enumerate(
        zip(THUMB_M, (0.0, thumb.mcp, thumb.ip), strict=True)
    ):
        bend = bend * turn(fold_axis, flexion)
        point = point + bend.apply(-Y * length)
        hand[2 + joint] = frame.apply(point) + wrist
    return hand


def _leg(points: Array, side: int, leg: Leg, *, hip: Array, pelvis: Rotation) -> None:
    own = leg.hip if side == 0 else _mirrored(leg.hip)
    thigh = pelvis * own
    knee = hip + thigh.apply(-Y * THIGH_M)
    shin = thigh * turn(X, leg.knee)  # knee flexion turns the shin backward
    ankle = knee + shin.apply(-Y * SHIN_M)
    points[25 + side], points[27 + side] = knee, ankle
    points[29 + side] = ankle + shin.apply(-Y * ANKLE_HIGH_M - Z * HEEL_BACK_M)
    points[31 + side] = ankle + shin.apply(-Y * ANKLE_HIGH_M + Z * TOES_FORWARD_M)


@dataclass(frozen=True)
class Camera:
    """A pinhole in front of the subject, pitched down by pitch_deg."""

    pitch_deg: float = 0.0

    def to_camera(self, points: Array) -> Array:
        """Body points -> MediaPipe camera axes (x image right, y down, z away), metres from the
        camera."""
        position = np.array([0.0, CAMERA_HEIGHT_M, CAMERA_DISTANCE_M])
        # Looking along -z of the body; pitched down turns its view toward -y.
        looking = turn(X, -self.pitch_deg)
        local: Array = looking.inv().apply(points - position)
        # Camera axes in the unpitched body frame: image right = the subject's left (+x), image
        # down = -y, away from the camera = -z.
        in_camera: Array = local * np.array([1.0, -1.0, -1.0])
        return in_camera

    def image(self, points: Array, depth_origin: Array) -> Array:
        """Camera points -> MediaPipe image landmarks, z relative to depth_origin's depth."""
        x, y, z = points.T
        u = FOCAL_PX * x / z + IMAGE.width / 2
        v = FOCAL_PX * y / z + IMAGE.height / 2
        relative_z = FOCAL_PX * (z - depth_origin[2]) / depth_origin[2]
        return np.stack((u / IMAGE.width, v / IMAGE.height, relative_z / IMAGE.width), axis=1)


def pose_frame(
    pose: Pose,
    *,
    camera: Camera = Camera(),
    world_noise_m: float = 0.0,
    rng: np.random.Generator | None = None,
    timestamp_s: float = 0.0,
    index: int = 0,
) -> PoseFrame:
    """The PoseFrame for the posed person: every part but the face found and fully visible, with
    white noise of world_noise_m (standard deviation per axis) on the world landmarks."""
    body = pose_points(pose)
    pose_camera = camera.to_camera(body.pose)
    hip_centre = 0.5 * (pose_camera[23] + pose_camera[24])
    world = pose_camera - hip_centre
    if world_noise_m > 0.0:
        generator = rng if rng is not None else np.random.default_rng(0)
        world = world + generator.normal(0.0, world_noise_m, world.shape)
    visible = np.ones((33, 1))
    hands = [camera.to_camera(points) for points in body.hands]
    return PoseFrame(
        index=index,
        timestamp_s=timestamp_s,
        image_size=IMAGE,
        pose=frozen(np.hstack((camera.image(pose_camera, hip_centre), visible)), 33, 4),
        pose_world=frozen(np.hstack((world, visible)), 33, 4),
        face=absent(478, 3),
        left_hand=frozen(camera.image(hands[0], hands[0][0]), 21, 3),
        right_hand=frozen(camera.image(hands[1], hands[1][0]), 21, 3),
    )
