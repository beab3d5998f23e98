"""`mocap bench --motion-only`: the motion phase's tables from synthetic motion, no model."""

from __future__ import annotations

from tests.runs import run_mocap


def test_the_motion_phase_reports_jitter_lag_overshoot_and_paced_sends() -> None:
    result = run_mocap("bench", "--motion-only", "--rate", "90")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for row in ("still, torso and head", "still, arms", "lag, ms", "overshoot at the stop",
                "mean error against the truth at send time", "steps at a constant",
                "still, torso, head and limbs"):  # fmt: skip
        assert any(line.startswith(f"| {row}") or row in line for line in lines), row
    assert "sent at 90 Hz" in result.stdout
    assert "ms from capture to the sender | as sent | leading by the latency" in result.stdout


def test_a_bench_rate_out_of_range_is_refused() -> None:
    result = run_mocap("bench", "--motion-only", "--rate", "nan")
    assert result.returncode == 2
    assert "--rate must be in" in result.stderr
