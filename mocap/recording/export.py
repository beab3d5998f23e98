"""`mocap export`: a recording's solved motion written as a BVH file (format: mocap.recording.bvh).

Frames keep their recorded bones; a recording made without the solver is solved here, frame by
frame, with the config's [solver] settings (and its calibration, when it names one). One BVH
frame per recorded frame, the frame time the recording's mean frame interval (1/fps for a file
processed frame by frame).
"""

from __future__ import annotations

import logging
from pathlib import Path

from mocap.calibrate import configured_calibration
from mocap.config import Config
from mocap.encode.recording import mean_frame_interval_s
from mocap.errors import ConfigError
from mocap.recording.bvh import bvh_lines, motion_values
from mocap.recording.reader import LineProblems, RecordingReader
from mocap.solve.avatar import Float64Array
from mocap.solve.filter import FilteredSolver

log = logging.getLogger("mocap")


def export_bvh(recording: Path, output: Path, config: Config) -> None:
    reader = RecordingReader(recording)
    solver = FilteredSolver(  # as `mocap run` solves
        config.solver, config.filter, configured_calibration(config)
    )
    if reader.header.settings.get("solver") is None:
        log.info("the recording has no solved bones: solving them from its landmarks")
    report = LineProblems(recording)
    motion: list[Float64Array] = []
    times_s: list[float] = []
    for frame in reader.frames(report):
        avatar = frame.avatar if frame.avatar is not None else solver(frame.pose)
        motion.append(motion_values(avatar))
        times_s.append(frame.t_s)
    report.finish()
    if not motion:
        raise ConfigError(f"{recording} has no frame to export")
    frame_time_s = mean_frame_interval_s(
        times_s[0], times_s[-1], len(times_s), reader.header.source_fps
    )
    try:
        with output.open("w", encoding="ascii") as file:
            for line in bvh_lines(motion, len(motion), frame_time_s):
                file.write(line + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc.strerror}") from None
    log.info(
        "wrote %s: %d frames, %.3f s each (%.2f fps)",
        output,
        len(motion),
        frame_time_s,
        1.0 / frame_time_s,
    )
