"""The rotation filter on the solver's output: noise smoothed in every group, motion followed
without overshoot, lost parts' hold and ease untouched, fresh starts after loss, gaps and time
going back."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy.spatial.transform import Rotation

from mocap.bench.synthetic import with_noise
from mocap.config import FilterConfig, SolverConfig
from mocap.frames import PoseFrame, absent
from mocap.solve import AvatarFrame, AvatarSolver, batched
from mocap.solve.filter import FilteredSolver, RotationFilter, smoothing_factor
from mocap.solve.humanoid import INDEX
from mocap.solve.tracking import GROUP_BONES, GROUP_NAMES, LEFT_HAND
from tests import synthetic
from tests.runs import REPO, mocap_env
from tests.synthetic import posed, turn

Array = npt.NDArray[np.float64]
FPS = 30.0
SOLVER = SolverConfig(mirror=False, hold_s=0.3, ease_s=0.3)
POSE = posed(
    LeftUpperArm=turn("z", 60),
    RightUpperArm=turn("z", -60),
    LeftLowerArm=turn("y", 30),
    RightLowerArm=turn("y", -30),
)
LEFT_HAND_BONES = [INDEX[name] for name in GROUP_BONES[LEFT_HAND]]


def noisy_frames(count: int, seed: int = 1, rotations: Array = POSE) -> list[PoseFrame]:
    rng = np.random.default_rng(seed)
    return [
        with_noise(synthetic.pose_frame(rotations, i / FPS), rng, 0.01, 2.0) for i in range(count)
    ]


def without_left_hand(frame: PoseFrame) -> PoseFrame:
    return dataclasses.replace(frame, left_hand=absent(*frame.left_hand.shape))


DEFAULTS = FilterConfig()


def solved(frames: list[PoseFrame], config: FilterConfig = DEFAULTS) -> list[AvatarFrame]:
    solver = FilteredSolver(SOLVER, config)
    return [solver(frame) for frame in frames]


def steps_deg(avatars: list[AvatarFrame], bone: str) -> Array:
    rotations = np.stack([a.local_rotations[INDEX[bone]] for a in avatars])
    step = batched.turn_from(rotations[:-1], rotations[1:])
    return np.degrees(batched.angles_rad(batched.log(step)))


def test_smoothing_factor_is_a_first_order_low_pass() -> None:
    assert smoothing_factor(1.0, 0.0) == 0.0
    assert float(smoothing_factor(1000.0, 1.0)) == pytest.approx(1.0, abs=1e-3)
    tau_s = 1.0 / (2.0 * np.pi)
    assert float(smoothing_factor(1.0, tau_s)) == pytest.approx(0.5)


@pytest.mark.parametrize("bone", ["Spine", "Head", "LeftUpperArm", "LeftIndexProximal", "LeftEye"])
def test_still_noise_is_smoothed_in_every_group(bone: str) -> None:
    frames = noisy_frames(90)
    raw = steps_deg(solved(frames, FilterConfig(enabled=False)), bone)[30:]
    filtered = steps_deg(solved(frames), bone)[30:]
    assert np.percentile(filtered, 95) < 0.5 * np.percentile(raw, 95)


def test_still_noise_in_expressions_is_smoothed() -> None:
    frames = noisy_frames(90)
    raw = solved(frames, FilterConfig(enabled=False))[30:]
    filtered = solved(frames)[30:]
    noisiest = max(raw[0].blendshapes, key=lambda n: np.std([a.blendshapes[n] for a in raw]))
    raw_std = np.std([a.blendshapes[noisiest] for a in raw])
    assert raw_std > 0.0
    assert np.std([a.blendshapes[noisiest] for a in filtered]) < 0.6 * raw_std


def arm_deg(avatar: AvatarFrame) -> float:
    """The left upper arm's angle about z (the sweep's axis)."""
    direction = Rotation.from_quat(avatar.local_rotations[INDEX["LeftUpperArm"]]).apply(
        [-1.0, 0.0, 0.0]
    )
    return float(np.degrees(np.arctan2(-direction[1], -direction[0])))


def test_a_sweep_is_followed_and_its_stop_not_overshot() -> None:
    """The arm raised at 180 degrees/s from 60 to -60 degrees, then held (no noise)."""
    angles = [max(60.0 - 180.0 * max(i / FPS - 0.5, 0.0), -60.0) for i in range(60)]
    frames = [
        synthetic.pose_frame(posed(LeftUpperArm=turn("z", a)), i / FPS)
        for i, a in enumerate(angles)
    ]
    raw = [arm_deg(a) for a in solved(frames, FilterConfig(enabled=False))]
    filtered = [arm_deg(a) for a in solved(frames)]
    assert raw[-1] == pytest.approx(-60.0, abs=0.5)
    assert min(filtered) >= raw[-1] - 0.5  # never past the stop
    assert filtered[-1] == pytest.approx(raw[-1], abs=1.0)  # settled 0.5 s after it
    midway = next(i for i, a in enumerate(angles) if a <= 0.0)
    assert filtered[midway] - raw[midway] < 20.0  # lags less than ~110 ms at 180 degrees/s


def arm_swing_steps_deg(twist_noise_deg: float) -> Array:
    """The filtered left upper arm's frame-to-frame change of direction (its swing, which twist
    does not move) for a still arm with 2 degrees of swing noise and twist_noise_deg of noise
    about its own axis (X)."""
    rng = np.random.default_rng(7)
    template = AvatarSolver(SOLVER)(synthetic.pose_frame(POSE, 0.0))
    bone = INDEX["LeftUpperArm"]
    rotation_filter = RotationFilter(DEFAULTS, mirrored=False)
    directions = []
    for i in range(150):
        noise = np.radians(rng.normal(0.0, [twist_noise_deg, 2.0, 2.0]))[None, :]
        rotations = template.local_rotations.copy()
        rotations[bone] = batched.multiply(rotations[None, bone], batched.exp(noise))[0]
        avatar = dataclasses.replace(template, local_rotations=rotations)
        out = rotation_filter(avatar, i / FPS, [True] * len(GROUP_NAMES)).local_rotations[bone]
        direction = Rotation.from_quat(out).apply([-1.0, 0.0, 0.0])
        directions.append(direction)
    cosines = (np.stack(directions[:-1]) * np.stack(directions[1:])).sum(axis=1)
    steps: Array = np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))[30:]
    return steps


def test_twist_noise_does_not_let_the_swing_noise_through() -> None:
    """Swing and twist have their own cutoffs: a poorly measured twist (a straight elbow's)
    moving fast does not open the filter to the swing's noise."""
    calm = np.percentile(arm_swing_steps_deg(0.0), 95)
    assert np.percentile(arm_swing_steps_deg(15.0), 95) < 1.1 * calm


def caught_up(avatar: AvatarFrame) -> AvatarFrame:
    """The filtered frame turned on by its lag, as the paced outputs send it at its time."""
    assert avatar.lag_rad is not None
    rotations = batched.multiply(avatar.local_rotations, batched.exp(avatar.lag_rad))
    return dataclasses.replace(avatar, local_rotations=rotations)


def test_the_lag_makes_up_for_the_filter_on_a_move_and_never_passes_its_stop() -> None:
    """The arm raised at 180 degrees/s then held: the filtered frame turned on by its lag is
    much nearer the solver's than the filtered one while moving, and never past the stop."""
    angles = [max(60.0 - 180.0 * max(i / FPS - 0.5, 0.0), -60.0) for i in range(60)]
    frames = [
        synthetic.pose_frame(posed(LeftUpperArm=turn("z", a)), i / FPS)
        for i, a in enumerate(angles)
    ]
    raw = np.array([arm_deg(a) for a in solved(frames, FilterConfig(enabled=False))])
    avatars = solved(frames)
    filtered = np.array([arm_deg(a) for a in avatars])
    sent = np.array([arm_deg(caught_up(a)) for a in avatars])
    moving = (np.array(angles) < 30.0) & (np.array(angles) > -60.0)
    assert np.abs(sent - raw)[moving].mean() < 0.5 * np.abs(filtered - raw)[moving].mean()
    assert sent.min() >= raw[-1] - 0.5


def test_without_a_paced_output_no_lag_is_estimated_and_the_rotations_are_the_same() -> None:
    frames = noisy_frames(40)
    with_lag = solved(frames)
    solver = FilteredSolver(SOLVER, DEFAULTS, estimate_lag=False)
    without = [solver(frame) for frame in frames]
    assert all(a.lag_rad is None for a in without)
    assert all(a.lag_rad is not None for a in with_lag)
    for a, b in zip(with_lag, without, strict=True):
        np.testing.assert_array_equal(a.local_rotations, b.local_rotations)
        assert a.blendshapes == b.blendshapes


def test_the_lag_brings_little_noise_back_on_a_still_pose() -> None:
    """Of the noise the filter takes away (p95 frame-to-frame change), the lag brings back at
    most a tenth."""
    frames = noisy_frames(120)
    avatars, raw = solved(frames), solved(frames, FilterConfig(enabled=False))
    for bone in ("Spine", "LeftUpperArm", "LeftLowerArm", "LeftIndexProximal", "LeftEye"):
        noisy, filtered, sent = (
            np.percentile(steps_deg(frames_of, bone)[30:], 95)
            for frames_of in (raw, avatars, [caught_up(a) for a in avatars])
        )
        assert sent - filtered < 0.1 * (noisy - filtered), bone


def test_a_lost_part_is_held_and_eased_as_the_solver_does() -> None:
    frames = noisy_frames(20) + [without_left_hand(f) for f in noisy_frames(30, seed=2)[20:]]
    frames = [dataclasses.replace(f, timestamp_s=i / FPS) for i, f in enumerate(frames)]
    unfiltered = AvatarSolver(SOLVER)
    plain = [unfiltered(frame) for frame in frames]
    filtered = solved(frames)
    for raw, smooth in zip(plain[20:], filtered[20:], strict=True):
        np.testing.assert_array_equal(
            smooth.local_rotations[LEFT_HAND_BONES], raw.local_rotations[LEFT_HAND_BONES]
        )
        assert smooth.lag_rad is not None and not smooth.lag_rad[LEFT_HAND_BONES].any()


def test_a_reappearing_part_starts_from_the_solver_without_a_jump() -> None:
    lost = [without_left_hand(f) for f in noisy_frames(20)]
    back = noisy_frames(21, seed=3)[20:]  # its first frame back
    frames = lost + back
    unfiltered = AvatarSolver(SOLVER)
    plain = [unfiltered(frame) for frame in frames]
    filtered = solved(frames)
    np.testing.assert_array_equal(
        filtered[-1].local_rotations[LEFT_HAND_BONES], plain[-1].local_rotations[LEFT_HAND_BONES]
    )


@pytest.mark.parametrize("next_t_s", [0.0, 10.0], ids=["time going back", "a long gap"])
def test_a_restart_passes_the_first_frame_through(next_t_s: float) -> None:
    frames = noisy_frames(10)
    later = dataclasses.replace(noisy_frames(11, seed=4)[10], timestamp_s=next_t_s)
    filtered = solved([*frames, later])[-1]
    fresh = FilteredSolver(SOLVER, FilterConfig(enabled=False))
    for frame in frames:
        fresh(frame)
    np.testing.assert_allclose(filtered.local_rotations, fresh(later).local_rotations, atol=1e-12)


def test_the_output_is_finite_unit_and_continuous_whatever_comes_in() -> None:
    frames = noisy_frames(10)
    nothing = PoseFrame.empty(10, 10 / FPS, synthetic.IMAGE_SIZE, 478)
    avatars = solved([*frames, nothing, *noisy_frames(20, seed=5)[11:]])
    rotations = np.stack([a.local_rotations for a in avatars])
    assert np.isfinite(rotations).all()
    np.testing.assert_allclose(np.linalg.norm(rotations, axis=2), 1.0, atol=1e-9)
    assert ((rotations[1:] * rotations[:-1]).sum(axis=2) >= 0.0).all()  # no sign flips
    assert all(0.0 <= w <= 1.0 for a in avatars for w in a.blendshapes.values())


def test_filter_off_is_the_plain_solver() -> None:
    frames = noisy_frames(10)
    plain = AvatarSolver(SOLVER)
    for frame, avatar in zip(frames, solved(frames, FilterConfig(enabled=False)), strict=True):
        np.testing.assert_array_equal(avatar.local_rotations, plain(frame).local_rotations)


COMPILE_STATS = """
from mocap.solve.filter_step import filter_step
stats = filter_step.stats
print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def test_a_later_process_loads_the_compiled_step_from_its_cache() -> None:
    """The step is compiled once (about a second) and its machine code kept: a run that starts
    after another compiles nothing."""
    runs = [
        subprocess.run(
            [sys.executable, "-c", COMPILE_STATS],
            env=mocap_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout.split()
        for _ in range(2)
    ]
    hits, misses = runs[1]
    assert (hits, misses) == ("1", "0")


def _can_unshare_mounts() -> bool:
    try:
        return subprocess.run(["unshare", "-m", "true"], check=False).returncode == 0
    except FileNotFoundError:
        return False


# In a mount namespace of its own: the package and HOME bound read-only over themselves, then one
# bone's step through the compiled function.
READ_ONLY_STEP = """
mount --bind -o ro "$1" "$1" && mount --bind -o ro "$2" "$2" && cd / && HOME="$2" exec "$3" -c '
import numpy as np
from mocap.solve.filter_step import filter_step
filtered, steady = np.zeros((1, 4)), np.zeros(1, dtype=np.bool_)
filter_step(
    np.array([[0.0, 0.0, 0.0, 1.0]]), np.array([[0.0, 0.0, 1.0, 0.0]]),
    bone_groups=np.array([0]), groups_tracked=np.array([True]),
    bones_tracked=np.array([True]), rates=np.zeros((1, 3)), twist_axes=np.zeros((1, 3)),
    min_cutoff_hz=np.ones(1), beta=np.zeros(1), dt_s=0.04, rate_alpha=0.5,
    filtered=filtered, steady=steady,
)
print(filter_step.stats.cache_path, steady[0], round(float(np.linalg.norm(filtered[0])), 9))
'
"""


@pytest.mark.skipif(not _can_unshare_mounts(), reason="needs root for `unshare -m`")
def test_the_step_is_compiled_in_memory_where_nothing_is_writable(tmp_path: Path) -> None:
    """A read-only install and home (a container run --read-only): numba has nowhere to keep the
    machine code, and mocap still starts, compiling it at every start."""
    package, home = tmp_path / "package", tmp_path / "home"
    shutil.copytree(
        REPO / "mocap", package / "mocap",
        ignore=shutil.ignore_patterns("__pycache__", "*.task", "*.mp4"),
    )  # fmt: skip
    home.mkdir()
    env = {k: v for k, v in mocap_env().items() if not k.startswith("NUMBA_")}
    env["PYTHONPATH"] = str(package)
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", READ_ONLY_STEP, "sh", package, home, sys.executable],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "True", "1.0"]  # not cached; the step ran
