"""The solver run backwards, for the tests: mocap.bench.synthetic (the bench's motion phase uses
it too, so it lives in the package)."""

from mocap.bench.synthetic import (
    IMAGE_SIZE,
    PIXELS_PER_METRE,
    landmarks_unity,
    pose_frame,
    posed,
    turn,
)

__all__ = ["IMAGE_SIZE", "PIXELS_PER_METRE", "landmarks_unity", "pose_frame", "posed", "turn"]
