"""Fuzzing what comes from outside: handshake headers, inbound messages, uploads, config data.

Whatever a client or a config file holds, the only outcomes are a verdict, a reply or a
ConfigError: never another exception.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.frames import CloseCode

from mocap.addresses import HostPort, parse_origin
from mocap.config import SECTIONS, Config, ModelConfig, PhotoConfig, load, merge
from mocap.errors import ConfigError
from mocap.photos.uploads import PhotoUploads
from mocap.publish.access import (
    AccessRules,
    RequestFacts,
    check_page,
    check_upgrade,
    own_authorities,
)
from mocap.publish.inbound import (
    TOO_MANY,
    Close,
    InboundLimits,
    Text,
    TokenBucket,
    Upload,
    classify,
)

FUZZ = settings(max_examples=300)
# For tests that take pytest fixtures: those are shared by every example, on purpose.
FUZZ_WITH_FIXTURES = settings(FUZZ, suppress_health_check=[HealthCheck.function_scoped_fixture])
OWN = own_authorities("127.0.0.1", HostPort("127.0.0.1", 8765))
REFUSALS = {
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.MISDIRECTED_REQUEST,
    HTTPStatus.SERVICE_UNAVAILABLE,
}

# Header values as websockets hands them over: any text without line breaks, plus near misses.
header_text = st.one_of(
    st.text(st.characters(blacklist_characters="\r\n"), max_size=60),
    st.sampled_from(
        [
            "127.0.0.1:8765",
            "http://127.0.0.1:8765",
            "localhost:8765",
            "[::1]:8765",
            "null",
            "Bearer t0ken",
            "[::ffff:127.0.0.1]:8765",
            "http://[::1",
            "http://a:b:c",
        ]
    ),
)
header_values = st.lists(header_text, max_size=3)
paths = st.one_of(
    st.text(max_size=60).map(lambda text: "/" + text),
    st.sampled_from(["/?token=t0ken", "/?token=%ZZ", "/?token=&token=x", "/?%"]),
)
rules = st.builds(
    AccessRules,
    token=st.sampled_from(["", "t0ken", "ünï"]),
    allowed_origins=st.lists(header_text.map(parse_origin), max_size=2).map(
        lambda origins: tuple(origin for origin in origins if origin is not None)
    ),
    max_clients=st.integers(1, 5),
)


requests = st.builds(RequestFacts, paths, header_values, header_values, header_values, st.just(OWN))


@FUZZ
@given(rules, requests, st.integers(0, 10))
def test_admission_gives_a_verdict_for_any_request(
    access: AccessRules, facts: RequestFacts, clients: int
) -> None:
    for refusal in (check_upgrade(access, facts, clients), check_page(access, facts)):
        assert refusal is None or refusal.status in REFUSALS


messages = st.one_of(st.text(max_size=200), st.binary(max_size=300))


@FUZZ
@given(
    st.lists(st.tuples(messages, st.floats(0, 2, allow_nan=False)), max_size=40),
    st.integers(1, 150),
    st.integers(1, 250),
    st.floats(0.1, 100),
)
def test_inbound_messages_get_a_verdict_and_only_the_two_close_codes(
    arrivals: list[tuple[str | bytes, float]], text_limit: int, upload_limit: int, rate: float
) -> None:
    limits = InboundLimits(text_limit, upload_limit, rate)
    now_s = 0.0
    bucket = TokenBucket(limits.messages_per_s, limits.burst, now_s)
    for message, gap_s in arrivals:
        now_s += gap_s
        verdict = classify(message, limits) if bucket.take(now_s) else TOO_MANY
        if isinstance(verdict, Close):
            assert verdict.code in (CloseCode.MESSAGE_TOO_BIG, CloseCode.POLICY_VIOLATION)
            return
        assert verdict in (Text(message), Upload(message))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def uploads() -> Iterator[PhotoUploads]:
    handler = PhotoUploads(ModelConfig(), PhotoConfig())
    yield handler
    handler.close()


# Random bytes behind each accepted type's magic, so that the header parsers are reached.
MAGIC = [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP", b"BM"]


@FUZZ_WITH_FIXTURES
@given(st.sampled_from(MAGIC), st.binary(max_size=400))
def test_any_upload_gets_a_reply(uploads: PhotoUploads, magic: bytes, rest: bytes) -> None:
    reply = json.loads(uploads(magic + rest))
    assert reply["type"] in ("photo", "photo_refused")
    if reply["type"] == "photo_refused":
        assert isinstance(reply["reason"], str) and reply["reason"]


# --- the config loader -------------------------------------------------------------------------


def known_keys() -> list[str]:
    return [field for section in SECTIONS.values() for field in section.__dataclass_fields__]


# What tomllib can produce: scalars of every TOML type, arrays and tables of them.
toml_scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["127.0.0.1:9000", "0.0.0.0:8765", "http://localhost:3000", "null", ""]),
    st.datetimes(),
    st.dates(),
    st.times(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=6,
)
section_names = st.one_of(st.sampled_from(sorted(SECTIONS)), st.text(max_size=10))
key_names = st.one_of(st.sampled_from(known_keys()), st.text(max_size=10))
tables = st.dictionaries(
    section_names,
    st.one_of(st.dictionaries(key_names, toml_values, max_size=4), toml_scalars),
    max_size=4,
)


@FUZZ
@given(tables)
def test_merge_gives_a_config_or_a_config_error(data: dict[str, Any]) -> None:
    try:
        config = merge(Config(), data)
    except ConfigError as exc:
        assert str(exc)
        return
    assert isinstance(config, Config)
    for value in (config.source.fps, config.smoothing.beta, config.run.duration_s):
        assert not math.isnan(value)  # every number field refuses NaN


def toml_text(data: dict[str, Any]) -> str:
    """A rough TOML rendering (JSON values are mostly TOML values): real tables and keys, so
    that the loader's checks are reached and not only its parser."""
    lines = []
    for section, table in data.items():
        lines.append(f"[{json.dumps(section)}]")
        if isinstance(table, dict):
            for key, value in table.items():
                lines.append(f"{json.dumps(key)} = {json.dumps(value, default=_toml_scalar)}")
    return "\n".join(lines) + "\n"


def _toml_scalar(value: object) -> object:
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


@FUZZ_WITH_FIXTURES
@given(st.one_of(st.text(max_size=300), tables.map(toml_text)))
def test_load_gives_a_config_or_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    try:
        assert isinstance(load(path), Config)
    except ConfigError as exc:
        assert str(path) in str(exc)
