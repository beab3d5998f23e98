"""`mocap run --vmc` end to end: a VMC receiver on 127.0.0.1 checks what a Marionette gets."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from websockets.sync.client import connect

from mocap.solve.humanoid import BONES
from tests.runs import VIDEO, MocapProcess, UdpCollector, receive_all, run_mocap
from tests.support import VMC_TYPE_TAGS, type_tags

FRAMES = 60
VRM0_EXPRESSIONS = {
    "Neutral", "A", "I", "U", "E", "O", "Blink", "Blink_L", "Blink_R", "Joy", "Angry", "Sorrow",
    "Fun", "LookUp", "LookDown", "LookLeft", "LookRight",
}  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[UdpCollector]:
    with UdpCollector() as collector:
        yield collector


def messages_of(datagram: bytes) -> list[OscMessage]:
    if datagram.startswith(b"#bundle"):
        return [item for item in OscBundle(datagram) if isinstance(item, OscMessage)]
    return [OscMessage(datagram)]


def blend_values(frame: list[OscMessage]) -> dict[str, float]:
    return {m.params[0]: m.params[1] for m in frame if m.address == "/VMC/Ext/Blend/Val"}


def frames_of(datagrams: list[bytes]) -> list[list[OscMessage]]:
    """Split the stream into frames: each frame ends with its /VMC/Ext/T."""
    frames: list[list[OscMessage]] = [[]]
    for datagram in datagrams:
        for message in messages_of(datagram):
            frames[-1].append(message)
            if message.address == "/VMC/Ext/T":
                frames.append([])
    return [frame for frame in frames if frame]


def test_vmc_stream_conforms_to_the_protocol(receiver: UdpCollector) -> None:
    result = run_mocap("run", "--video", VIDEO, "--no-realtime", "--no-preview", "--frames",
                       str(FRAMES), "--vmc", f"127.0.0.1:{receiver.port}")  # fmt: skip
    assert result.returncode == 0, result.stderr
    receiver.wait_for_count(FRAMES * 5)
    frames = frames_of(receiver.datagrams)
    assert len(frames) == FRAMES
    times = []
    for frame in frames:
        addresses = [message.address for message in frame]
        for message in frame:
            assert type_tags(message) == VMC_TYPE_TAGS[message.address]
            for value in message.params:
                assert not (isinstance(value, float) and not math.isfinite(value))
        assert addresses[0] == "/VMC/Ext/Root/Pos"
        bones = {m.params[0]: m.params[1:] for m in frame if m.address == "/VMC/Ext/Bone/Pos"}
        assert set(bones) == set(BONES)
        for values in bones.values():
            assert math.isclose(math.hypot(*values[3:7]), 1.0, abs_tol=1e-5)
        values = [m.params[0] for m in frame if m.address == "/VMC/Ext/Blend/Val"]
        assert set(values) <= VRM0_EXPRESSIONS and {"Blink_L", "Blink_R", "A", "Joy"} <= set(values)
        apply_at = addresses.index("/VMC/Ext/Blend/Apply")
        assert addresses.count("/VMC/Ext/Blend/Apply") == 1
        assert max(i for i, a in enumerate(addresses) if a == "/VMC/Ext/Blend/Val") < apply_at
        assert addresses[-2:] == ["/VMC/Ext/OK", "/VMC/Ext/T"]
        assert frame[-2].params[0] == 1  # loaded
        times.append(frame[-1].params[0])
    assert times == sorted(times) and len(set(times)) == FRAMES
    assert 0.0 <= times[0] < 1.0 and times[-1] < 60.0  # relative to the start, never Unix time


def test_websocket_frames_carry_bones_and_blendshapes_when_solving() -> None:
    with MocapProcess("run", "--video", VIDEO, "--no-realtime", "--no-preview", "--solve",
                      "--frames", "40", "--ws", "127.0.0.1:0") as mocap:  # fmt: skip
        url = mocap.wait_for_line(r"WebSocket on (ws://[^\s,]+)").group(1)
        frames = receive_all(url)
        assert mocap.wait(60) == 0, mocap.stderr()
    frame = frames[-1]
    assert frame["type"] == "frame"
    assert set(frame["bones"]) == set(BONES)
    assert set(frame["bones"]["Hips"]) == {"rotation", "position"}
    assert len(frame["bones"]["LeftUpperArm"]) == 4
    assert all(0.0 <= weight <= 1.0 for weight in frame["blendshapes"].values())
    assert frame["latency_ms"] > 0


def test_without_vmc_or_solve_frames_have_no_bones() -> None:
    with MocapProcess("run", "--video", VIDEO, "--no-realtime", "--no-preview",
                      "--frames", "10", "--ws", "127.0.0.1:0") as mocap:  # fmt: skip
        url = mocap.wait_for_line(r"WebSocket on (ws://[^\s,]+)").group(1)
        with connect(url) as client:
            json.loads(client.recv(timeout=30))  # hello
            frame = json.loads(client.recv(timeout=30))
        assert mocap.wait(60) == 0
    assert "bones" not in frame and "blendshapes" not in frame


# Spelled out here, not derived from mocap's name lists: the ARKit names a receiver looks for.
CAMEL_SAMPLE = {"eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "mouthSmileLeft", "browInnerUp",
                "cheekPuff", "noseSneerRight", "mouthRollUpper", "eyeLookOutLeft"}  # fmt: skip
PASCAL_SAMPLE = {name[0].upper() + name[1:] for name in CAMEL_SAMPLE}


@pytest.mark.parametrize("case", ["camel", "pascal"])
def test_perfect_sync_sends_the_51_in_the_configured_case_before_apply(
    receiver: UdpCollector, tmp_path: Path, case: str
) -> None:
    """camel: the flag with the generic profile's own case; pascal: the config's keys alone."""
    if case == "camel":
        options = ["--perfect-sync"]
    else:
        config = tmp_path / "pascal.toml"
        config.write_text('[vmc]\nperfect_sync = true\narkit_case = "pascal"\n')
        options = ["--config", str(config)]
    result = run_mocap("run", "--video", VIDEO, "--no-realtime", "--no-preview", "--frames",
                       str(FRAMES), "--vmc", f"127.0.0.1:{receiver.port}", *options)  # fmt: skip
    assert result.returncode == 0, result.stderr
    receiver.wait_for_count(FRAMES * 5)
    frames = frames_of(receiver.datagrams)
    assert len(frames) == FRAMES  # the video shows a face in every frame
    sample = CAMEL_SAMPLE if case == "camel" else PASCAL_SAMPLE
    for frame in frames:
        addresses = [message.address for message in frame]
        apply_at = addresses.index("/VMC/Ext/Blend/Apply")
        values = blend_values(frame)
        perfect_sync = set(values) - VRM0_EXPRESSIONS
        assert len(perfect_sync) == 51 and sample <= perfect_sync
        assert all(0.0 <= values[name] <= 1.0 for name in perfect_sync)
        assert max(i for i, a in enumerate(addresses) if a == "/VMC/Ext/Blend/Val") < apply_at
        assert addresses.count("/VMC/Ext/Blend/Apply") == 1
    # The weights follow the face: the video's smile (frames 40-55 at 25 fps) shows in them.
    smile = "mouthSmileLeft" if case == "camel" else "MouthSmileLeft"
    assert max(f[smile] for f in map(blend_values, frames)) > 0.3


def test_a_replay_sends_the_recorded_weights_on_the_avatar_s_sides(
    receiver: UdpCollector, tmp_path: Path
) -> None:
    """Recorded bones are sent as recorded; the weights beside them, mirrored as the avatar is."""
    take = tmp_path / "take.jsonl"
    recorded = run_mocap("run", "--video", VIDEO, "--no-realtime", "--no-preview", "--frames",
                         "10", "--solve", "--osc", "127.0.0.1:9", "--record", take)  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    lines = [json.loads(line) for line in take.read_text().splitlines()[1:]]
    assert len(lines) == 10 and all("bones" in line for line in lines)
    result = run_mocap("replay", take, "--vmc", f"127.0.0.1:{receiver.port}", "--perfect-sync")
    assert result.returncode == 0, result.stderr
    receiver.wait_for_count(10 * 5)
    for line, frame in zip(lines, frames_of(receiver.datagrams), strict=True):
        sent, measured = blend_values(frame), line["arkit"]
        for left, right in (("eyeBlinkLeft", "eyeBlinkRight"), ("mouthSmileLeft",
                            "mouthSmileRight"), ("jawLeft", "jawRight")):  # fmt: skip
            assert sent[left] == pytest.approx(measured[right], abs=1e-6)
            assert sent[right] == pytest.approx(measured[left], abs=1e-6)
        assert sent["jawOpen"] == pytest.approx(measured["jawOpen"], abs=1e-6)
