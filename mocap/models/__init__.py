"""The model files mocap ships (never downloaded): the MediaPipe Tasks Holistic bundle, built by
tools/build_holistic_bundle.py from pinned Apache-2.0 MediaPipe models (NOTICE beside it). Its
face_blendshapes.tflite entry also serves the legacy backend (mocap/track/blendshapes.py)."""

from __future__ import annotations

from pathlib import Path

HOLISTIC_BUNDLE = Path(__file__).parent / "holistic_landmarker.task"
