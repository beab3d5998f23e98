"""The One Euro filter and the PoseFrame smoother: arrays in, arrays out (no I/O)."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mocap import skeleton
from mocap.config import SmoothingConfig
from mocap.frames import FloatArray, ImageSize, PoseFrame, absent, frozen
from mocap.track.smoothing import OneEuroFilter, PoseSmoother

RATE_HZ = 60.0


def run(one_euro: OneEuroFilter, samples: npt.ArrayLike, rate_hz: float = RATE_HZ) -> FloatArray:
    """Feed samples (first axis: time) at a fixed rate; return the outputs stacked the same way."""
    return np.stack(
        [one_euro(sample, index / rate_hz) for index, sample in enumerate(np.asarray(samples))]
    )


def default_filter(beta: float = 0.3) -> OneEuroFilter:
    return OneEuroFilter(min_cutoff_hz=1.0, beta=beta, d_cutoff_hz=1.0)


# --- OneEuroFilter: response -------------------------------------------------------------------


def test_first_sample_passes_through_unchanged() -> None:
    sample = np.array([[0.25, -3.5, np.nan], [1e-3, 7.0, 0.0]], dtype=np.float32)
    out = default_filter()(sample, 12.5)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, sample)


def test_step_moves_toward_the_target_monotonically_and_settles() -> None:
    samples = np.r_[np.zeros(10), np.ones(int(3 * RATE_HZ))].astype(np.float32)
    out = run(default_filter(), samples)
    after_step = out[10:]
    assert np.all(np.diff(after_step) >= 0)
    assert np.all((after_step > 0) & (after_step <= 1))
    assert after_step[0] < 0.5  # eased, not jumped
    assert after_step[-1] == pytest.approx(1.0, abs=1e-4)


def test_ramp_lag_shrinks_as_beta_grows() -> None:
    speed = 0.5  # units/s
    samples = speed * np.arange(int(3 * RATE_HZ)) / RATE_HZ

    def final_lag(beta: float) -> float:
        return float(samples[-1] - run(default_filter(beta), samples)[-1])

    lags = [final_lag(beta) for beta in (0.0, 0.5, 2.0, 8.0)]
    assert all(lag > 0 for lag in lags)
    assert lags == sorted(lags, reverse=True)
    assert lags[-1] < lags[0] / 2


def test_noise_on_a_constant_is_mostly_removed() -> None:
    rng = np.random.default_rng(7)
    noisy = (0.5 + rng.normal(0.0, 0.01, size=(600, 4))).astype(np.float32)
    out = run(default_filter(), noisy, rate_hz=30.0)
    warmed_up = slice(30, None)  # the first sample passes through as it is
    assert out[warmed_up].var() < noisy[warmed_up].var() / 4
    assert out[warmed_up].mean() == pytest.approx(0.5, abs=0.005)


def test_time_comes_from_timestamps_not_from_frame_counts() -> None:
    step = np.ones(61, dtype=np.float32)
    step[0] = 0.0
    at_30_hz = run(default_filter(beta=0.0), step[:16], rate_hz=30.0)[-1]
    at_60_hz = run(default_filter(beta=0.0), step[:31], rate_hz=60.0)[-1]
    # Both after 0.5 s: close to each other (a frame count would give very different values).
    assert at_30_hz == pytest.approx(at_60_hz, abs=0.01)


# --- OneEuroFilter: NaN, timestamps, state -----------------------------------------------------


def test_nan_in_gives_nan_out_at_those_elements_only() -> None:
    rng = np.random.default_rng(1)
    samples = rng.random((20, 5, 3)).astype(np.float32)
    with_gaps = samples.copy()
    with_gaps[10:13, 1, 2] = np.nan
    with_gaps[15, 3, 0] = np.nan

    out = run(default_filter(), with_gaps)
    reference = run(default_filter(), samples)

    np.testing.assert_array_equal(np.isnan(out), np.isnan(with_gaps))
    untouched = np.ones((5, 3), dtype=bool)
    untouched[1, 2] = untouched[3, 0] = False
    np.testing.assert_array_equal(out[:, untouched], reference[:, untouched])


def test_a_value_after_nan_starts_fresh_from_itself() -> None:
    one_euro = default_filter()
    for index, value in enumerate([0.0, 0.0, 0.0, np.nan]):
        one_euro(np.array([value, 0.0], dtype=np.float32), index / RATE_HZ)
    back = one_euro(np.array([5.0, 5.0], dtype=np.float32), 4 / RATE_HZ)
    assert back[0] == np.float32(5.0)  # fresh start: exactly the new value
    assert 0.0 < back[1] < 5.0  # the element that stayed tracked eases in
    assert one_euro(np.array([5.0, 5.0], dtype=np.float32), 5 / RATE_HZ)[0] == np.float32(5.0)


def test_a_repeated_timestamp_returns_the_previous_output_and_changes_no_state() -> None:
    one_euro, reference = default_filter(), default_filter()
    first = np.array([1.0, 2.0], dtype=np.float32)
    later = np.array([1.5, 1.0], dtype=np.float32)
    previous = one_euro(first, 1.0)
    reference(first, 1.0)

    repeated = one_euro(np.array([9.0, np.nan], dtype=np.float32), 1.0)  # dt == 0: no division

    np.testing.assert_array_equal(repeated, previous)
    np.testing.assert_array_equal(one_euro(later, 1.1), reference(later, 1.1))


def test_a_clock_that_restarts_costs_one_frame() -> None:
    one_euro = default_filter()
    one_euro(np.zeros(2, dtype=np.float32), 100.0)
    ones = np.ones(2, dtype=np.float32)
    np.testing.assert_array_equal(one_euro(ones, 0.0), np.zeros(2))  # went back: held
    assert np.all(one_euro(ones, 1 / RATE_HZ) > 0)  # then filtering goes on from the new clock


@pytest.mark.parametrize(("previous", "new"), [(0.7, 0.2), (0.3, 0.1)])
def test_rounding_never_carries_the_output_past_the_new_sample(previous: float, new: float) -> None:
    one_euro = default_filter()
    one_euro(np.array([previous], dtype=np.float32), 0.0)
    # After so long a pause alpha rounds to 1, and in float32 previous + 1 * (new - previous)
    # lands one step past new for these pairs: the filter must clamp it.
    out = one_euro(np.array([new], dtype=np.float32), 1e9)
    assert out[0] == np.float32(new)


def test_the_output_is_a_new_array_that_does_not_share_the_state() -> None:
    one_euro = default_filter()
    out = one_euro(np.zeros(3), 0.0)
    out[:] = 100.0
    assert np.all(one_euro(np.zeros(3), 0.1) == 0.0)


def test_reset_forgets_the_state_and_the_shape() -> None:
    one_euro = default_filter()
    one_euro(np.zeros((2, 3)), 0.0)
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        one_euro(np.zeros((4, 3)), 0.1)
    one_euro.reset()
    assert one_euro.shape is None
    sample = np.full((4, 3), 7.0, dtype=np.float32)
    np.testing.assert_array_equal(one_euro(sample, 0.2), sample)
    assert one_euro.shape == (4, 3)


@pytest.mark.parametrize(
    ("min_cutoff_hz", "beta", "d_cutoff_hz"), [(0.0, 0.3, 1.0), (1.0, -0.1, 1.0), (1.0, 0.3, 0.0)]
)
def test_bad_parameters_are_refused(min_cutoff_hz: float, beta: float, d_cutoff_hz: float) -> None:
    with pytest.raises(ValueError, match="min_cutoff_hz"):
        OneEuroFilter(min_cutoff_hz, beta, d_cutoff_hz)


@pytest.mark.parametrize("timestamp_s", [float("nan"), float("inf")])
def test_a_non_finite_timestamp_is_refused(timestamp_s: float) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        default_filter()(np.zeros(3), timestamp_s)


# --- OneEuroFilter: the output is a convex combination of the inputs ---------------------------

_SAMPLE_SHAPE = (4,)
_samples = hnp.arrays(
    np.float32,
    _SAMPLE_SHAPE,
    elements=st.floats(-1e4, 1e4, width=32, allow_nan=False, allow_infinity=False),
)
# A step is a sample dt seconds after the previous one, or a reset. dt 0 is a repeated timestamp;
# long pauses make alpha round to 1, where float rounding alone would step past the new sample.
_dt_s = st.just(0.0) | st.floats(1e-4, 1.0) | st.floats(1.0, 1e9)
_steps = st.one_of(st.tuples(_dt_s, _samples), st.just(None))


@settings(max_examples=200)
@given(
    min_cutoff_hz=st.floats(0.01, 100.0),
    beta=st.floats(0.0, 100.0),
    d_cutoff_hz=st.floats(0.01, 100.0),
    first=_samples,
    steps=st.lists(_steps, max_size=30),
)
def test_outputs_stay_within_the_inputs_seen_since_the_last_reset(
    min_cutoff_hz: float,
    beta: float,
    d_cutoff_hz: float,
    first: FloatArray,
    steps: list[tuple[float, FloatArray] | None],
) -> None:
    one_euro = OneEuroFilter(min_cutoff_hz, beta, d_cutoff_hz)
    timestamp_s = 0.0
    lowest = highest = one_euro(first, timestamp_s)
    for step in steps:
        if step is None:
            one_euro.reset()
            lowest = np.full(_SAMPLE_SHAPE, np.inf, dtype=np.float32)
            highest = np.full(_SAMPLE_SHAPE, -np.inf, dtype=np.float32)
            continue
        dt_s, sample = step
        timestamp_s += dt_s
        lowest, highest = np.minimum(lowest, sample), np.maximum(highest, sample)
        out = one_euro(sample, timestamp_s)
        assert np.all((lowest <= out) & (out <= highest)), (out, lowest, highest)


# --- PoseSmoother -------------------------------------------------------------------------------


def pose_frame(
    index: int, rng: np.random.Generator, *, face_points: int = 478, right_hand: bool = True
) -> PoseFrame:
    """A frame at 30 fps with every part present but (optionally) the right hand."""
    hand = skeleton.HAND_POINTS
    return PoseFrame(
        index=index,
        timestamp_s=index / 30.0,
        image_size=ImageSize(width=640, height=480),
        pose=frozen(rng.random((skeleton.POSE_POINTS, 4)), skeleton.POSE_POINTS, 4),
        pose_world=frozen(rng.normal(0, 0.5, (skeleton.POSE_POINTS, 4)), skeleton.POSE_POINTS, 4),
        face=frozen(rng.random((face_points, 3)), face_points, 3),
        left_hand=frozen(rng.random((hand, 3)), hand, 3),
        right_hand=frozen(rng.random((hand, 3)), hand, 3) if right_hand else absent(hand, 3),
    )


def enabled_smoother() -> PoseSmoother:
    return PoseSmoother(SmoothingConfig(enabled=True))


def test_smoothed_frames_keep_shapes_dtypes_read_only_blocks_and_absent_parts() -> None:
    rng = np.random.default_rng(3)
    smoother = enabled_smoother()
    smoother(pose_frame(0, rng, right_hand=False))
    frame = pose_frame(1, rng, right_hand=False)

    smoothed = smoother(frame)

    assert (smoothed.index, smoothed.timestamp_s, smoothed.image_size) == (
        frame.index,
        frame.timestamp_s,
        frame.image_size,
    )
    for name, block in smoothed.parts().items():
        assert block.shape == frame.parts()[name].shape, name
        assert block.dtype == np.float32, name
        assert not block.flags.writeable, name
    assert np.isnan(smoothed.right_hand).all()


def test_visibility_passes_through_and_positions_are_smoothed() -> None:
    rng = np.random.default_rng(4)
    smoother = enabled_smoother()
    before = pose_frame(0, rng)
    smoother(before)
    frame = pose_frame(1, rng)

    smoothed = smoother(frame)

    for name in ("pose", "pose_world"):
        np.testing.assert_array_equal(smoothed.parts()[name][:, 3], frame.parts()[name][:, 3])
    for name, block in smoothed.parts().items():
        positions, old, new = block[:, :3], before.parts()[name][:, :3], frame.parts()[name][:, :3]
        assert not np.array_equal(positions, new), name
        assert np.all((np.minimum(old, new) <= positions) & (positions <= np.maximum(old, new)))


def test_the_input_frame_is_left_as_it_was() -> None:
    rng = np.random.default_rng(5)
    smoother = enabled_smoother()
    smoother(pose_frame(0, rng))
    frame = pose_frame(1, rng)
    copies = {name: block.copy() for name, block in frame.parts().items()}
    smoother(frame)
    for name, block in frame.parts().items():
        np.testing.assert_array_equal(block, copies[name])


def test_a_part_that_reappears_starts_fresh() -> None:
    rng = np.random.default_rng(6)
    smoother = enabled_smoother()
    smoother(pose_frame(0, rng))
    smoother(pose_frame(1, rng, right_hand=False))
    frame = pose_frame(2, rng)
    np.testing.assert_array_equal(smoother(frame).right_hand, frame.right_hand)


def test_a_change_of_face_point_count_resets_the_face_filter() -> None:
    rng = np.random.default_rng(8)
    smoother = enabled_smoother()
    smoother(pose_frame(0, rng, face_points=skeleton.FACE_POINTS_REFINED))
    frame = pose_frame(1, rng, face_points=skeleton.FACE_POINTS)
    smoothed = smoother(frame)
    np.testing.assert_array_equal(smoothed.face, frame.face)  # fresh start for the face
    assert not np.array_equal(smoothed.pose, frame.pose)  # the other parts kept their state


def test_reset_makes_the_next_frame_pass_through() -> None:
    rng = np.random.default_rng(10)
    smoother = enabled_smoother()
    smoother(pose_frame(0, rng))
    smoother.reset()
    frame = pose_frame(1, rng)
    smoothed = smoother(frame)
    for field in dataclasses.fields(PoseFrame):
        np.testing.assert_array_equal(getattr(smoothed, field.name), getattr(frame, field.name))


def test_a_present_part_with_a_lost_first_point_is_still_smoothed() -> None:
    rng = np.random.default_rng(11)
    smoother = enabled_smoother()
    smoother(pose_frame(0, rng))
    frame = pose_frame(1, rng)
    left_hand = frame.left_hand.copy()
    left_hand[0] = np.nan
    smoothed = smoother(dataclasses.replace(frame, left_hand=frozen(left_hand, *left_hand.shape)))
    assert np.isnan(smoothed.left_hand[0]).all()
    assert not np.array_equal(smoothed.left_hand[1:], left_hand[1:])
