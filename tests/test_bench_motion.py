"""`mocap bench --motion-only`: the motion phase's tables from synthetic motion, no model."""

from __future__ import annotations

from mocap.bench.run import PhaseResult, format_table, paired_round
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


def test_the_table_shows_the_median_of_paired_rounds() -> None:
    def round_of(inference_s: float, pipeline_s: float) -> list[PhaseResult]:
        return paired_round(
            [PhaseResult("inference", 100, inference_s), PhaseResult("pipeline", 100, pipeline_s)]
        )

    rounds = [round_of(4.0, 4.2), round_of(4.0, 8.0), round_of(5.0, 5.1)]  # one slow moment
    totals: list[PhaseResult] = []
    for results in rounds:
        totals = [a + b for a, b in zip(totals, results, strict=True)] if totals else results
    pipeline_row = format_table(totals)[3]
    # Per round: 4.0/4.2 = 0.952, 4.0/8.0 = 0.5, 5.0/5.1 = 0.980: the median is 0.95, where the
    # summed frames over summed time (13.0 / 17.3 = 0.75) would let the slow round decide.
    assert "| 0.95 |" in pipeline_row, pipeline_row
