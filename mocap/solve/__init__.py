"""Landmarks -> avatar: humanoid bone rotations, expressions and gaze. Pure numpy / scipy."""
