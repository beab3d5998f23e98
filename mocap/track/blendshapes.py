"""The 51 ARKit blendshape weights of a face, from its 478 landmarks: MediaPipe's face blendshape
model (face_blendshapes.tflite, the entry of mocap's Holistic bundle that MediaPipe's Face
Landmarker runs), run by the LiteRT interpreter for the legacy backend. The only module that
imports ai_edge_litert.

The model reads 146 of the 478 points (the iris points among them) as x times the image width and
y times its height, in pixels of the full image, in the order MediaPipe's FaceBlendshapesGraph
takes them; it gives 52 scores in 0..1, `_neutral` first, then skeleton.ARKIT_NAMES.

Why LiteRT rather than a small mediapipe CalculatorGraph (which needs no further dependency):
measured inside the running pipeline, right after each Holistic inference, the interpreter's call
took 0.85 ms p50 and the graph's 1.13 ms p50 (its hand-off to the graph's own threads and back
costs more than the model), and the issue asks for less than 1 ms. Both give the same weights
(2e-6 apart).
"""

from __future__ import annotations

import time
import zipfile
from collections import deque

import numpy as np
import numpy.typing as npt
from ai_edge_litert.interpreter import Interpreter

from mocap import skeleton
from mocap.errors import ModelError
from mocap.frames import FloatArray, ImageSize, absent_weights, is_present
from mocap.models import HOLISTIC_BUNDLE

MODEL_ENTRY = "face_blendshapes.tflite"

# kLandmarksSubsetIdxs of mediapipe/tasks/cc/vision/face_landmarker/face_blendshapes_graph.cc:
# the face mesh points the model reads, in the order it reads them (468-477 are the irises).
LANDMARK_SUBSET: tuple[int, ...] = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39,
    40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70, 78, 80,
    81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133,
    136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160,
    161, 162, 163, 168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246,
    249, 251, 263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295,
    296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332, 334,
    336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382,
    384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454,
    466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
)  # fmt: skip
NEUTRAL_SCORES = 1  # the model's first score, `_neutral`, is no ARKit blendshape
TIMED_CALLS = 300  # how many recent calls' durations are kept (the stats' window)


def model_input(face: FloatArray, image_size: ImageSize) -> npt.NDArray[np.float32]:
    """The model's [1, 146, 2] input: the subset's x and y (fractions of the image) in pixels of
    the image they were found in. Pixels, not fractions: the aspect ratio changes the weights."""
    scale_px = np.array([image_size.width, image_size.height], dtype=np.float32)
    points_px = face[LANDMARK_SUBSET, :2] * scale_px
    return np.ascontiguousarray(points_px[np.newaxis], dtype=np.float32)


def arkit_weights(scores: npt.ArrayLike) -> FloatArray:
    """The 51 ARKit weights (read-only) of the model's 52 scores."""
    weights = np.array(scores, dtype=np.float32).reshape(-1)[NEUTRAL_SCORES:]
    if weights.shape != (skeleton.ARKIT_COUNT,):
        raise ValueError(f"expected {skeleton.ARKIT_COUNT + NEUTRAL_SCORES} scores")
    weights.flags.writeable = False
    return weights


def model_bytes() -> bytes:
    """face_blendshapes.tflite, read from the shipped bundle (pinned by tests/test_model_bundle)."""
    try:
        with zipfile.ZipFile(HOLISTIC_BUNDLE) as bundle:
            return bundle.read(MODEL_ENTRY)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ModelError(f"cannot read {MODEL_ENTRY} from {HOLISTIC_BUNDLE}: {exc}") from None


class BlendshapeModel:
    """One interpreter on the calling thread (one CPU thread: the pipeline's own, between two
    Holistic inferences). call_s: the durations of the recent weights() calls that ran the
    model, for the benchmark."""

    def __init__(self) -> None:
        try:
            self._interpreter = Interpreter(model_content=model_bytes(), num_threads=1)
            self._interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"cannot load the face blendshape model: {exc}") from None
        self._input_index = self._interpreter.get_input_details()[0]["index"]
        self._output_index = self._interpreter.get_output_details()[0]["index"]
        self.call_s: deque[float] = deque(maxlen=TIMED_CALLS)

    def weights(self, face: FloatArray, image_size: ImageSize) -> FloatArray:
        """The ARKit weights of a (478, 3) face block found in an image of image_size; all-NaN
        when the face is absent or has no iris points (468)."""
        if face.shape[0] <= max(LANDMARK_SUBSET) or not is_present(face):
            return absent_weights(skeleton.ARKIT_COUNT)
        start_s = time.perf_counter()
        self._interpreter.set_tensor(self._input_index, model_input(face, image_size))
        self._interpreter.invoke()
        weights = arkit_weights(self._interpreter.get_tensor(self._output_index))
        self.call_s.append(time.perf_counter() - start_s)
        return weights
