"""`mocap bench`'s motion phase: jitter, lag and overshoot of the solved (and filtered) avatar on
synthetic motion with known truth, and with a paced rate, the error at each send time.

The motions pose the avatar (mocap.bench.synthetic makes the landmarks MediaPipe would report,
with noise added), solve them through the pipeline's own solver and filter, and compare the bones
with the pose that made them:
- still: a relaxed pose held for 10 s at 30 fps with 1 cm of world noise and 2 px of image noise;
  jitter is the p95 frame-to-frame rotation change of the torso, head and limb bones;
- sweep: the left arm raised sideways at 180 degrees/s through 140 degrees, then held (same
  noise); lag is the delay that best aligns the arm's solved angle with the truth's, overshoot how
  far past the stop it goes;
- paced (with a rate): the sweep sent at that rate by the paced outputs' prediction, each send's
  error against the truth at its time, against holding the last frame, and how even the steps
  between sends are while the arm moves at constant speed, and the still pose's jitter as sent
  (each frame turned on by the filter's lag) against the filtered frames';
- latency (with a rate): the same with the frames reaching the sender LATENCY_S after capture,
  against where the arm is when each send goes out, as sent and leading by the latency.
Everything runs without a camera or model in a few seconds; figures are degrees and ms.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mocap.bench.synthetic import pose_frame, posed, turn, with_noise
from mocap.config import FilterConfig, SolverConfig
from mocap.solve import batched
from mocap.solve.avatar import AvatarFrame
from mocap.solve.filter import FilteredSolver
from mocap.solve.humanoid import BONES, INDEX
from mocap.solve.predict import Predictor

Array = npt.NDArray[np.float64]

FPS = 30.0
WORLD_NOISE_M = 0.01
IMAGE_NOISE_PX = 2.0
STILL_S = 10.0
# The bones whose still-pose jitter is reported, by group (the target names the first
# three groups).
JITTER_GROUPS = {
    "torso and head": ("Spine", "Chest", "UpperChest", "Neck", "Head"),
    "arms": ("LeftUpperArm", "RightUpperArm", "LeftLowerArm", "RightLowerArm"),
    "legs": ("LeftUpperLeg", "RightUpperLeg", "LeftLowerLeg", "RightLowerLeg"),
    "hands and fingers": tuple(
        name for name in BONES if name.endswith(("Hand", "Proximal", "Intermediate", "Distal"))
    ),
    "eyes": ("LeftEye", "RightEye"),
}
SWEEP_DPS = 180.0
SWEEP_FROM_DEG = 70.0  # the left arm's turn about z: 70 hangs it down, -70 raises it up
SWEEP_TO_DEG = -70.0
SWEEP_START_S = 0.5
HOLD_S = 1.0
MAX_LAG_S = 0.25
STEADY_DPS = 90.0  # the constant-speed motion whose per-send steps are measured
STEADY_S = 3.0
LATENCY_S = 0.045  # capture to hand-off: about one inference on a 2-core machine
_ARM = INDEX["LeftUpperArm"]
_SEED = 14
SWEEP_RUNS = 8  # lag and overshoot from the mean of this many noisy sweeps: noise averages out


def _relaxed(arm_deg: float) -> Array:
    """A relaxed standing pose, the left arm turned about z by arm_deg."""
    return posed(
        LeftUpperArm=turn("z", arm_deg),
        RightUpperArm=turn("z", -70.0),
        LeftLowerArm=turn("y", 20.0),
        RightLowerArm=turn("y", -20.0),
        Head=turn("x", 10.0),
    )


def _sweep_deg(t_s: float) -> float:
    """The truth: the left arm's angle at t_s."""
    travelled = min(max(t_s - SWEEP_START_S, 0.0) * SWEEP_DPS, SWEEP_FROM_DEG - SWEEP_TO_DEG)
    return SWEEP_FROM_DEG - travelled


def _sweep_end_s() -> float:
    return SWEEP_START_S + (SWEEP_FROM_DEG - SWEEP_TO_DEG) / SWEEP_DPS


def _solved(
    pose_at: list[Array], filter_config: FilterConfig, seed: int = _SEED, noise: float = 1.0
) -> Iterator[tuple[float, AvatarFrame]]:
    """Each pose solved (mirror off: the avatar's left arm is the truth's) from noisy landmarks
    at FPS (noise: a multiple of WORLD_NOISE_M and IMAGE_NOISE_PX), as (t, avatar)."""
    solver = FilteredSolver(SolverConfig(mirror=False, hold_s=1.0), filter_config)
    rng = np.random.default_rng(seed)
    world_m, image_px = noise * WORLD_NOISE_M, noise * IMAGE_NOISE_PX
    for index, rotations in enumerate(pose_at):
        t_s = index / FPS
        frame = with_noise(pose_frame(rotations, t_s), rng, world_m, image_px)
        yield t_s, solver(frame)


def _angle_deg(a: Array, b: Array) -> Array:
    """The rotation angle between rows of a and b."""
    return np.degrees(batched.angles_rad(batched.log(batched.turn_from(a, b))))


@dataclass(frozen=True)
class MotionFigures:
    jitter_deg: dict[str, tuple[float, str]]  # group: the worst bone's p95 change, still pose
    lag_ms: float
    overshoot_deg: float


def motion_figures(filter_config: FilterConfig) -> MotionFigures:
    still = [_relaxed(SWEEP_FROM_DEG)] * int(STILL_S * FPS)
    rotations = np.stack([avatar.local_rotations for _, avatar in _solved(still, filter_config)])
    runs = [_sweep_arm(filter_config, seed) for seed in range(SWEEP_RUNS)]
    times = runs[0][0]
    solved_deg = SWEEP_FROM_DEG - np.mean([_arm_deg(arm) for _, arm in runs], axis=0)
    return MotionFigures(
        jitter_deg={
            group: _worst_jitter(rotations, bones) for group, bones in JITTER_GROUPS.items()
        },
        lag_ms=1000.0 * _best_lag_s(times, solved_deg),
        overshoot_deg=_overshoot_deg(times, solved_deg),
    )


def _worst_jitter(rotations: Array, bones: tuple[str, ...]) -> tuple[float, str]:
    """The highest p95 frame-to-frame rotation change among bones, and that bone."""
    p95 = {
        name: float(
            np.percentile(
                _angle_deg(rotations[:-1, INDEX[name]], rotations[1:, INDEX[name]])[FPS_SETTLE:],
                95,
            )
        )
        for name in bones
    }
    worst = max(p95, key=p95.__getitem__)
    return p95[worst], worst


FPS_SETTLE = 15  # the first half second: the solver eases every part in from the rest pose


def _sweep_poses() -> list[Array]:
    frames = int((_sweep_end_s() + HOLD_S) * FPS)
    return [_relaxed(_sweep_deg(index / FPS)) for index in range(frames)]


def _sweep_arm(filter_config: FilterConfig, seed: int) -> tuple[Array, Array]:
    solved = list(_solved(_sweep_poses(), filter_config, seed))
    return np.array([t for t, _ in solved]), np.stack([a.local_rotations[_ARM] for _, a in solved])


def _arm_deg(arm_rotations: Array) -> Array:
    """The left upper arm's angle about z, as _sweep_deg gives it: from where the rotations take
    its rest direction (-x; its parents are at rest in this pose). Twist does not count."""
    x, y, z, w = arm_rotations.T
    # The first column of the rotation matrix, negated: the rest direction -x turned.
    direction_x = -(1.0 - 2.0 * (y * y + z * z))
    direction_y = -2.0 * (x * y + z * w)
    angles: Array = np.degrees(np.unwrap(np.arctan2(-direction_y, -direction_x)))
    return angles


def _truth_travelled_deg(times_s: Array) -> Array:
    return np.array([SWEEP_FROM_DEG - _sweep_deg(t) for t in times_s])


def _best_lag_s(times_s: Array, solved_deg: Array) -> float:
    """The delay of the truth that fits the solved angle best (least squares) around the sweep."""
    window = (times_s > SWEEP_START_S - 0.2) & (times_s < _sweep_end_s() + 0.3)
    lags_s = np.arange(0.0, MAX_LAG_S, 0.001)
    errors = [
        float(np.mean((solved_deg[window] - _truth_travelled_deg(times_s[window] - lag)) ** 2))
        for lag in lags_s
    ]
    return float(lags_s[int(np.argmin(errors))])


def _overshoot_deg(times_s: Array, solved_deg: Array) -> float:
    """How far the arm went past where it stopped (0 when it never did)."""
    total = SWEEP_FROM_DEG - SWEEP_TO_DEG
    after = times_s >= _sweep_end_s()
    return max(0.0, float(solved_deg[after].max()) - total)


@dataclass(frozen=True)
class PacedFigures:
    rate_hz: float
    error_deg: float  # mean error of the predicted arm at send times, from the sweep's start
    held_error_deg: float  # the same when each send holds the last frame
    step_ratio: float  # p95 / mean of the per-send steps, the arm turning at STEADY_DPS
    noisy_step_ratio: float  # the same with the noise, over SWEEP_RUNS runs
    overshoot_deg: float
    # The still pose: the worst p95 frame-to-frame change of the torso, head and limbs as sent
    # at the frames' times (each frame turned on by its lag), and of the filtered frames.
    still_sent_deg: tuple[float, str]
    still_filtered_deg: tuple[float, str]


def paced_figures(filter_config: FilterConfig, rate_hz: float) -> PacedFigures:
    """Frames handed to the prediction as they come (each at its own time on the source's
    clock), sent at rate_hz. Errors and overshoot: the sweep, errors the mean over SWEEP_RUNS
    noisy sweeps, overshoot that of their mean path. Steps: the arm turning at a constant
    STEADY_DPS, once the filter has caught up, on the mean path (the noise is the still pose's
    figure)."""
    period_s = 1.0 / rate_hz
    send_times = np.arange(0.0, _sweep_end_s() + HOLD_S - 1.0 / FPS, period_s) + 0.5 * period_s
    truth_deg = np.array([_sweep_deg(t) for t in send_times])
    runs = [_paced(_sweep_poses(), filter_config, send_times, seed) for seed in range(SWEEP_RUNS)]
    window = send_times >= SWEEP_START_S
    steady_times = np.arange(0.0, STEADY_S - 1.0 / FPS, period_s) + 0.5 * period_s
    steady_poses = [
        _relaxed(SWEEP_FROM_DEG - STEADY_DPS * i / FPS) for i in range(int(STEADY_S * FPS))
    ]
    steady = [
        _paced(steady_poses, filter_config, steady_times, seed, noise)[0]
        for seed in range(SWEEP_RUNS)
        for noise in (0.0, 1.0)
    ]
    later = steady_times[1:] > STEADY_S / 2  # once the filter has caught up
    still_sent_deg, still_filtered_deg = _still_jitter_sent(filter_config)
    noise_free, noisy = steady[0], steady[1::2]
    return PacedFigures(
        rate_hz=rate_hz,
        error_deg=float(np.mean([np.abs(p - truth_deg)[window].mean() for p, _ in runs])),
        held_error_deg=float(np.mean([np.abs(h - truth_deg)[window].mean() for _, h in runs])),
        step_ratio=_step_ratio(noise_free[None, :], later),
        noisy_step_ratio=_step_ratio(np.stack(noisy), later),
        overshoot_deg=_overshoot_deg(
            send_times, SWEEP_FROM_DEG - np.mean([p for p, _ in runs], axis=0)
        ),
        still_sent_deg=still_sent_deg,
        still_filtered_deg=still_filtered_deg,
    )


_TARGET_BONES = tuple(name for group in list(JITTER_GROUPS.values())[:3] for name in group)


def _still_jitter_sent(filter_config: FilterConfig) -> tuple[tuple[float, str], tuple[float, str]]:
    """The still pose's jitter as the prediction sends it at each frame's time (no time to
    extrapolate over: what the lag it makes up for adds), and as filtered."""
    predictor = Predictor()
    filtered, sent = [], []
    for t_s, avatar in _solved([_relaxed(SWEEP_FROM_DEG)] * int(STILL_S * FPS), filter_config):
        predictor.add(t_s, avatar)
        filtered.append(avatar.local_rotations)
        sent.append(predictor.at(t_s).local_rotations)
    return (
        _worst_jitter(np.stack(sent), _TARGET_BONES),
        _worst_jitter(np.stack(filtered), _TARGET_BONES),
    )


def _step_ratio(angles_deg: Array, window: npt.NDArray[np.bool_]) -> float:
    """p95 / mean of the per-send steps of each run of angles (rows), pooled, within window."""
    steps = np.abs(np.diff(angles_deg, axis=1))[:, window]
    return float(np.percentile(steps, 95) / steps.mean())


@dataclass(frozen=True)
class LatencyFigures:
    latency_ms: float
    error_deg: float  # against where the arm is at each send's wall time: the sends as they are
    lead_error_deg: float  # the same, leading by the latency (outputs.lead_latency)
    overshoot_deg: float
    lead_overshoot_deg: float


def latency_figures(
    filter_config: FilterConfig, rate_hz: float, latency_s: float
) -> LatencyFigures:
    """The sweep's frames reaching the sender latency_s after capture: what the sends show,
    against where the arm really is when they go out, with and without leading by the latency."""
    period_s = 1.0 / rate_hz
    send_times = np.arange(latency_s, _sweep_end_s() + HOLD_S, period_s) + 0.5 * period_s
    truth_deg = np.array([_sweep_deg(t) for t in send_times])
    window = send_times >= SWEEP_START_S
    figures = []
    for lead in (False, True):
        runs = [
            _paced(_sweep_poses(), filter_config, send_times, seed, latency_s=latency_s, lead=lead)[
                0
            ]
            for seed in range(SWEEP_RUNS)
        ]
        error = float(np.mean([np.abs(p - truth_deg)[window].mean() for p in runs]))
        mean_path = SWEEP_FROM_DEG - np.mean(runs, axis=0)
        figures.append((error, _overshoot_deg(send_times, mean_path)))
    (error, overshoot), (lead_error, lead_overshoot) = figures
    return LatencyFigures(1000.0 * latency_s, error, lead_error, overshoot, lead_overshoot)


def _paced(
    poses: list[Array],
    filter_config: FilterConfig,
    send_times: Array,
    seed: int,
    noise: float = 1.0,
    *,
    latency_s: float = 0.0,
    lead: bool = False,
) -> tuple[Array, Array]:
    """The arm's angle (unwrapped) at each send time: predicted, and held from the last frame.
    Frames reach the sender latency_s after their time; the sends' clock is their arrival, or
    with lead their capture (leading by the latency, as outputs.lead_latency does)."""
    solved = list(_solved(poses, filter_config, seed, noise))
    predictor = Predictor()
    predicted, held = [], []
    next_frame = 0
    for send_s in send_times:
        while next_frame < len(solved) and solved[next_frame][0] + latency_s <= send_s:
            predictor.add(*solved[next_frame])
            next_frame += 1
        pose = (
            predictor.at(float(send_s), latency_s)
            if lead
            else predictor.at(float(send_s) - latency_s)
        )
        predicted.append(pose.local_rotations[_ARM])
        held.append(solved[next_frame - 1][1].local_rotations[_ARM])
    return _arm_deg(np.stack(predicted)), _arm_deg(np.stack(held))


def format_motion(
    filtered: MotionFigures,
    raw: MotionFigures,
    paced: PacedFigures | None,
    latency: LatencyFigures | None = None,
) -> list[str]:
    """A Markdown table: the README's motion table is this output."""
    lines = [
        "| motion (synthetic, 30 fps, 1 cm + 2 px noise) | filtered | unfiltered |",
        "|---|---:|---:|",
        *(
            f"| still, {group}: worst p95 frame-to-frame change, deg "
            f"| {filtered.jitter_deg[group][0]:.2f} ({filtered.jitter_deg[group][1]}) "
            f"| {raw.jitter_deg[group][0]:.2f} ({raw.jitter_deg[group][1]}) |"
            for group in JITTER_GROUPS
        ),
        f"| arm raised at {SWEEP_DPS:.0f} deg/s: lag, ms | {filtered.lag_ms:.0f} "
        f"| {raw.lag_ms:.0f} |",
        f"| the same, overshoot at the stop, deg | {filtered.overshoot_deg:.1f} "
        f"| {raw.overshoot_deg:.1f} |",
    ]
    if paced is not None:
        lines += [
            "",
            f"| sent at {paced.rate_hz:g} Hz from 30 fps (filtered) | predicted "
            "| last frame held |",
            "|---|---:|---:|",
            f"| mean error against the truth at send time, deg | {paced.error_deg:.2f} "
            f"| {paced.held_error_deg:.2f} |",
            f"| steps at a constant {STEADY_DPS:.0f} deg/s, p95 / mean, no noise "
            f"| {paced.step_ratio:.2f} | 3 (stairs) |",
            f"| the same with the noise | {paced.noisy_step_ratio:.2f} | 3 (stairs) |",
            f"| overshoot at the stop, deg | {paced.overshoot_deg:.1f} | - |",
            "| still, torso, head and limbs: worst p95 frame-to-frame change, deg "
            f"| {paced.still_sent_deg[0]:.2f} ({paced.still_sent_deg[1]}) "
            f"| {paced.still_filtered_deg[0]:.2f} ({paced.still_filtered_deg[1]}) |",
        ]
    if latency is not None:
        lines += [
            "",
            f"| {latency.latency_ms:.0f} ms from capture to the sender | as sent "
            "| leading by the latency |",
            "|---|---:|---:|",
            f"| mean error against where the arm is at send time, deg | {latency.error_deg:.2f} "
            f"| {latency.lead_error_deg:.2f} |",
            f"| overshoot at the stop, deg | {latency.overshoot_deg:.1f} "
            f"| {latency.lead_overshoot_deg:.1f} |",
        ]
    return lines
