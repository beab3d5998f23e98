"""The paced outputs' prediction: even steps on constant-speed motion, at most 5 degrees past a
stop, a hold when input stops, hemisphere continuity, no NaN, lost parts held then eased as the
solver does, and the source clock always rising."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import numpy.typing as npt
import pytest

from mocap.bench.synthetic import with_noise
from mocap.config import FilterConfig, SolverConfig
from mocap.frames import absent
from mocap.solve import AvatarFrame
from mocap.solve.face import EXPRESSIONS
from mocap.solve.filter import FilteredSolver
from mocap.solve.humanoid import BONE_COUNT, BONES, INDEX, REST_LOCAL_POSITIONS
from mocap.solve.predict import MAX_LEAD_RAD, Predictor, SourceClock, lead_s
from mocap.solve.tracking import GROUP_BONES, LEFT_HAND
from tests import synthetic

Array = npt.NDArray[np.float64]
FPS = 30.0
RATE_HZ = 90.0
ARM = INDEX["LeftUpperArm"]


def avatar(arm_deg: float, weight: float = 0.0, sign: float = 1.0) -> AvatarFrame:
    """The rest pose with the left upper arm turned arm_deg about z and every expression at
    weight; sign -1 sends every quaternion as its negation (the same rotations)."""
    rotations = np.tile([0.0, 0.0, 0.0, 1.0], (BONE_COUNT, 1))
    half = np.radians(arm_deg) / 2
    rotations[ARM] = [0.0, 0.0, np.sin(half), np.cos(half)]
    return AvatarFrame(
        bone_names=BONES,
        local_positions=REST_LOCAL_POSITIONS,
        local_rotations=sign * rotations,
        root_position=np.zeros(3),
        root_rotation=np.array([0.0, 0.0, 0.0, 1.0]),
        blendshapes={name: weight for name in EXPRESSIONS},
    )


def arm_deg(frame: AvatarFrame) -> float:
    *_, z, w = frame.local_rotations[ARM]
    return float(np.degrees(2 * np.arctan2(z, w)))


def sent(
    frames: list[tuple[float, AvatarFrame]], until_s: float
) -> list[tuple[float, AvatarFrame]]:
    """What a paced output sends at RATE_HZ, each frame handed over at its own time."""
    predictor = Predictor()
    out = []
    pending = list(frames)
    for send_s in np.arange(0.0, until_s, 1.0 / RATE_HZ) + 0.25 / RATE_HZ:
        while pending and pending[0][0] <= send_s:
            predictor.add(*pending.pop(0))
        if predictor.ready:
            out.append((float(send_s), predictor.at(float(send_s))))
    return out


def ramp(speed_dps: float, stop_s: float, until_s: float) -> list[tuple[float, AvatarFrame]]:
    return [(i / FPS, avatar(speed_dps * min(i / FPS, stop_s))) for i in range(int(until_s * FPS))]


def test_lead_is_the_elapsed_time_then_eases_to_a_hold() -> None:
    interval = 1 / FPS
    assert lead_s(0.5 * interval, interval) == pytest.approx(0.5 * interval)
    assert lead_s(-3 * interval, interval) == pytest.approx(-interval)
    assert lead_s(2 * interval, interval) == pytest.approx(1.5 * interval)
    assert lead_s(10.0, interval) == pytest.approx(1.5 * interval)
    leads = [lead_s(t, interval) for t in np.linspace(0, 3 * interval, 50)]
    assert leads == sorted(leads)
    assert lead_s(1.0, 0.0) == 0.0  # one frame so far


def test_constant_speed_motion_is_sent_in_even_steps() -> None:
    sends = sent(ramp(90.0, 10.0, 2.0), 2.0)
    angles = np.array([arm_deg(frame) for t, frame in sends if t > 0.2])
    steps = np.diff(angles)
    assert np.percentile(steps, 95) <= 1.5 * steps.mean()
    assert steps.min() > 0.0
    truth = np.array([90.0 * t for t, _ in sends if t > 0.2])
    assert np.abs(angles - truth).max() < 1.0  # the pose for each send's own time


@pytest.mark.parametrize("speed_dps", [90.0, 180.0, 720.0])
def test_a_stop_is_overshot_by_at_most_five_degrees(speed_dps: float) -> None:
    stop_deg = speed_dps * 0.5
    sends = sent(ramp(speed_dps, 0.5, 1.0), 1.0)
    angles = [arm_deg(frame) for _, frame in sends]
    assert max(angles) <= stop_deg + np.degrees(MAX_LEAD_RAD) + 1e-9
    assert angles[-1] == pytest.approx(stop_deg)  # and then it holds


def test_input_that_stops_coming_settles_into_a_hold() -> None:
    frames = ramp(90.0, 10.0, 0.5)  # the last frame at ~0.47 s, nothing after
    sends = sent(frames, 1.5)
    after = [arm_deg(frame) for t, frame in sends if t > frames[-1][0] + 2.0 / FPS]
    assert after and max(after) == min(after)
    assert after[0] - arm_deg(frames[-1][1]) <= 1.5 * 90.0 / FPS + 1e-9


def test_quaternions_keep_their_hemisphere_and_stay_finite() -> None:
    frames = [(i / FPS, avatar(170.0 + 30 * i, sign=(-1.0) ** i)) for i in range(30)]
    sends = sent(frames, 1.2)
    rotations = np.stack([frame.local_rotations for _, frame in sends])
    assert np.isfinite(rotations).all()
    assert ((rotations[1:] * rotations[:-1]).sum(axis=2) >= 0.0).all()
    np.testing.assert_allclose(np.linalg.norm(rotations, axis=2), 1.0, atol=1e-12)


def test_expressions_are_interpolated_never_extrapolated() -> None:
    frames = [(i / FPS, avatar(0.0, weight=min(i / 10, 1.0))) for i in range(20)]
    sends = sent(frames, 0.8)
    weights = [frame.blendshapes["A"] for _, frame in sends]
    assert weights == sorted(weights) and max(weights) == 1.0
    steps = np.diff([w for (t, _), w in zip(sends, weights, strict=True) if 0.1 < t < 0.25])
    assert np.percentile(steps, 95) <= 1.5 * steps.mean()


def world(x_m: float) -> Array:
    """33 world landmarks, all at x_m, visible."""
    points = np.zeros((33, 4))
    points[:, 0], points[:, 3] = x_m, 1.0
    return points


def test_world_landmarks_are_interpolated_one_interval_behind() -> None:
    """A body moving at 1 m/s in frames at 30 fps: the world landmarks at a send lie on the line
    between the last two frames (never beyond the last), one interval behind the send."""
    predictor = Predictor()
    assert predictor.pose_world_at(0.0) is None
    for i in range(5):
        predictor.add(i / FPS, avatar(0.0), world(i / FPS))
    last_s = 4 / FPS
    for elapsed_s, expected_m in ((0.0, 3 / FPS), (0.5 / FPS, 3.5 / FPS), (2 / FPS, 4 / FPS)):
        at = predictor.pose_world_at(last_s + elapsed_s)
        assert at is not None
        assert at[:, 0] == pytest.approx(expected_m) and np.all(at[:, 3] == 1.0)


def test_a_world_point_missing_from_either_frame_is_the_last_frames() -> None:
    predictor = Predictor()
    before, after = world(0.0), world(0.1)
    before[5, :3] = np.nan  # not seen in the previous frame
    after[7, :3] = np.nan  # not seen in the last one
    predictor.add(0.0, avatar(0.0), before)
    predictor.add(1 / FPS, avatar(0.0), after)
    at = predictor.pose_world_at(1 / FPS)
    assert at is not None
    assert at[5, 0] == pytest.approx(0.1) and np.isnan(at[7, 0])
    assert at[0, 0] == pytest.approx(0.0)  # the others: still the previous frame's, as timed


def test_time_going_back_starts_over() -> None:
    predictor = Predictor()
    for t, frame in ramp(90.0, 10.0, 0.5):
        predictor.add(t, frame)
    predictor.add(0.0, avatar(-20.0))
    assert arm_deg(predictor.at(0.05)) == pytest.approx(-20.0)


def test_a_lost_part_is_held_then_eased_as_the_solver_does() -> None:
    solver_config = SolverConfig(mirror=False, hold_s=0.3, ease_s=0.3)
    pose = synthetic.posed(LeftHand=synthetic.turn("y", 40))
    rng = np.random.default_rng(7)
    frames = [with_noise(synthetic.pose_frame(pose, i / FPS), rng, 0.002, 0.5) for i in range(60)]
    frames[30:] = [dataclasses.replace(f, left_hand=absent(21, 3)) for f in frames[30:]]
    solver = FilteredSolver(solver_config, FilterConfig())
    solved = [(f.timestamp_s, solver(f)) for f in frames]
    bones = [INDEX[name] for name in GROUP_BONES[LEFT_HAND]]
    held = solved[30][1].local_rotations[bones]
    for t, frame in sent(solved, 60 / FPS):
        rotations = frame.local_rotations[bones]
        if 30 / FPS + 2 / FPS < t < 30 / FPS + 0.3:  # held (after the last velocity has eased)
            np.testing.assert_allclose(np.abs((rotations * held).sum(axis=1)), 1.0, atol=1e-9)
    last = sent(solved, 2.5)[-1][1].local_rotations[bones]
    np.testing.assert_allclose(np.abs(last[:, 3]), 1.0, atol=1e-9)  # eased to rest


def test_the_source_clock_rises_and_follows_the_frames() -> None:
    clock = SourceClock()
    clock.observe(10.0, 100.0)
    times = [clock.at(100.0 + 0.01 * i) for i in range(10)]
    assert times[0] == pytest.approx(10.0)
    clock.observe(9.0, 100.1)  # a frame that came late: no jump back
    times += [clock.at(100.1 + 0.01 * i) for i in range(10)]
    sent = np.array(times, dtype=np.float32)  # /VMC/Ext/T is a float32
    assert all(b > a for a, b in itertools.pairwise(sent))
    clock.observe(50.0, 100.3)  # the source's clock jumped: follow at once
    assert clock.at(100.3) == pytest.approx(50.0)


def test_latency_compensation_leads_by_the_latency_beyond_the_bound() -> None:
    """outputs.lead_latency: frames placed at their capture, the pose ahead_s further on."""
    predictor = Predictor()
    for t, frame in ramp(180.0, 10.0, 0.5):
        predictor.add(t, frame)
    last_s = (int(0.5 * FPS) - 1) / FPS
    latency_s = 0.045  # 8.1 degrees at 180 degrees/s: beyond MAX_LEAD_RAD, as meant
    for elapsed_s in (0.0, 0.5 / FPS):
        t_s = last_s + latency_s + elapsed_s
        assert arm_deg(predictor.at(t_s, latency_s)) == pytest.approx(180.0 * t_s, abs=1e-6)


def test_each_frame_is_sent_turned_on_by_the_filters_lag() -> None:
    """A filtered frame carries how far it trails the motion (lag_rad): the sends make it up,
    at the frame's own time and in the hold after the input stops."""
    lag_rad = np.zeros((BONE_COUNT, 3))
    lag_rad[ARM, 2] = np.radians(6.0)
    predictor = Predictor()
    predictor.add(0.0, avatar(10.0))
    predictor.add(1 / FPS, dataclasses.replace(avatar(10.0), lag_rad=lag_rad))
    assert arm_deg(predictor.at(1 / FPS)) == pytest.approx(16.0)
    assert arm_deg(predictor.at(1.0)) == pytest.approx(16.0)
