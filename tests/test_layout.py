"""The package's shape: which way imports point, what the light commands load, one source for
every name, and an installed wheel that finds its presets."""

from __future__ import annotations

import ast
import dataclasses
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mocap import skeleton
from mocap.encode.frame_json import encode_hello
from mocap.encode.osc import PART_ADDRESSES
from mocap.frames import PoseFrame
from tests.runs import DATA, REPO, mocap_env

PACKAGE = REPO / "mocap"
RECORDING = DATA / "recording_thumbs_up.jsonl.gz"
HEAVY = ("mediapipe", "cv2", "ai_edge_litert")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (lazy imports count too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


IMPORTS = {module_name(path): imported_modules(path) for path in PACKAGE.rglob("*.py")}


def importers_of(prefix: str) -> set[str]:
    return {
        module
        for module, imports in IMPORTS.items()
        if any(name == prefix or name.startswith(prefix + ".") for name in imports)
    }


def test_only_the_two_trackers_import_mediapipe() -> None:
    assert importers_of("mediapipe") == {"mocap.track.holistic", "mocap.track.tasks"}


def test_only_the_blendshape_runner_imports_litert() -> None:
    assert importers_of("ai_edge_litert") == {"mocap.track.blendshapes"}


def test_nothing_below_publish_reaches_up() -> None:
    publish = {module for module in IMPORTS if module.startswith("mocap.publish")}
    above = ("mocap.config", "mocap.outputs", "mocap.pipeline", "mocap.app", "mocap.cli")
    for prefix in above:
        assert not importers_of(prefix) & publish, prefix


@pytest.mark.parametrize(
    "prefix", ["mocap.app", "mocap.cli", "mocap.outputs", "mocap.pipeline", "mocap.bench"]
)
def test_the_top_is_imported_only_from_above(prefix: str) -> None:
    allowed = {
        "mocap.app": {"mocap.cli"},
        "mocap.cli": {"mocap.__main__"},
        "mocap.outputs": {"mocap.app", "mocap.recording.replay"},
        "mocap.pipeline": {"mocap.app", "mocap.bench.run"},
        # the bench's own modules use each other (the motion phase, its synthetic motion)
        "mocap.bench": {"mocap.cli", "mocap.bench.plot", "mocap.bench.run", "mocap.bench.motion"},
    }[prefix]
    assert importers_of(prefix) - {prefix} <= allowed


PURE = (
    "mocap.solve", "mocap.encode", "mocap.preview.draw", "mocap.addresses", "mocap.publish.access",
    "mocap.publish.inbound", "mocap.skeleton", "mocap.frames", "mocap.track.landmarks",
)  # fmt: skip
IO = (
    "socket", "asyncio", "threading", "subprocess", "websockets.asyncio", "websockets.sync",
    "mediapipe", "ai_edge_litert", "mocap.sources",
    "mocap.track", "mocap.publish.udp", "mocap.publish.websocket", "mocap.preview.window",
)  # fmt: skip


@pytest.mark.parametrize("pure", PURE)
def test_pure_modules_import_no_io(pure: str) -> None:
    modules = {m for m in IMPORTS if m == pure or m.startswith(pure + ".")}
    assert modules
    for module in modules:
        touched = {
            name for name in IMPORTS[module] if any(name.split(".")[: len(io.split("."))]
                                                    == io.split(".") for io in IO)
        }  # fmt: skip
        assert not touched, (module, touched)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["run", "--help"],
        ["replay", str(RECORDING), "--osc", "127.0.0.1:9", "--speed", "100"],
        ["export", str(RECORDING), "-o", "{tmp}/take.bvh"],
        ["calibrate", "--recording", str(RECORDING), "-o", "{tmp}/calibration.json"],
    ],
    ids=["help", "run-help", "replay", "export", "calibrate-recording"],
)
def test_light_commands_never_load_mediapipe_or_opencv(argv: list[str], tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from mocap.cli import main\n"
        "try:\n"
        f"    code = main({[arg.format(tmp=tmp_path) for arg in argv]!r})\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=mocap_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip().splitlines()[-1] == "[] 0", result.stderr


def test_the_landmark_parts_are_named_once() -> None:
    fields = [field.name for field in dataclasses.fields(PoseFrame)]
    assert tuple(fields[3:-1]) == skeleton.PART_NAMES  # then the face's ARKit weights
    assert tuple(PART_ADDRESSES) == skeleton.PART_NAMES
    assert tuple(json.loads(encode_hello(None, 30.0, 478))["parts"]) == skeleton.PART_NAMES
    assert tuple(skeleton.part_shapes(478)) == skeleton.PART_NAMES


def build_wheel(destination: Path) -> Path:
    """The package as `pip install .` installs it, built from a copy of the repository."""
    source = destination / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for folder in ("mocap", "configs"):
        shutil.copytree(
            REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(destination), str(source)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    [wheel] = destination.glob("mocap-*.whl")
    return wheel


def test_an_installed_wheel_finds_its_presets(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # what installing a pure-Python wheel does
    script = (
        "from mocap.cli import config_path, preset_names\n"
        "from mocap.config import load\n"
        "print(preset_names())\n"
        "print(config_path('vtuber'))\n"
        "print(load(config_path('vtuber')).smoothing.min_cutoff_hz)\n"
    )
    # -S: no site-packages, so neither this checkout nor its editable install can be found
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        env={"PYTHONPATH": str(site)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names, path, min_cutoff_hz = result.stdout.splitlines()
    assert names == "['default', 'headless', 'vtuber']"
    assert Path(path) == site / "mocap" / "configs" / "vtuber.toml"
    assert min_cutoff_hz == "1.5"  # the preset's own value, not the default


def test_the_wheel_lists_every_package_folder(tmp_path: Path) -> None:
    with zipfile.ZipFile(build_wheel(tmp_path)) as archive:
        shipped = {Path(name).parent for name in archive.namelist() if name.endswith(".py")}
    folders = {path.parent.relative_to(REPO) for path in PACKAGE.rglob("*.py")}
    assert folders <= shipped | {Path("mocap/configs")}
    assert Path("mocap/configs") in shipped


def test_the_wheel_carries_the_model_bundle_and_its_notice(tmp_path: Path) -> None:
    with zipfile.ZipFile(build_wheel(tmp_path)) as archive:
        names = set(archive.namelist())
    models = {
        "mocap/models/holistic_landmarker.task",
        "mocap/models/LICENSE",
        "mocap/models/NOTICE",
    }
    assert models <= names


def test_the_readme_map_names_every_folder_and_top_module() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("### The package's map", 1)[1].split("```", 2)[1]
    named = {word.rstrip("/") for word in block.split() if word.endswith(("/", ".py"))}
    folders = {path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name[0] != "_"}
    modules = {path.name for path in PACKAGE.glob("*.py") if not path.name.startswith("__")}
    assert folders | modules <= named
    assert named - {"configs", "tests", "clients", "tools", "mocap", "blender", "unity", "js"} <= (
        folders | modules
    )
