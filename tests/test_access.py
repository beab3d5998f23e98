"""Admission rules, inbound limits and exposure checks as pure functions (no sockets)."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path

import pytest
from websockets.frames import CloseCode

from mocap.addresses import HostPort, Origin, parse_authority, parse_origin
from mocap.cli import build_parser, config_from_args
from mocap.config import Config, merge
from mocap.errors import ConfigError
from mocap.outputs import assess_exposure
from mocap.publish.access import (
    AccessRules,
    Refusal,
    RequestFacts,
    check_page,
    check_upgrade,
    own_authorities,
    presented_token,
    token_matches,
)
from mocap.publish.exposure import on_this_machine
from mocap.publish.inbound import (
    TOO_MANY,
    Close,
    InboundLimits,
    Text,
    TokenBucket,
    Upload,
    classify,
)
from mocap.publish.udp import resolve

PORT = 8765
OWN = own_authorities("127.0.0.1", HostPort("127.0.0.1", PORT))
TOKEN = "s3cret-token"


def request(
    path: str = "/",
    *,
    host: str | None = f"127.0.0.1:{PORT}",
    origin: str | None = None,
    authorization: str | None = None,
    own: frozenset[HostPort] = OWN,
) -> RequestFacts:
    def values(value: str | None) -> list[str]:
        return [] if value is None else [value]

    return RequestFacts(path, values(host), values(origin), values(authorization), own)


def status(refusal: Refusal | None) -> int | None:
    return None if refusal is None else int(refusal.status)


# --- Host and Origin parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8765", HostPort("127.0.0.1", 8765)),
        ("LOCALHOST:8765", HostPort("localhost", 8765)),
        ("[::1]:8765", HostPort("::1", 8765)),
        ("[0:0:0:0:0:0:0:1]:8765", HostPort("::1", 8765)),
        ("[::ffff:192.168.1.5]:80", HostPort("192.168.1.5", 80)),
        ("example.org", HostPort("example.org", 80)),
        ("example.org:", None),
        ("::1", None),
        ("[::1", None),
        ("[x]:1", None),
        ("a:b:c", None),
        ("evil.example:8765/x", None),
        ("user@127.0.0.1:8765", None),
        ("127.0.0.1:99999", None),
        ("127.0.0.1:٨٧", None),  # Arabic-Indic digits are digits to str.isdigit
        ("", None),
    ],
)
def test_host_headers_are_parsed_strictly(text: str, expected: HostPort | None) -> None:
    assert parse_authority(text, 80) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://127.0.0.1:8765", Origin("http", HostPort("127.0.0.1", 8765))),
        ("HTTP://LocalHost:8765", Origin("http", HostPort("localhost", 8765))),
        ("https://example.org", Origin("https", HostPort("example.org", 443))),
        ("http://[::1]:3000", Origin("http", HostPort("::1", 3000))),
        ("null", None),
        ("http://127.0.0.1:8765/", None),
        ("http://", None),
        ("127.0.0.1:8765", None),
    ],
)
def test_origins_are_parsed_strictly(text: str, expected: Origin | None) -> None:
    assert parse_origin(text) == expected


def test_own_names_include_loopback_the_bound_host_and_the_arrival_address() -> None:
    own = own_authorities("0.0.0.0", HostPort("192.168.1.5", PORT))
    hosts = {authority.host for authority in own}
    assert hosts == {"127.0.0.1", "localhost", "::1", "0.0.0.0", "192.168.1.5"}
    assert {authority.port for authority in own} == {PORT}


# --- the token ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "token"),
    [
        (request(authorization=f"Bearer {TOKEN}"), TOKEN),
        (request(authorization=f"bearer  {TOKEN} "), TOKEN),
        (request(f"/?token={TOKEN}"), TOKEN),
        (request("/?token=a%20b&token=c"), "a b"),
        (request("/?other=1"), None),
        (request(authorization="Basic dXNlcjpwYXNz"), None),
        # The header wins over the query: a page cannot override a client's header.
        (request(f"/?token={TOKEN}", authorization="Bearer other"), "other"),
    ],
)
def test_the_token_comes_from_the_bearer_header_or_the_query(
    facts: RequestFacts, token: str | None
) -> None:
    assert presented_token(facts) == token


def test_tokens_compare_exactly() -> None:
    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(TOKEN, TOKEN[:-1])
    assert not token_matches(TOKEN, TOKEN + "x")
    assert not token_matches(TOKEN, None)
    assert token_matches("ünïcode", "ünïcode")


# --- upgrades ----------------------------------------------------------------------------------

WITH_TOKEN = AccessRules(token=TOKEN)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (request(), HTTPStatus.UNAUTHORIZED),
        (request("/?token=wrong"), HTTPStatus.UNAUTHORIZED),
        (request(authorization="Bearer wrong"), HTTPStatus.UNAUTHORIZED),
        (request(f"/?token={TOKEN}"), None),
        (request(authorization=f"Bearer {TOKEN}"), None),
        # Scripts and plug-ins send no Origin, and may name the server any way they like.
        (request(f"/?token={TOKEN}", host="mypc.lan:8765"), None),
    ],
)
def test_the_token_is_required_when_set(facts: RequestFacts, expected: int | None) -> None:
    assert status(check_upgrade(WITH_TOKEN, facts, clients=0)) == expected


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        (f"http://127.0.0.1:{PORT}", None),
        (f"http://localhost:{PORT}", None),
        (f"http://[::1]:{PORT}", None),
        ("http://localhost:3000", HTTPStatus.FORBIDDEN),  # another local program's page
        (f"https://127.0.0.1:{PORT}", HTTPStatus.FORBIDDEN),
        ("https://evil.example", HTTPStatus.FORBIDDEN),
        ("null", HTTPStatus.FORBIDDEN),  # sandboxed frames, file:// pages
        ("garbage", HTTPStatus.FORBIDDEN),
    ],
)
def test_browsers_are_admitted_only_from_the_viewer_s_own_origin(
    origin: str, expected: int | None
) -> None:
    assert status(check_upgrade(AccessRules(), request(origin=origin), clients=0)) == expected


def test_allowlisted_origins_are_admitted_and_may_name_the_host() -> None:
    app = parse_origin("http://localhost:3000")
    lan = parse_origin("http://mypc.lan:8765")
    assert app is not None and lan is not None
    rules = AccessRules(allowed_origins=(app, lan))
    assert check_upgrade(rules, request(origin="http://localhost:3000"), clients=0) is None
    on_lan = request(origin="http://mypc.lan:8765", host="mypc.lan:8765")
    assert check_upgrade(rules, on_lan, clients=0) is None


def test_an_allowlisted_https_origin_behind_a_proxy_may_omit_the_port_in_host() -> None:
    site = parse_origin("https://mocap.example.org")
    assert site is not None
    rules = AccessRules(allowed_origins=(site,))
    facts = request(origin="https://mocap.example.org", host="mocap.example.org")
    assert check_upgrade(rules, facts, clients=0) is None
    elsewhere = request(origin="https://mocap.example.org", host="other.example.org")
    assert status(check_upgrade(rules, elsewhere, clients=0)) == HTTPStatus.MISDIRECTED_REQUEST


@pytest.mark.parametrize(
    "host", ["evil.example:8765", f"evil.example:{PORT}", "127.0.0.1:9999", None, "::1"]
)
def test_a_browser_must_name_this_server_in_host(host: str | None) -> None:
    facts = request(origin=f"http://127.0.0.1:{PORT}", host=host)
    refusal = check_upgrade(AccessRules(), facts, clients=0)
    assert status(refusal) in (HTTPStatus.MISDIRECTED_REQUEST, HTTPStatus.BAD_REQUEST)


def test_several_origin_or_host_headers_are_refused() -> None:
    facts = RequestFacts("/", [f"127.0.0.1:{PORT}"], ["http://a", "http://b"], [], OWN)
    assert status(check_upgrade(AccessRules(), facts, 0)) == HTTPStatus.BAD_REQUEST
    facts = RequestFacts("/", [f"127.0.0.1:{PORT}"] * 2, [], [], OWN)
    assert status(check_page(AccessRules(), facts)) == HTTPStatus.BAD_REQUEST


def test_the_client_limit_is_checked_after_the_token() -> None:
    rules = AccessRules(token=TOKEN, max_clients=2)
    good = request(f"/?token={TOKEN}")
    assert check_upgrade(rules, good, clients=1) is None
    assert status(check_upgrade(rules, good, clients=2)) == HTTPStatus.SERVICE_UNAVAILABLE
    # Who has no token learns nothing about how busy the server is.
    assert status(check_upgrade(rules, request(), clients=2)) == HTTPStatus.UNAUTHORIZED


def test_the_viewer_page_needs_only_a_host_that_names_this_server() -> None:
    assert check_page(WITH_TOKEN, request()) is None
    assert check_page(WITH_TOKEN, request(host=f"localhost:{PORT}")) is None
    rebound = check_page(WITH_TOKEN, request(host=f"attacker.example:{PORT}"))
    assert status(rebound) == HTTPStatus.MISDIRECTED_REQUEST


def test_refusal_reasons_never_contain_the_token() -> None:
    refusal = check_upgrade(WITH_TOKEN, request("/?token=s3cret-tokem"), clients=0)
    assert refusal is not None and "s3cret" not in refusal.reason


# --- inbound messages --------------------------------------------------------------------------

LIMITS = InboundLimits(max_text_bytes=10, max_upload_bytes=20, messages_per_s=4.0)


def test_messages_are_held_to_their_kind_s_limit() -> None:
    assert classify("0123456789", LIMITS) == Text("0123456789")
    assert classify("é" * 6, LIMITS) == Close(
        CloseCode.MESSAGE_TOO_BIG, "text message over 10 bytes"
    )
    assert classify(b"x" * 20, LIMITS) == Upload(b"x" * 20)
    assert classify(b"x" * 21, LIMITS) == Close(CloseCode.MESSAGE_TOO_BIG, "upload over 20 bytes")
    assert LIMITS.max_message_bytes == 20
    assert TOO_MANY.code == CloseCode.POLICY_VIOLATION


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate_per_s=4.0, burst=LIMITS.burst, now_s=100.0)
    assert [bucket.take(100.0) for _ in range(5)] == [True] * 4 + [False]
    assert bucket.take(100.1) is False  # 0.4 of a token is not one
    assert bucket.take(100.25) is True
    assert bucket.take(110.0) and bucket.take(110.0)  # refilled, but never beyond the burst
    assert [bucket.take(110.0) for _ in range(3)] == [True, True, False]


def test_the_bucket_ignores_a_clock_going_backwards() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=1.0, now_s=50.0)
    assert bucket.take(50.0)
    assert not bucket.take(10.0)
    assert not bucket.take(50.5)
    assert bucket.take(51.0)


# --- exposure: what a run refuses at start -----------------------------------------------------


def config(**tables: Mapping[str, object]) -> Config:
    return merge(Config(), tables)


def test_serving_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(ConfigError) as refused:
        assess_exposure(config(outputs={"ws": "0.0.0.0:8765"}))
    assert str(refused.value) == (
        "--ws 0.0.0.0:8765 exposes landmarks to the network: set a token with --token or "
        "MOCAP_TOKEN, or bind 127.0.0.1"
    )
    guarded = config(outputs={"ws": "0.0.0.0:8765"}, server={"token": TOKEN * 2})
    notices = assess_exposure(guarded).notices
    assert notices == [
        "the WebSocket server on 0.0.0.0:8765 is open to the network (token required)"
    ]
    assert assess_exposure(config(outputs={"ws": "localhost:8765"})).notices == []
    assert assess_exposure(config(outputs={"ws": "[::1]:8765"})).notices == []


def test_sending_off_this_machine_needs_allow_remote() -> None:
    remote = {"osc": ["192.0.2.7:9000"], "ws": ""}
    with pytest.raises(
        ConfigError, match=r"192\.0\.2\.7:9000 is not on this machine.*--allow-remote"
    ):
        assess_exposure(config(outputs=remote))
    with pytest.raises(ConfigError, match=r"192\.0\.2\.8:39539 is not on this machine"):
        assess_exposure(config(outputs={"osc": [], "ws": ""}, vmc={"targets": ["192.0.2.8"]}))
    quest = {"targets": ["192.0.2.9"]}  # VRChat on a headset on the LAN: port 9000 by default
    with pytest.raises(ConfigError, match=r"192\.0\.2\.9:9000 is not on this machine"):
        assess_exposure(config(outputs={"osc": [], "ws": ""}, vrchat=quest))
    quest_allowed = config(outputs={"osc": [], "ws": "", "allow_remote": True}, vrchat=quest)
    assert assess_exposure(quest_allowed).notices == [
        "sending landmarks off this machine to 192.0.2.9:9000"
    ]
    allowed = config(outputs={**remote, "allow_remote": True})
    assert assess_exposure(allowed).notices == [
        "sending landmarks off this machine to 192.0.2.7:9000"
    ]


def _own_non_loopback_address() -> str | None:
    """This machine's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # UDP connect only picks a route and a source
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def test_loopback_and_this_machine_s_own_addresses_are_on_this_machine() -> None:
    assert on_this_machine(resolve(HostPort("127.0.0.1", 9000)))
    assert on_this_machine(resolve(HostPort("127.0.0.2", 9000)))
    assert on_this_machine(resolve(HostPort("localhost", 9000)))
    assert not on_this_machine(resolve(HostPort("192.0.2.7", 9000)))
    own = _own_non_loopback_address()
    if own is not None:
        assert on_this_machine(resolve(HostPort(own, 9000)))


def test_an_unresolvable_target_is_named() -> None:
    with pytest.raises(ConfigError, match=r"cannot send to no-such-host\.invalid:9000"):
        resolve(HostPort("no-such-host.invalid", 9000))


# --- flags and config --------------------------------------------------------------------------


def run_config(argv: list[str], monkeypatch: pytest.MonkeyPatch, env: str | None) -> Config:
    if env is None:
        monkeypatch.delenv("MOCAP_TOKEN", raising=False)
    else:
        monkeypatch.setenv("MOCAP_TOKEN", env)
    return config_from_args(build_parser().parse_args(["run", *argv]))


def test_token_precedence_is_flag_then_environment_then_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    file = tmp_path / "c.toml"
    file.write_text('[server]\ntoken = "from-config"\n')
    with_file = ["--config", str(file)]
    assert run_config(with_file, monkeypatch, None).server.token == "from-config"
    assert run_config(with_file, monkeypatch, "from-env").server.token == "from-env"
    flagged = [*with_file, "--token", "from-flag"]
    assert run_config(flagged, monkeypatch, "from-env").server.token == "from-flag"


def test_access_flags_reach_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["--osc", "127.0.0.1:9000", "--allow-remote", "--log-file", "access.log"]
    config = run_config(argv, monkeypatch, None)
    assert config.outputs.allow_remote is True
    assert config.outputs.osc == ("127.0.0.1:9000",)
    assert config.server.log_file == "access.log"
    assert config.server.token == ""


@pytest.mark.parametrize("origin", ["null", "localhost:3000", "http://localhost:3000/app"])
def test_a_malformed_allowed_origin_is_refused_naming_the_key(origin: str) -> None:
    with pytest.raises(ConfigError, match=r"'server\.allowed_origins' must each be SCHEME://HOST"):
        merge(Config(), {"server": {"allowed_origins": [origin]}})
