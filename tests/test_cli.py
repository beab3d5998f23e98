"""The other commands: help, cameras, bench."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import cv2
import pytest

from mocap.track import legacy_installed
from tests.runs import VIDEO, run_mocap


def test_help_documents_every_run_flag() -> None:
    result = run_mocap("run", "--help")
    assert result.returncode == 0
    for flag in ["--camera", "--video", "--no-realtime", "--demo", "--config", "--osc", "--ws",
                 "--no-preview", "--frames", "--duration", "--stats"]:  # fmt: skip
        assert flag in result.stdout


NO_CAMERAS = "no cameras found (a stream URL works too: mocap run --camera http://...)"
CAMERA_ROW = re.compile(r"(\d+)\t[^\t]*\t(/dev/video\d+)\t(\d+x\d+(, \d+x\d+)*|unknown)")


def video_devices() -> set[str]:
    """The V4L2 nodes here (/dev/videoN): what `mocap cameras` may list on Linux."""
    return {str(node) for node in Path("/dev").glob("video*") if node.name[5:].isdigit()}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="cameras are /dev/video* nodes")
def test_cameras_lists_only_this_machines_video_devices_or_says_there_are_none() -> None:
    """Holds with or without cameras: a node that does not open (a metadata node) is left out,
    so with none that opens the listing says so."""
    result = run_mocap("cameras")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    if lines == [NO_CAMERAS]:
        return
    rows = [CAMERA_ROW.fullmatch(line) for line in lines]
    assert all(rows), lines
    listed = {row.group(2): int(row.group(1)) for row in rows if row}
    assert set(listed) <= video_devices()
    assert all(device == f"/dev/video{index}" for device, index in listed.items())


def test_bench_prints_every_phase_with_its_ratio_to_inference_and_plots_them(
    tmp_path: Path,
) -> None:
    chart = tmp_path / "bench.png"
    result = run_mocap(
        "bench", "--video", VIDEO, "--frames", "12", "--rounds", "1", "--plot", chart
    )
    assert result.returncode == 0, result.stderr
    image = cv2.imread(str(chart))
    assert image is not None and image.shape == (900, 1200, 3)  # 12 x 9 inches at 100 dpi
    assert f"chart written to {chart}" in result.stderr
    pipeline_table, motion_tables = result.stdout.split("\n\n", 1)  # the motion phase's after
    assert "| still, torso and head" in motion_tables
    rows = [line for line in pipeline_table.splitlines() if line.startswith("| ")][1:]
    names = [row.split("|")[1].strip() for row in rows]
    assert names[0] == "inference alone (pre-decoded)"
    assert names[1].startswith("naive loop")
    assert names[2:5] == [
        "pipeline, OSC + WebSocket, no preview",
        "pipeline + solver + VMC + VRChat, OSC + WebSocket, no preview",
        "pipeline, OSC + WebSocket, preview drawn",
    ]
    assert names[5].startswith("pipeline, camera at 80% of inference rate")
    assert names[6].startswith("pipeline + solver + VMC + VRChat, camera at")
    for solved in (rows[3], rows[6]):
        assert solved.split("|")[7].strip() != "-"  # the solve cost is measured
        assert solved.split("|")[9].strip() != "-"  # ... and with the VMC output's
        assert solved.split("|")[11].strip() != "-"  # ... and the VRChat output's
    assert rows[2].split("|")[9].strip() == "-"  # no VMC without the solver
    assert rows[2].split("|")[11].strip() == "-"  # nor VRChat
    if legacy_installed():  # the tasks backend scores the face inside its graph: no column
        for row in (rows[0], *rows[2:]):
            assert row.split("|")[10].strip() != "-"  # the blendshape model's own cost
    assert rows[0].split("|")[3].strip() == "1.00"
    for row in rows:
        assert float(row.split("|")[2]) > 0  # frames per second


def test_bench_refuses_a_missing_video() -> None:
    result = run_mocap("bench", "--video", "/nonexistent.mp4")
    assert result.returncode == 2 and "not found" in result.stderr
