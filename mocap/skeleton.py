"""Landmark counts, names and connections: the one source of truth for shapes.

Indices follow MediaPipe Holistic's output order; the connection lists are copied from
mediapipe.solutions (pose, hands, face_mesh) so that nothing outside holistic.py imports mediapipe.
"""

from __future__ import annotations

Connections = tuple[tuple[int, int], ...]

POSE_POINTS = 33
HAND_POINTS = 21
FACE_POINTS = 468
FACE_POINTS_REFINED = 478  # with iris landmarks 468-477

# The landmark parts of a frame by their wire names, in wire order: PoseFrame's fields, the
# stream's and the recording's keys, hello's "parts". Image-space parts carry x, y, z (and the
# pose its visibility); pose_world is metres around the hips.
PART_NAMES: tuple[str, ...] = ("pose", "pose_world", "face", "left_hand", "right_hand")

# The 51 ARKit blendshape names ("Perfect Sync"), camelCase as ARKit spells them, in the order
# of MediaPipe's face blendshape model's outputs after its first, "_neutral" (kBlendshapeNames in
# mediapipe/tasks/cc/vision/face_landmarker/face_blendshapes_graph.cc). No tongueOut.
ARKIT_NAMES: tuple[str, ...] = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft",
    "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper",
    "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)  # fmt: skip
ARKIT_COUNT = 51

POSE_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip

HAND_NAMES: tuple[str, ...] = (
    "wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip", "index_finger_mcp",
    "index_finger_pip", "index_finger_dip", "index_finger_tip", "middle_finger_mcp",
    "middle_finger_pip", "middle_finger_dip", "middle_finger_tip", "ring_finger_mcp",
    "ring_finger_pip", "ring_finger_dip", "ring_finger_tip", "pinky_mcp", "pinky_pip",
    "pinky_dip", "pinky_tip",
)  # fmt: skip

POSE_CONNECTIONS: Connections = (
    (0, 1), (0, 4), (1, 2), (2, 3), (3, 7), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
    (11, 23), (12, 14), (12, 24), (13, 15), (14, 16), (15, 17), (15, 19), (15, 21), (16, 18),
    (16, 20), (16, 22), (17, 19), (18, 20), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (27, 31), (28, 30), (28, 32), (29, 31), (30, 32),
)  # fmt: skip

HAND_CONNECTIONS: Connections = (
    (0, 1), (0, 5), (0, 17), (1, 2), (2, 3), (3, 4), (5, 6), (5, 9), (6, 7), (7, 8), (9, 10),
    (9, 13), (10, 11), (11, 12), (13, 14), (13, 17), (14, 15), (15, 16), (17, 18), (18, 19),
    (19, 20),
)  # fmt: skip

# Face mesh contours (not the full 2,500-edge tesselation): enough to draw a readable face.
# fmt: off
FACE_OVAL: Connections = (
    (10, 338), (21, 54), (54, 103), (58, 132), (67, 109), (93, 234), (103, 67), (109, 10),
    (127, 162), (132, 93), (136, 172), (148, 176), (149, 150), (150, 136), (152, 148), (162, 21),
    (172, 58), (176, 149), (234, 127), (251, 389), (284, 251), (288, 397), (297, 332), (323, 361),
    (332, 284), (338, 297), (356, 454), (361, 288), (365, 379), (377, 152), (378, 400), (379, 378),
    (389, 356), (397, 365), (400, 377), (454, 323),
)

FACE_LIPS: Connections = (
    (0, 267), (13, 312), (14, 317), (17, 314), (37, 0), (39, 37), (40, 39), (61, 146), (61, 185),
    (78, 95), (78, 191), (80, 81), (81, 82), (82, 13), (84, 17), (87, 14), (88, 178), (91, 181),
    (95, 88), (146, 91), (178, 87), (181, 84), (185, 40), (191, 80), (267, 269), (269, 270),
    (270, 409), (310, 415), (311, 310), (312, 311), (314, 405), (317, 402), (318, 324), (321, 375),
    (324, 308), (375, 291), (402, 318), (405, 321), (409, 291), (415, 308),
)

FACE_LEFT_EYE: Connections = (
    (249, 390), (263, 249), (263, 466), (373, 374), (374, 380), (380, 381), (381, 382), (382, 362),
    (384, 398), (385, 384), (386, 385), (387, 386), (388, 387), (390, 373), (398, 362), (466, 388),
)

FACE_RIGHT_EYE: Connections = (
    (7, 163), (33, 7), (33, 246), (144, 145), (145, 153), (153, 154), (154, 155), (155, 133),
    (157, 173), (158, 157), (159, 158), (160, 159), (161, 160), (163, 144), (173, 133), (246, 161),
)

FACE_LEFT_EYEBROW: Connections = (
    (276, 283), (282, 295), (283, 282), (293, 334), (295, 285), (296, 336), (300, 293), (334, 296),
)

FACE_RIGHT_EYEBROW: Connections = (
    (46, 53), (52, 65), (53, 52), (63, 105), (65, 55), (66, 107), (70, 63), (105, 66),
)

FACE_LEFT_IRIS: Connections = (
    (474, 475), (475, 476), (476, 477), (477, 474),
)

FACE_RIGHT_IRIS: Connections = (
    (469, 470), (470, 471), (471, 472), (472, 469),
)
# fmt: on

FACE_CONTOURS: Connections = (
    FACE_OVAL + FACE_LIPS + FACE_LEFT_EYE + FACE_RIGHT_EYE + FACE_LEFT_EYEBROW + FACE_RIGHT_EYEBROW
)
FACE_IRISES: Connections = FACE_LEFT_IRIS + FACE_RIGHT_IRIS

# Pose landmarks that the face and hand models describe better; drawing skips them.
POSE_FACE_POINTS = frozenset(range(11))


def part_shapes(face_points: int) -> dict[str, tuple[int, int]]:
    """Each part's (points, channels), in wire order, for a face of face_points points."""
    return {
        "pose": (POSE_POINTS, 4),
        "pose_world": (POSE_POINTS, 4),
        "face": (face_points, 3),
        "left_hand": (HAND_POINTS, 3),
        "right_hand": (HAND_POINTS, 3),
    }


def face_points(refine_face: bool) -> int:
    return FACE_POINTS_REFINED if refine_face else FACE_POINTS
