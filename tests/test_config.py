"""Config: defaults, presets, precedence, and refusals that name the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mocap.addresses import HostPort, parse_endpoint
from mocap.cli import build_parser, config_from_args, presets_dir
from mocap.config import Config, load, merge
from mocap.errors import ConfigError


def test_default_toml_is_exactly_the_builtin_defaults() -> None:
    assert load(presets_dir() / "default.toml") == Config()


def test_default_toml_documents_every_key() -> None:
    text = (presets_dir() / "default.toml").read_text()
    for section in dataclasses.fields(Config):
        assert f"[{section.name}]" in text
        for key in dataclasses.fields(getattr(Config(), section.name)):
            assert f"\n{key.name} = " in text, f"{section.name}.{key.name} is not documented"


@pytest.mark.parametrize("preset", sorted(presets_dir().glob("*.toml")), ids=lambda p: p.stem)
def test_every_preset_loads(preset: Path) -> None:
    assert isinstance(load(preset), Config)


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ({"source": {"camra": 1}}, "unknown key 'source.camra'"),
        ({"sorce": {}}, "unknown section [sorce]"),
        ({"model": {"complexity": 3}}, "'model.complexity' must be 0, 1 or 2"),
        ({"source": {"fps": "fast"}}, "'source.fps' must be a number"),
        ({"source": {"width": True}}, "'source.width' must be an integer"),
        ({"guards": {"min_side_px": 0}}, "'guards.min_side_px' must be > 0"),
        ({"outputs": {"ws": "localhost"}}, "outputs.ws: 'localhost' is not HOST:PORT"),
        ({"outputs": {"osc": ["127.0.0.1:99999"]}}, "no valid port"),
        ({"outputs": {"osc_prefix": "mocap"}}, "'outputs.osc_prefix' must start with '/'"),
        ({"source": {"video": "a.mp4", "demo": True}}, "cannot both be set"),
        ({"vrchat": {"trackers": ["hip", "hip"]}}, "'vrchat.trackers' must be distinct names"),
        ({"vrchat": {"trackers": ["left_hand"]}}, "'vrchat.trackers' must be distinct names"),
        ({"vrchat": {"height_m": 17.0}}, "'vrchat.height_m' must be in [0.5, 3]"),
        ({"model": {"arkit": "yes"}}, "'model.arkit' must be true or false"),
        ({"vmc": {"arkit_case": "Pascal"}}, "'vmc.arkit_case' must be \"\" or one of camel"),
        ({"vmc": {"perfect_sync": 1}}, "'vmc.perfect_sync' must be true or false"),
    ],
)
def test_bad_values_are_refused_naming_the_key(
    tables: dict[str, dict[str, object]], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        merge(Config(), tables)
    assert message in str(refused.value)
    assert refused.value.exit_code == 2


@pytest.mark.parametrize(
    ("model", "runs"),
    [({}, True), ({"arkit": False}, False), ({"refine_face": False}, False)],
)
def test_the_blendshape_model_runs_when_asked_and_the_irises_are_found(
    model: dict[str, object], runs: bool
) -> None:
    assert merge(Config(), {"model": model}).model.arkit_runs() is runs


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[source\ncamera = 0\n")
    with pytest.raises(ConfigError, match=r"broken\.toml is not valid TOML"):
        load(broken)
    with pytest.raises(ConfigError, match="cannot read config file"):
        load(tmp_path / "missing.toml")
    typo = tmp_path / "typo.toml"
    typo.write_text("[preview]\nenabeld = false\n")
    with pytest.raises(ConfigError, match=r"typo.toml: unknown key 'preview.enabeld'"):
        load(typo)


def test_endpoints() -> None:
    assert parse_endpoint("127.0.0.1:9000", what="x") == HostPort("127.0.0.1", 9000)
    assert parse_endpoint("[::1]:8765", what="x") == HostPort("::1", 8765)
    assert parse_endpoint(":0", what="x") == HostPort("127.0.0.1", 0)
    assert HostPort("::1", 1).is_loopback() and HostPort("localhost", 1).is_loopback()
    assert not HostPort("192.0.2.1", 1).is_loopback()


def args_config(*argv: str) -> Config:
    return config_from_args(build_parser().parse_args(["run", *argv]))


def test_flags_override_the_file_and_output_flags_replace_outputs(tmp_path: Path) -> None:
    file = tmp_path / "mine.toml"
    file.write_text('[source]\nfps = 15\nvideo = "x.mp4"\n[outputs]\nosc = ["127.0.0.1:7000"]\n')
    from_file = args_config("--config", str(file))
    assert from_file.source.fps == 15.0
    assert from_file.outputs.osc == ("127.0.0.1:7000",)
    assert from_file.outputs.ws == "127.0.0.1:8765"
    flagged = args_config("--config", str(file), "--fps", "60", "--camera", "2",
                          "--osc", "127.0.0.1:1", "--osc", "127.0.0.1:2")  # fmt: skip
    assert flagged.source.fps == 60.0
    assert (flagged.source.camera, flagged.source.video) == (2, "")
    assert flagged.outputs.osc == ("127.0.0.1:1", "127.0.0.1:2")
    assert flagged.outputs.ws == ""


def test_the_vrchat_flag_takes_port_9000_turns_the_solver_on_and_replaces_outputs() -> None:
    config = args_config("--vrchat", "127.0.0.1", "--vrchat", "127.0.0.1:9100")
    assert config.vrchat_endpoints() == [HostPort("127.0.0.1", 9000), HostPort("127.0.0.1", 9100)]
    assert config.solver_runs() and config.outputs.osc == () and config.outputs.ws == ""
    assert not args_config("--osc", "127.0.0.1:1").solver_runs()


def test_presets_are_found_by_name() -> None:
    assert args_config("--config", "headless").preview.enabled is False
    with pytest.raises(ConfigError, match="not found"):
        args_config("--config", "no-such-preset")
