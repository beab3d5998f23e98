"""The command line: parses flags into a Config, runs a command, maps errors to exit codes.

Exit codes: 0 done, 1 runtime failure, 2 bad usage or input, 130 SIGINT, 143 SIGTERM. Only this
module prints errors; everything below it raises MocapError.
"""

from __future__ import annotations

import argparse
import dataclasses
import faulthandler
import importlib
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mocap import __version__
from mocap.addresses import parse_endpoint
from mocap.config import (
    MAX_FRAMES,
    MAX_RATE_PER_S,
    MODEL_BACKENDS,
    VMC_DEFAULT_PORT,
    VMC_PROFILES,
    VRCHAT_DEFAULT_PORT,
    Config,
    FilterConfig,
    load,
    merge,
)
from mocap.errors import ConfigError, MocapError

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
MAX_BENCH_ROUNDS = 100

log = logging.getLogger("mocap")


# --- flags -------------------------------------------------------------------------------------


def endpoint_flag(text: str) -> str:
    """Check HOST:PORT at parse time so a typo is a usage error naming the flag."""
    try:
        parse_endpoint(text, what="address")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def endpoint_flag_with_port(default_port: int) -> Callable[[str], str]:
    """endpoint_flag for HOST[:PORT], the port default_port when omitted."""

    def flag(text: str) -> str:
        try:
            parse_endpoint(text, what="address", default_port=default_port)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    return flag


def _ascii_digits(text: str) -> bool:
    """0-9 only: str.isdigit() also takes superscripts and other digits int() refuses."""
    return text.isascii() and text.isdigit()


def size_flag(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not _ascii_digits(width) or not _ascii_digits(height):
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT (for example 1280x720)")
    return int(width), int(height)


def add_source_flags(parser: argparse.ArgumentParser) -> argparse._MutuallyExclusiveGroup:
    """The source flags; returns the group of the source choices (one of them)."""
    group = parser.add_argument_group("source (one of)")
    choice = group.add_mutually_exclusive_group()
    choice.add_argument(
        "--camera",
        metavar="N|DEVICE|URL",
        help="camera index, device path, or stream URL (http MJPEG, rtsp)",
    )
    choice.add_argument("--video", metavar="PATH", help="play a video file like a camera")
    choice.add_argument(
        "--demo", action="store_true", help="play the short clip bundled with mocap (loops)"
    )
    group.add_argument(
        "--no-realtime",
        action="store_true",
        help="with --video: process every frame as fast as possible",
    )
    group.add_argument(
        "--size", type=size_flag, metavar="WxH", help="requested camera resolution, e.g. 1280x720"
    )
    group.add_argument("--fps", type=float, help="requested camera frame rate")
    group.add_argument("--mjpg", action="store_true", help="ask the camera for MJPG")
    return choice


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("outputs (any given here replace the config's outputs)")
    group.add_argument(
        "--osc",
        action="append",
        type=endpoint_flag,
        metavar="HOST:PORT",
        help="send raw-landmark OSC bundles here (repeatable)",
    )
    group.add_argument(
        "--vmc",
        action="append",
        type=endpoint_flag_with_port(VMC_DEFAULT_PORT),
        metavar="HOST[:PORT]",
        help="send the solved avatar in the VMC protocol here, port 39539 if omitted (repeatable)",
    )
    group.add_argument(
        "--vrchat",
        action="append",
        type=endpoint_flag_with_port(VRCHAT_DEFAULT_PORT),
        metavar="HOST[:PORT]",
        help="send full-body trackers, head and eyes to VRChat's OSC here, port 9000 if omitted "
        "(repeatable; never mirrored; [vrchat] in the config chooses the trackers and height)",
    )
    group.add_argument(
        "--ws", type=endpoint_flag, metavar="HOST:PORT", help="serve the WebSocket JSON stream here"
    )


def add_avatar_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("avatar (the solver behind --vmc and the stream's bones)")
    group.add_argument(
        "--vmc-profile",
        choices=VMC_PROFILES,
        help="what the VMC receiver expects (default: generic)",
    )
    group.add_argument(
        "--vrm1-names", action="store_true", help="also send VRM1 expression names over VMC"
    )
    group.add_argument(
        "--perfect-sync",
        action="store_true",
        help="also send the face's 51 ARKit weights over VMC, for Perfect Sync avatars "
        "(spelling: [vmc] arkit_case, default per --vmc-profile)",
    )
    group.add_argument(
        "--no-mirror",
        action="store_true",
        help="raising your right hand raises the avatar's right hand (default: mirrored)",
    )
    group.add_argument(
        "--upper-body", action="store_true", help="never move the legs (seated users)"
    )
    group.add_argument(
        "--solve",
        action="store_true",
        help="solve bones and expressions for the WebSocket stream even without --vmc",
    )
    group.add_argument(
        "--calibration",
        metavar="FILE",
        help="apply a calibration file (mocap calibrate): the camera's pitch and roll removed, "
        "your neutral face as the expressions' baseline; live recalibration saves here",
    )
    group.add_argument(
        "--rate",
        type=float,
        metavar="HZ",
        help="avatar outputs (VMC, VRChat) send HZ times a second from their own timer, each send "
        "the pose predicted for its time, smooth at any inference rate (default: 0, one send per "
        "frame; outputs.rate_hz)",
    )


def add_access_flags(parser: argparse.ArgumentParser) -> None:
    """Who may connect and where data may go (run, replay)."""
    group = parser.add_argument_group("access (see README: Privacy and access control)")
    group.add_argument(
        "--token",
        help="WebSocket clients must present it (Authorization: Bearer TOKEN, or ?token=TOKEN); "
        "required to serve beyond 127.0.0.1. Precedence: --token, then the MOCAP_TOKEN "
        "environment variable, then server.token. Other users can see flags in the process "
        "list: prefer MOCAP_TOKEN",
    )
    group.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow --osc/--vmc/--vrchat targets that are not on this machine",
    )
    group.add_argument(
        "--log-file",
        metavar="FILE",
        help="append the access log (connections, refusals; never landmarks) to FILE",
    )


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE|PRESET",
        help=f"a TOML config file, or a preset name: {', '.join(preset_names())}",
    )


def add_verbose_flag(parser: argparse.ArgumentParser, default: Any) -> None:
    """--verbose before the command or, for run, after it too. A command's own flag defaults to
    SUPPRESS: argparse would otherwise reset the value given before the command."""
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=default,
        help="show debug messages, MediaPipe's native log lines, and the traceback of an "
        "internal error",
    )


def add_run_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="track a camera, video or stream and publish the landmarks",
        description="Track a person with MediaPipe Holistic and publish every frame over OSC "
        "and WebSocket on this machine, with a preview window.",
    )
    add_source_flags(parser)
    add_output_flags(parser)
    add_avatar_flags(parser)
    add_access_flags(parser)
    add_config_flag(parser)
    parser.add_argument("--no-preview", action="store_true", help="no preview window")
    parser.add_argument("--frames", type=int, metavar="N", help="stop after N frames")
    parser.add_argument(
        "--duration", type=float, metavar="S", help="stop after S seconds of capture"
    )
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="also write every frame's landmarks (and solved avatar) to FILE, one JSON line each "
        "(gzip when FILE ends in .gz); not an output: the outputs run as they would without it",
    )
    parser.add_argument("--stats", action="store_true", help="print a stats line every few seconds")
    parser.add_argument(
        "--smooth",
        action="store_true",
        help="extra One Euro smoothing (see [smoothing] in the config)",
    )
    parser.add_argument(
        "--complexity",
        type=int,
        choices=(0, 1, 2),
        help="pose model complexity (0 and 2 only when installed)",
    )
    parser.add_argument(
        "--backend",
        choices=MODEL_BACKENDS,
        help="MediaPipe API: legacy (Python < 3.13), tasks (mocap's own model bundle), "
        "auto (legacy where installed, else tasks; the default)",
    )
    add_verbose_flag(parser, argparse.SUPPRESS)
    parser.set_defaults(handler=command_run)


def add_cameras_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "cameras",
        help="list the cameras on this machine",
        description="List cameras with index, name and resolutions.",
    )
    parser.set_defaults(handler=command_cameras)


def add_bench_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "bench",
        help="measure throughput and latency, stage by stage",
        description="Measure, in one run on one video: inference alone, a naive single-thread "
        "loop, and mocap's pipeline with and without preview drawing, with and without the "
        "avatar solver, VMC and VRChat; frames per second, the ratio to inference alone, "
        "capture-to-send latency, and what solving, publishing, solving plus VMC, and VRChat "
        "cost a frame.",
    )
    parser.add_argument(
        "--video",
        type=Path,
        metavar="PATH",
        help="the video to measure on (default: the bundled demo clip)",
    )
    parser.add_argument(
        "--frames", type=int, default=0, metavar="N", help="use the first N frames (default: all)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, metavar="N",
        help="run every phase N times, interleaved (default: 2)",
    )  # fmt: skip
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="also draw the results as a chart: throughput, stage costs, latency distribution",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        metavar="HZ",
        help="VMC and VRChat send at HZ in the avatar phases, and the motion phase measures "
        "sends at HZ from 30 fps frames (as `run --rate`)",
    )
    parser.add_argument(
        "--motion-only",
        action="store_true",
        help="only the motion phase (synthetic motion, no model, a few seconds)",
    )
    parser.set_defaults(handler=command_bench)


def add_replay_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "replay",
        help="publish a recording (mocap run --record) with its original timing",
        description="Publish a recording to the same outputs as a run (OSC, VMC, WebSocket), "
        "each frame at its recorded time: consumers cannot tell it from a live run. Bones are "
        "sent as recorded; a recording without them is solved when --vmc (or --solve) asks.",
        epilog="A line that cannot be read (a partial last line left by a kill, a corrupt line) "
        "is reported with its number and skipped; the rest plays.",
    )
    parser.add_argument("recording", type=Path, metavar="FILE", help="a recording (.jsonl or .gz)")
    add_output_flags(parser)
    add_avatar_flags(parser)
    add_access_flags(parser)
    add_config_flag(parser)
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="play X times as fast, from 0.01 to 100 (default: 1; 0.5 is half speed)",
    )
    parser.add_argument(
        "--loop", action="store_true", help="start over at the end, until stopped (Ctrl-C)"
    )
    parser.add_argument(
        "--no-solve",
        action="store_true",
        help="never run the solver: a recording without bones then sends VMC nothing",
    )
    parser.set_defaults(handler=command_replay)


def add_export_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "export",
        help="write a recording's motion as BVH (Blender, Maya, MotionBuilder)",
        description="Write the solved motion of a recording as a BVH file: the 55 humanoid "
        "bones in their rest pose, and one frame per recorded frame at the recorded rate. A "
        "recording made without the solver is solved now, with the config's [solver] settings.",
    )
    parser.add_argument("recording", type=Path, metavar="FILE", help="a recording (.jsonl or .gz)")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="OUT.bvh", help="the BVH file to write"
    )
    add_config_flag(parser)
    parser.set_defaults(handler=command_export)


def add_image_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "image",
        help="annotate photos: the landmarks drawn on a copy, and as JSON",
        description="Find the person in each photo with MediaPipe Holistic; write a copy with "
        "the landmarks drawn, and the landmarks as JSON (the stream's frame fields: size, pose, "
        "pose_world, face, left_hand, right_hand). With neither -o nor --json, NAME.annotated.jpg "
        "and NAME.json are written next to each photo; with either, only what it names. A "
        "photo itself is never overwritten.",
        epilog="Checks: the type is judged by content (JPEG, PNG, WebP or BMP, whatever the "
        "name); the size is read from the header, so a photo over photos.max_pixels (10 "
        "megapixels) is never decoded; the short side must be at least photos.min_side_px (64 "
        "px), no side longer than 32766 px, the long side at most 16 times the short one. A "
        "refused photo is one line and the others go on. Exit code 2 when any photo was "
        "refused or a pattern matched nothing, 0 otherwise.",
    )
    parser.add_argument(
        "photos",
        nargs="+",
        metavar="PHOTO",
        help="photo files, or quoted patterns such as 'shots/*.jpg' (patterns skip mocap's own "
        "outputs: *.annotated.jpg and *.json)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write the annotated copies here: a file (.jpg, .png, .webp or .bmp) for one "
        "photo, a folder for several or for a pattern (created if missing)",
    )
    parser.add_argument(
        "--json",
        metavar="OUT",
        help="write the landmarks as JSON here: a file for one photo, a folder for several",
    )
    add_config_flag(parser)
    parser.set_defaults(handler=command_image)


def add_calibrate_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "calibrate",
        help="measure a neutral pose and face, and write a calibration file",
        description="Record a few seconds of a neutral pose (stand or sit upright facing the "
        "camera, eyes open looking ahead, mouth relaxed) and write what it measures as a "
        "calibration file (mocap.calibration/1, JSON): the camera's pitch and roll, and your "
        "neutral eye openness, mouth width, mouth corners and brows. `mocap run` and `mocap "
        "replay` apply it with --calibration FILE (or [solver] calibration).",
        epilog="With --recording no model is loaded: the recording's first seconds are used.",
    )
    choice = add_source_flags(parser)
    choice.add_argument(
        "--recording",
        type=Path,
        metavar="FILE",
        help="use a recording's landmarks (mocap run --record) instead of a camera or video",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=3.0,
        metavar="S",
        help="how long the take lasts (default: 3)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FILE",
        help="the calibration file to write (replaced if it exists)",
    )
    add_config_flag(parser)
    parser.set_defaults(handler=command_calibrate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mocap", description="Local, private, real-time motion capture."
    )
    parser.add_argument("--version", action="version", version=f"mocap {__version__}")
    add_verbose_flag(parser, False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_run_parser(commands)
    add_cameras_parser(commands)
    add_bench_parser(commands)
    add_image_parser(commands)
    add_replay_parser(commands)
    add_export_parser(commands)
    add_calibrate_parser(commands)
    return parser


# --- flags -> config ---------------------------------------------------------------------------


def presets_dir() -> Path:
    """configs/ at the top of the repository, installed as the package mocap.configs."""
    package = importlib.import_module("mocap.configs")  # where it was installed (or linked)
    assert package.__file__ is not None
    return Path(package.__file__).parent


def preset_names() -> list[str]:
    return sorted(path.stem for path in presets_dir().glob("*.toml"))


def config_path(name: str | None) -> Path | None:
    """A config file path, or a preset's (a bare name without a .toml file of that name here)."""
    if name is None:
        return None
    path = Path(name)
    if not path.exists() and name in preset_names():
        return presets_dir() / f"{name}.toml"
    if not path.exists():
        raise ConfigError(f"config file {name} not found (presets: {', '.join(preset_names())})")
    return path


def camera_value(text: str) -> int | str:
    return int(text) if _ascii_digits(text) else text


def source_overrides(args: argparse.Namespace) -> dict[str, Any]:
    source: dict[str, Any] = {}
    if args.camera is not None:
        source.update(camera=camera_value(args.camera), video="", demo=False)
    if args.video is not None:
        source.update(video=args.video, demo=False)
    if args.demo:
        source.update(demo=True, video="")
    if args.no_realtime:
        source["realtime"] = False
    if args.size is not None:
        source["width"], source["height"] = args.size
    if args.fps is not None:
        source["fps"] = args.fps
    if args.mjpg:
        source["mjpg"] = True
    return source


def flag_overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The config tables run's flags stand for; flags win over the file."""
    tables: dict[str, dict[str, Any]] = {"source": source_overrides(args)}
    tables.update(output_overrides(args))
    if args.no_preview:
        tables["preview"] = {"enabled": False}
    tables["run"] = {}
    if args.frames is not None:
        tables["run"]["frames"] = args.frames
    if args.duration is not None:
        tables["run"]["duration_s"] = args.duration
    if args.record is not None:
        tables["run"]["record"] = args.record
    if args.stats:
        tables["stats"] = {"enabled": True}
    if args.smooth:
        tables["smoothing"] = {"enabled": True}
    tables["model"] = {
        key: value
        for key, value in (("complexity", args.complexity), ("backend", args.backend))
        if value is not None
    }
    return {section: table for section, table in tables.items() if table}


def output_overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The tables of the output and avatar flags (run and replay)."""
    tables: dict[str, dict[str, Any]] = {}
    if any(flag is not None for flag in (args.osc, args.ws, args.vmc, args.vrchat)):
        tables["outputs"] = {"osc": args.osc or [], "ws": args.ws or ""}
        tables["vmc"] = {"targets": args.vmc or []}
        tables["vrchat"] = {"targets": args.vrchat or []}
    tables.setdefault("vmc", {})
    if args.vmc_profile is not None:
        tables["vmc"]["profile"] = args.vmc_profile
    if args.vrm1_names:
        tables["vmc"]["vrm1_names"] = True
    if args.perfect_sync:
        tables["vmc"]["perfect_sync"] = True
    tables["solver"] = {}
    if args.no_mirror:
        tables["solver"]["mirror"] = False
    if args.upper_body:
        tables["solver"]["upper_body_only"] = True
    if args.solve:
        tables["solver"]["enabled"] = True
    if args.calibration is not None:
        tables["solver"]["calibration"] = args.calibration
    if args.rate is not None:
        tables.setdefault("outputs", {})["rate_hz"] = args.rate
    return tables


def access_overrides(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """--token (else MOCAP_TOKEN), --allow-remote and --log-file as config tables."""
    server: dict[str, Any] = {}
    token = args.token if args.token is not None else environ.get("MOCAP_TOKEN")
    if token:
        server["token"] = token
    if args.log_file is not None:
        server["log_file"] = args.log_file
    tables = {"server": server, "outputs": {"allow_remote": True} if args.allow_remote else {}}
    return {section: table for section, table in tables.items() if table}


def config_from_args(
    args: argparse.Namespace,
    overrides: Callable[[argparse.Namespace], dict[str, dict[str, Any]]] = flag_overrides,
) -> Config:
    config = load(config_path(args.config))
    try:
        config = merge(config, overrides(args))
        return merge(config, access_overrides(args, os.environ))
    except ConfigError as exc:
        raise ConfigError(f"command line: {exc}") from None


# --- commands ----------------------------------------------------------------------------------


def hide_native_logs() -> None:
    """Send file descriptor 2 to /dev/null, keeping Python's stderr on the real one.

    MediaPipe's C++ code writes a dozen warning lines straight to descriptor 2 on every start,
    before its log level can be set; users see our own messages only, unless --verbose (or
    MOCAP_NATIVE_LOGS=1, which keeps them without the debug messages). A native crash (a
    segfault, an abort in OpenCV) must not die in silence: faulthandler writes its fatal-error
    report and traceback to the real stderr.
    """
    if os.environ.get("MOCAP_NATIVE_LOGS") == "1":
        return
    sys.stderr.flush()
    python_stderr = os.fdopen(
        os.dup(2), "w", buffering=1, encoding="utf-8", errors="backslashreplace"
    )
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = python_stderr
    faulthandler.enable(file=python_stderr)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(python_stderr)


def hide_native_logs_unless_verbose(args: argparse.Namespace) -> None:
    if not args.verbose:
        hide_native_logs()


def command_run(args: argparse.Namespace) -> int:
    from mocap.app import Run  # noqa: PLC0415 - mediapipe loads in seconds: not for --help

    config = config_from_args(args)
    hide_native_logs_unless_verbose(args)
    return Run(config).run()


def command_cameras(_args: argparse.Namespace) -> int:
    from mocap.sources.listing import list_cameras  # noqa: PLC0415 - imports cv2: only when asked

    cameras = list_cameras()
    if not cameras:
        print("no cameras found (a stream URL works too: mocap run --camera http://...)")
        return 0
    for camera in cameras:
        sizes = ", ".join(f"{s.width}x{s.height}" for s in camera.resolutions) or "unknown"
        print(f"{camera.index}\t{camera.name}\t{camera.device}\t{sizes}")
    return 0


def command_bench(args: argparse.Namespace) -> int:
    from mocap.sources.video import demo_video_path  # noqa: PLC0415 - imports cv2: only when asked

    video = args.video or demo_video_path()
    if not video.is_file():
        raise ConfigError(f"video {video} not found")
    if not 0 <= args.frames <= MAX_FRAMES or not 1 <= args.rounds <= MAX_BENCH_ROUNDS:
        raise ConfigError(
            f"--frames must be in [0, {MAX_FRAMES}] and --rounds in [1, {MAX_BENCH_ROUNDS}]"
        )
    if not 0.0 <= args.rate <= MAX_RATE_PER_S:  # NaN too
        raise ConfigError(f"--rate must be in [0, {MAX_RATE_PER_S:g}], not {args.rate:g}")
    hide_native_logs_unless_verbose(args)
    if args.plot is not None and not args.plot.parent.is_dir():
        raise ConfigError(f"--plot: folder {args.plot.parent} not found")
    if not args.motion_only:
        bench_pipeline(args, video)
    for line in bench_motion(args.rate):
        print(line)
    return 0


def bench_pipeline(args: argparse.Namespace, video: Path) -> None:
    """The pipeline phases: their table, and the chart when --plot asks."""
    from mocap.bench import run as bench  # noqa: PLC0415 - mediapipe loads in seconds: not for --help

    results = bench.run_benchmark(video, args.frames, args.rounds, log.info, args.rate)
    print(
        f"mocap bench on {video.name}: {results[0].frames} frames per phase in {args.rounds} rounds"
    )
    for line in bench.format_table(results):
        print(line)
    if args.plot is not None:
        from mocap.bench.plot import plot_results  # noqa: PLC0415 - matplotlib: only when asked

        rounds = f"{args.rounds} round{'s' if args.rounds > 1 else ''}"
        title = f"mocap bench on {video.name}: {results[0].frames} frames per phase in {rounds}"
        try:
            plot_results(results, args.plot, title)
        except OSError as exc:
            raise ConfigError(f"--plot: cannot write {args.plot}: {exc.strerror}") from None
        log.info("chart written to %s", args.plot)


def bench_motion(rate_hz: float) -> list[str]:
    """The motion phase's tables: the filter's effect on synthetic motion, and with a rate, the
    paced sends'."""
    from mocap.bench import motion  # noqa: PLC0415 - scipy and the solver: only when asked

    log.info("motion phase: synthetic motion through the solver and filter")
    config = FilterConfig()
    filtered = motion.motion_figures(config)
    raw = motion.motion_figures(dataclasses.replace(config, enabled=False))
    if rate_hz <= 0:
        return ["", *motion.format_motion(filtered, raw, None)]
    paced = motion.paced_figures(config, rate_hz)
    latency = motion.latency_figures(config, rate_hz, motion.LATENCY_S)
    return ["", *motion.format_motion(filtered, raw, paced, latency)]


def command_replay(args: argparse.Namespace) -> int:
    from mocap.recording.replay import (  # noqa: PLC0415 - loads the outputs' modules
        MAX_SPEED,
        MIN_SPEED,
        Replay,
        ReplayOptions,
    )

    if not MIN_SPEED <= args.speed <= MAX_SPEED:  # NaN too
        raise ConfigError(f"--speed must be in [{MIN_SPEED:g}, {MAX_SPEED:g}], not {args.speed:g}")
    config = config_from_args(args, output_overrides)
    options = ReplayOptions(speed=args.speed, loop=args.loop, solve=not args.no_solve)
    return Replay(config, args.recording, options).run()


def command_export(args: argparse.Namespace) -> int:
    from mocap.recording.export import export_bvh  # noqa: PLC0415 - loads scipy: only when asked

    export_bvh(args.recording, args.output, load(config_path(args.config)))
    return 0


def command_calibrate(args: argparse.Namespace) -> int:
    from mocap.calibrate import calibrate  # noqa: PLC0415 - mediapipe loads in seconds: not for --help

    if not 0 < args.seconds < float("inf"):
        raise ConfigError(f"--seconds must be a number > 0, not {args.seconds:g}")
    config = load(config_path(args.config))
    try:
        config = merge(config, {"source": source_overrides(args)})
    except ConfigError as exc:
        raise ConfigError(f"command line: {exc}") from None
    if args.recording is None:
        hide_native_logs()
    calibrate(config, args.recording, args.seconds, args.output)
    return 0


def command_image(args: argparse.Namespace) -> int:
    from mocap.photos import command as image_command  # noqa: PLC0415 - mediapipe loads in seconds: not for --help

    config = load(config_path(args.config))
    hide_native_logs_unless_verbose(args)
    return image_command.run(args.photos, args.output, args.json, config)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        format="mocap: %(message)s", level=logging.INFO, stream=sys.stderr, force=True
    )
    # websockets logs every start and stop at INFO; we say where the server listens ourselves.
    logging.getLogger("websockets").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    if args.verbose:
        logging.getLogger().setLevel(logging.DEBUG)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except MocapError as exc:
        log.error("error: %s", exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # the outermost boundary: one line, never a traceback
        log.error(
            "internal error: %s: %s; please report it with --verbose output",
            type(exc).__name__,
            _one_line(str(exc)),
            exc_info=args.verbose,
        )
        return EXIT_FAILURE


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
