"""Frozen configuration: built-in defaults < a TOML file < command-line flags.

Every key is a field of one of the section dataclasses below; `configs/default.toml` lists them
all with their documentation. Loading refuses an unknown key or a bad value with a message that
names the key (ConfigError, exit code 2).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mocap.addresses import HostPort, Origin, parse_endpoint, parse_origin
from mocap.encode.vmc_profiles import ARKIT_CASES, PROFILES
from mocap.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


# --- the ranges --------------------------------------------------------------------------------
# Every number has a finite range: a value past it is a typo or an attack, never a setting.

MAX_CAMERA_INDEX = 1023
MAX_IMAGE_SIDE_PX = 32_766  # OpenCV's remap (inside MediaPipe) needs sides below SHRT_MAX
MAX_PIXELS = 1_000_000_000
MAX_RATE_PER_S = 1000.0
MAX_TIMEOUT_S = 3600.0
MAX_RETRY_S = 600.0
MAX_SMOOTHING_BETA = 1000.0
MAX_BONE_SPEED_DPS = 1_000_000.0
MAX_FRAMES = 1 << 40
MAX_DURATION_S = 366 * 24 * 3600.0
MAX_CLIENTS = 10_000
MAX_MESSAGE_BYTES = 1 << 30
MAX_CONFIG_BYTES = 1 << 20  # a config file is a few kB: reading stops here (`--config /dev/zero`)


# --- the sections ------------------------------------------------------------------------------
# Field metadata: "doc" for --help and the reference; "check" a predicate with "must" its wording.


def _unit_interval(value: float) -> bool:
    return 0.0 <= value <= 1.0


def _within(low: float, high: float, *, low_open: bool = False) -> Callable[[float], bool]:
    """A range check; NaN and infinities fail it (every comparison with NaN is false)."""
    if low_open:
        return lambda value: low < value <= high
    return lambda value: low <= value <= high


def _number_words(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _range_words(low: float, high: float, *, low_open: bool = False) -> str:
    low_text, high_text = _number_words(low), _number_words(high)
    return f"be > {low_text} and <= {high_text}" if low_open else f"be in [{low_text}, {high_text}]"


def _bounded_key(doc: str, low: float, high: float, *, low_open: bool = False) -> dict[str, Any]:
    """A numeric key that must lie in a finite range: inf, NaN and absurd values are refused
    at load time rather than overflowing deep inside a thread."""
    return _key(
        doc, _within(low, high, low_open=low_open), _range_words(low, high, low_open=low_open)
    )


MODEL_BACKENDS = ("auto", "legacy", "tasks")


def _key(doc: str, check: Callable[[Any], bool] | None = None, must: str = "") -> dict[str, Any]:
    return {"doc": doc, "check": check, "must": must}


@dataclass(frozen=True)
class SourceConfig:
    camera: int | str = field(
        default=0,
        metadata=_key(
            "camera index, device path (/dev/video0) or stream URL (http://, rtsp://)",
            lambda v: not isinstance(v, int) or 0 <= v <= MAX_CAMERA_INDEX,
            f"be an index in [0, {MAX_CAMERA_INDEX}], a device path or a URL",
        ),
    )
    video: str = field(default="", metadata=_key("a video file to play instead of a camera"))
    demo: bool = field(default=False, metadata=_key("play the short clip bundled with mocap"))
    realtime: bool = field(
        default=True,
        metadata=_key("play a video file at its own rate, like a camera (false: every frame)"),
    )
    width: int = field(
        default=1280,
        metadata=_bounded_key("requested capture width, px", 0, MAX_IMAGE_SIDE_PX),
    )
    height: int = field(
        default=720,
        metadata=_bounded_key("requested capture height, px", 0, MAX_IMAGE_SIDE_PX),
    )
    fps: float = field(
        default=30.0, metadata=_bounded_key("requested capture rate, 1/s", 0, MAX_RATE_PER_S)
    )
    mjpg: bool = field(default=False, metadata=_key("ask the camera for MJPG (higher fps on USB)"))
    lost_after_s: float = field(
        default=10.0,
        metadata=_bounded_key(
            "end the run (exit 1) when a live source gives no frame for this long",
            0,
            MAX_TIMEOUT_S,
            low_open=True,
        ),
    )
    retry_max_s: float = field(
        default=2.0,
        metadata=_bounded_key(
            "longest wait between reconnection attempts", 0, MAX_RETRY_S, low_open=True
        ),
    )


@dataclass(frozen=True)
class GuardConfig:
    min_side_px: int = field(
        default=64,
        metadata=_bounded_key(
            "refuse frames whose short side is smaller", 0, MAX_IMAGE_SIDE_PX, low_open=True
        ),
    )
    max_pixels: int = field(
        default=16_000_000,
        metadata=_bounded_key(
            "refuse frames with more pixels than this", 0, MAX_PIXELS, low_open=True
        ),
    )
    max_long_side_px: int = field(
        default=1280,
        metadata=_bounded_key(
            "downscale frames whose long side is longer before inference",
            0,
            MAX_IMAGE_SIDE_PX,
            low_open=True,
        ),
    )


@dataclass(frozen=True)
class ModelConfig:
    backend: str = field(
        default="auto",
        metadata=_key(
            "legacy (mp.solutions, Python < 3.13), tasks (the Tasks API and mocap's own model "
            "bundle) or auto (legacy where installed, else tasks)",
            lambda v: v in MODEL_BACKENDS,
            f"be one of {', '.join(MODEL_BACKENDS)}",
        ),
    )
    complexity: int = field(
        default=1,
        metadata=_key(
            "pose model: 1 ships with mediapipe; 0 and 2 only when installed",
            lambda v: v in (0, 1, 2),
            "be 0, 1 or 2",
        ),
    )
    refine_face: bool = field(default=True, metadata=_key("478 face points with irises (else 468)"))
    arkit: bool = field(
        default=True,
        metadata=_key(
            "the face's 51 ARKit blendshape weights (MediaPipe's face blendshape model; needs "
            "refine_face: it reads the iris points)"
        ),
    )
    min_detection_confidence: float = field(
        default=0.5, metadata=_key("detector threshold", _unit_interval, "be in [0, 1]")
    )
    min_tracking_confidence: float = field(
        default=0.5, metadata=_key("tracker threshold", _unit_interval, "be in [0, 1]")
    )

    def arkit_runs(self) -> bool:
        """Whether the blendshape model runs: asked for, with the iris points it reads."""
        return self.arkit and self.refine_face


@dataclass(frozen=True)
class SmoothingConfig:
    enabled: bool = field(
        default=False, metadata=_key("extra One Euro smoothing on top of MediaPipe's own")
    )
    min_cutoff_hz: float = field(
        default=1.0,
        metadata=_bounded_key(
            "cutoff at rest: lower is steadier, laggier", 0, MAX_RATE_PER_S, low_open=True
        ),
    )
    beta: float = field(
        default=0.3,
        metadata=_bounded_key(
            "speed coefficient: higher follows fast moves sooner", 0, MAX_SMOOTHING_BETA
        ),
    )
    d_cutoff_hz: float = field(
        default=1.0,
        metadata=_bounded_key("cutoff for the speed estimate", 0, MAX_RATE_PER_S, low_open=True),
    )


@dataclass(frozen=True)
class OutputConfig:
    osc: tuple[str, ...] = field(
        default=("127.0.0.1:9000",),
        metadata=_key("raw-landmark OSC targets, HOST:PORT each"),
    )
    osc_prefix: str = field(
        default="/mocap",
        metadata=_key("OSC address prefix", lambda v: v.startswith("/"), "start with '/'"),
    )
    ws: str = field(
        default="127.0.0.1:8765",
        metadata=_key('WebSocket server address, HOST:PORT ("" for none)'),
    )
    allow_remote: bool = field(
        default=False,
        metadata=_key("allow OSC, VMC and VRChat targets that are not on this machine"),
    )
    rate_hz: float = field(
        default=0.0,
        metadata=_bounded_key(
            "avatar outputs (VMC, VRChat) send at this rate from their own timer, each send the "
            "pose predicted for its time (0: one send per inference frame)",
            0,
            MAX_RATE_PER_S,
        ),
    )
    lead_latency: bool = field(
        default=False,
        metadata=_key(
            "with rate_hz: lead by the measured capture-to-send latency, so the avatar is where "
            "the person is now (more overshoot at a stop: speed x latency)"
        ),
    )


VMC_DEFAULT_PORT = 39539
VRCHAT_DEFAULT_PORT = 9000
# VRChat's OSC body trackers (mocap.encode.vrchat.TRACKERS), in the slot order 1..8 of the most
# used bridge (SlimeVR), which other tools rely on.
VRCHAT_TRACKERS = (
    "hip", "left_foot", "right_foot", "left_knee", "right_knee", "chest", "left_elbow",
    "right_elbow",
)  # fmt: skip
VMC_PROFILES = tuple(PROFILES)


@dataclass(frozen=True)
class SolverConfig:
    enabled: bool = field(
        default=False,
        metadata=_key("solve bones and expressions even with no VMC output (for WebSocket)"),
    )
    mirror: bool = field(
        default=True,
        metadata=_key(
            "mirror the avatar like a mirror image (raise your right hand: the avatar's "
            "hand on that side of the screen rises)"
        ),
    )
    upper_body_only: bool = field(
        default=False, metadata=_key("never move the legs (seated users)")
    )
    leg_min_visibility: float = field(
        default=0.6,
        metadata=_key(
            "move a leg only when its knee and ankle are at least this visible",
            _unit_interval,
            "be in [0, 1]",
        ),
    )
    hold_s: float = field(
        default=0.5,
        metadata=_bounded_key("after tracking loss, hold a limb this long", 0, MAX_TIMEOUT_S),
    )
    ease_s: float = field(
        default=0.7,
        metadata=_bounded_key("then ease it to the rest pose over this long", 0, MAX_TIMEOUT_S),
    )
    max_bone_speed_dps: float = field(
        default=1500.0,
        metadata=_bounded_key(
            "fastest a bone may turn, degrees per second: a faster change is a detector glitch, "
            "spread over frames (0: no limit)",
            0,
            MAX_BONE_SPEED_DPS,
        ),
    )
    link_blinks: bool = field(
        default=True,
        metadata=_key("both eyes blink together unless one is clearly closed more (a wink)"),
    )
    calibration: str = field(
        default="",
        metadata=_key(
            "a calibration file (mocap calibrate): camera pitch and roll removed, the face's "
            'neutral baseline; the preview\'s c key saves here ("": none; c saves to '
            "calibration.json in the user's config folder)"
        ),
    )
    hip_sway_m: float = field(
        default=0.0,
        metadata=_bounded_key(
            "move the Hips with the body's sway in the image, at most this far, metres "
            "(0: the hips stay on their spot)",
            0,
            0.2,
        ),
    )
    calibration_countdown_s: float = field(
        default=3.0,
        metadata=_bounded_key(
            "live calibration (c key, WebSocket): seconds to get into the neutral pose", 0, 60
        ),
    )
    calibration_take_s: float = field(
        default=1.0,
        metadata=_bounded_key(
            "live calibration: seconds of the neutral pose measured", 0, 60, low_open=True
        ),
    )


@dataclass(frozen=True)
class VmcConfig:
    targets: tuple[str, ...] = field(
        default=(),
        metadata=_key("VMC receivers, HOST:PORT each (port 39539 if omitted)"),
    )
    profile: str = field(
        default="generic",
        metadata=_key(
            f"receiver profile: {', '.join(VMC_PROFILES)}",
            lambda v: v in VMC_PROFILES,
            f"be one of {', '.join(VMC_PROFILES)}",
        ),
    )
    vrm1_names: bool = field(
        default=False,
        metadata=_key("also send VRM1 expression names (aa, blinkLeft, ...) after the VRM0 ones"),
    )
    perfect_sync: bool = field(
        default=False,
        metadata=_key(
            "also send the face's 51 ARKit weights (Perfect Sync) before each frame's Apply"
        ),
    )
    arkit_case: str = field(
        default="",
        metadata=_key(
            'how the ARKit names are spelled: "camel" (eyeBlinkLeft), "pascal" (EyeBlinkLeft), '
            '"" (the profile\'s own: camel for generic, pascal for the others)',
            lambda v: v in ("", *ARKIT_CASES),
            f'be "" or one of {", ".join(ARKIT_CASES)}',
        ),
    )


def _vrchat_trackers(names: tuple[str, ...]) -> bool:
    return set(names) <= set(VRCHAT_TRACKERS) and len(set(names)) == len(names)


@dataclass(frozen=True)
class VrchatConfig:
    targets: tuple[str, ...] = field(
        default=(),
        metadata=_key("VRChat (OSC) receivers, HOST:PORT each (port 9000 if omitted)"),
    )
    height_m: float = field(
        default=1.7,
        metadata=_bounded_key("your real height, metres, as entered in VRChat", 0.5, 3.0),
    )
    trackers: tuple[str, ...] = field(
        default=VRCHAT_TRACKERS,
        metadata=_key(
            "the body trackers to send, in slot order 1..8 (seated: hip and feet)",
            _vrchat_trackers,
            f"be distinct names among {', '.join(VRCHAT_TRACKERS)}",
        ),
    )
    head: bool = field(
        default=True,
        metadata=_key("send the head's position and rotation, so VRChat aligns the trackers"),
    )
    eyes: bool = field(
        default=True, metadata=_key("send eye tracking: how closed the eyes are, and the gaze")
    )


@dataclass(frozen=True)
class PreviewConfig:
    enabled: bool = field(default=True, metadata=_key("show the preview window"))
    draw_face: bool = field(default=True, metadata=_key("draw the face mesh contours"))


@dataclass(frozen=True)
class StatsConfig:
    enabled: bool = field(default=False, metadata=_key("print a stats line periodically"))
    interval_s: float = field(
        default=5.0,
        metadata=_bounded_key("seconds between stats lines", 0, MAX_TIMEOUT_S, low_open=True),
    )


@dataclass(frozen=True)
class RunConfig:
    frames: int = field(
        default=0,
        metadata=_bounded_key("stop after this many frames (0: no limit)", 0, MAX_FRAMES),
    )
    duration_s: float = field(
        default=0.0,
        metadata=_bounded_key(
            "stop after this many seconds of capture (0: no limit)", 0, MAX_DURATION_S
        ),
    )
    record: str = field(
        default="",
        metadata=_key(
            "record every frame's landmarks (and solved avatar) to this file, one JSON line "
            'each; gzip when it ends in .gz ("": no recording)'
        ),
    )


# A token's characters: RFC 6750's for a Bearer header, and each one stands for itself in a URL's
# query too (the viewer reads "+" as a plus), so a token works in both. Base64 is in the set.
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~+/=-]*")
# A shorter token guarding a server open to the network is warned about (16 base64 chars: 96 bits).
SHORT_TOKEN_CHARS = 16


@dataclass(frozen=True)
class ServerConfig:
    """The WebSocket server's admission rules (see README, Privacy)."""

    token: str = field(
        default="",
        metadata=_key(
            "clients must present it (Bearer header or ?token=); MOCAP_TOKEN sets it too"
        ),
    )
    allowed_origins: tuple[str, ...] = field(
        default=(),
        metadata=_key(
            "browser origins allowed besides the built-in viewer's own",
            lambda v: all(parse_origin(origin) is not None for origin in v),
            'each be SCHEME://HOST[:PORT] (for example "http://localhost:3000")',
        ),
    )
    max_clients: int = field(
        default=16,
        metadata=_bounded_key("most clients connected at once", 0, MAX_CLIENTS, low_open=True),
    )
    max_message_bytes: int = field(
        default=4096,
        metadata=_bounded_key(
            "largest text message a client may send", 0, MAX_MESSAGE_BYTES, low_open=True
        ),
    )
    max_upload_bytes: int = field(
        default=10_000_000,
        metadata=_bounded_key(
            "largest photo a viewer may upload, bytes", 0, MAX_MESSAGE_BYTES, low_open=True
        ),
    )
    max_messages_per_s: float = field(
        default=20.0,
        metadata=_bounded_key(
            "most messages a client may send per second", 0, MAX_RATE_PER_S, low_open=True
        ),
    )
    log_file: str = field(
        default="", metadata=_key("append the access log (connections, refusals) to this file")
    )


@dataclass(frozen=True)
class PhotoConfig:
    """Checks on photos (`mocap image`, the viewer's upload panel)."""

    min_side_px: int = field(
        default=64,
        metadata=_bounded_key(
            "refuse photos whose short side is smaller", 0, MAX_IMAGE_SIDE_PX, low_open=True
        ),
    )
    max_pixels: int = field(
        default=10_000_000,
        metadata=_bounded_key(
            "refuse photos with more pixels, read from the header", 0, MAX_PIXELS, low_open=True
        ),
    )


def _cutoff_key(group: str) -> dict[str, Any]:
    return _bounded_key(
        f"{group}: cutoff when still, Hz: lower is steadier at rest, laggier on slow moves",
        0,
        MAX_RATE_PER_S,
        low_open=True,
    )


def _beta_key(group: str) -> dict[str, Any]:
    return _bounded_key(
        f"{group}: cutoff added per unit of speed (radians or weight per second): higher follows "
        "fast moves with less lag, lets more noise through while moving",
        0,
        MAX_SMOOTHING_BETA,
    )


@dataclass(frozen=True)
class FilterConfig:
    """The adaptive (One Euro) filter on the solved rotations and expression weights."""

    enabled: bool = field(
        default=True, metadata=_key("filter the solved bones and expressions (speed dependent)")
    )
    body_min_cutoff_hz: float = field(default=0.2, metadata=_cutoff_key("torso, arms, legs"))
    body_beta: float = field(default=0.4, metadata=_beta_key("torso, arms, legs"))
    head_min_cutoff_hz: float = field(default=0.2, metadata=_cutoff_key("neck and head"))
    head_beta: float = field(default=0.4, metadata=_beta_key("neck and head"))
    hands_min_cutoff_hz: float = field(default=0.3, metadata=_cutoff_key("hands and fingers"))
    hands_beta: float = field(default=0.3, metadata=_beta_key("hands and fingers"))
    eyes_min_cutoff_hz: float = field(default=0.2, metadata=_cutoff_key("eyes"))
    eyes_beta: float = field(default=0.2, metadata=_beta_key("eyes"))
    expressions_min_cutoff_hz: float = field(default=1.0, metadata=_cutoff_key("expressions"))
    expressions_beta: float = field(default=1.0, metadata=_beta_key("expressions"))
    d_cutoff_hz: float = field(
        default=0.5,
        metadata=_bounded_key(
            "cutoff of the speed estimate, Hz: higher reacts to a start sooner, to noise more",
            0,
            MAX_RATE_PER_S,
            low_open=True,
        ),
    )


@dataclass(frozen=True)
class Config:
    source: SourceConfig = SourceConfig()
    guards: GuardConfig = GuardConfig()
    model: ModelConfig = ModelConfig()
    smoothing: SmoothingConfig = SmoothingConfig()
    outputs: OutputConfig = OutputConfig()
    solver: SolverConfig = SolverConfig()
    vmc: VmcConfig = VmcConfig()
    vrchat: VrchatConfig = VrchatConfig()
    server: ServerConfig = ServerConfig()
    photos: PhotoConfig = PhotoConfig()
    preview: PreviewConfig = PreviewConfig()
    stats: StatsConfig = StatsConfig()
    run: RunConfig = RunConfig()
    filter: FilterConfig = FilterConfig()

    def osc_endpoints(self) -> list[HostPort]:
        return [parse_endpoint(t, what="outputs.osc") for t in self.outputs.osc]

    def vmc_endpoints(self) -> list[HostPort]:
        return [
            parse_endpoint(t, what="vmc.targets", default_port=VMC_DEFAULT_PORT)
            for t in self.vmc.targets
        ]

    def vrchat_endpoints(self) -> list[HostPort]:
        return [
            parse_endpoint(t, what="vrchat.targets", default_port=VRCHAT_DEFAULT_PORT)
            for t in self.vrchat.targets
        ]

    def solver_runs(self) -> bool:
        """The solver runs for VMC and VRChat outputs, or when asked to (for the WebSocket's
        bones)."""
        return self.solver.enabled or bool(self.vmc.targets) or bool(self.vrchat.targets)

    def allowed_origins(self) -> tuple[Origin, ...]:
        origins = (parse_origin(text) for text in self.server.allowed_origins)
        # the key's check has refused any that does not parse
        return tuple(origin for origin in origins if origin is not None)

    def ws_endpoint(self) -> HostPort | None:
        if not self.outputs.ws:
            return None
        return parse_endpoint(self.outputs.ws, what="outputs.ws")


SECTIONS: dict[str, type[Any]] = typing.get_type_hints(Config)


# --- loading -----------------------------------------------------------------------------------


def _type_name(annotation: Any) -> str:
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    if typing.get_origin(annotation) is tuple:
        return "a list of strings"
    if isinstance(annotation, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    return names.get(annotation, str(annotation))


def _coerce(annotation: Any, value: Any) -> Any:
    """Return value as the field's type, or raise TypeError. TOML ints are accepted as floats."""
    if isinstance(annotation, types.UnionType):
        for option in typing.get_args(annotation):
            try:
                return _coerce(option, value)
            except TypeError:
                continue
        raise TypeError
    if typing.get_origin(annotation) is tuple:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise TypeError
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is int and isinstance(value, bool):
        raise TypeError
    if isinstance(value, annotation):
        return value
    raise TypeError


def _checked_section(name: str, cls: type[Any], table: Mapping[str, Any], base: Any) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    changes: dict[str, Any] = {}
    for key, value in table.items():
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"unknown key '{name}.{key}' (known keys in [{name}]: {known})")
        try:
            coerced = _coerce(hints[key], value)
        except TypeError:
            raise ConfigError(
                f"'{name}.{key}' must be {_type_name(hints[key])}, not {value!r}"
            ) from None
        if _has_nul(coerced):  # no file name, address or token holds one; open() would raise
            raise ConfigError(f"'{name}.{key}' must not contain a NUL character")
        check = fields[key].metadata.get("check")
        if check is not None and not check(coerced):
            raise ConfigError(f"'{name}.{key}' must {fields[key].metadata['must']}, not {value!r}")
        changes[key] = coerced
    return dataclasses.replace(base, **changes)


def _has_nul(value: Any) -> bool:
    texts = value if isinstance(value, tuple) else (value,)
    return any(isinstance(text, str) and "\0" in text for text in texts)


def merge(base: Config, tables: Mapping[str, Any]) -> Config:
    """Apply a TOML-shaped mapping ({section: {key: value}}) on top of base, checking each key."""
    changes: dict[str, Any] = {}
    for section, table in tables.items():
        if section not in SECTIONS:
            known = ", ".join(SECTIONS)
            raise ConfigError(f"unknown section [{section}] (known sections: {known})")
        if not isinstance(table, Mapping):
            raise ConfigError(f"'{section}' must be a table ([{section}]), not {table!r}")
        changes[section] = _checked_section(
            section, SECTIONS[section], table, getattr(base, section)
        )
    config = dataclasses.replace(base, **changes)
    validate(config)
    return config


def validate(config: Config) -> None:
    """Checks across keys, and the address syntax of the outputs."""
    config.osc_endpoints()
    config.vmc_endpoints()
    config.vrchat_endpoints()
    config.ws_endpoint()
    if config.source.video and config.source.demo:
        raise ConfigError("'source.video' and 'source.demo' cannot both be set: choose one")
    if not TOKEN_CHARACTERS.fullmatch(config.server.token):
        # The message never repeats the token: it is a secret, and this line may be logged.
        raise ConfigError(
            "the token (--token, MOCAP_TOKEN or server.token) may hold only ASCII letters, "
            "digits and - . _ ~ + / = (what `openssl rand -base64 24` gives works)"
        )


def load(path: Path | None) -> Config:
    """The built-in defaults, then the file at path (if any)."""
    config = Config()
    if path is None:
        return config
    tables = _parsed(path, _config_text(path))
    try:
        return merge(config, tables)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _config_text(path: Path) -> str:
    """The file's text: UTF-8, at most MAX_CONFIG_BYTES (a device or a huge file is refused
    after that many bytes, not read to the end)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"config file {path} is larger than {MAX_CONFIG_BYTES >> 20} MiB: not a config file"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {exc.start} cannot be decoded)"
        ) from None


def _parsed(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise ConfigError(f"config file {path} nests its values too deeply") from None
