"""Landmarks -> avatar: humanoid bone rotations, expressions and gaze. Pure: no I/O (a frame's
math on plain floats, numpy and scipy for the tables and the tests' references).

AvatarSolver turns each smoothed PoseFrame into an AvatarFrame (the 55 Unity humanoid bones in
Unity's space, VRM0 expression weights). Conventions: spaces.py; the skeleton: humanoid.py.
"""

from mocap.solve.avatar import AvatarFrame
from mocap.solve.face import EXPRESSIONS
from mocap.solve.humanoid import BONES, forward_kinematics
from mocap.solve.solver import AvatarSolver

__all__ = ["BONES", "EXPRESSIONS", "AvatarFrame", "AvatarSolver", "forward_kinematics"]
