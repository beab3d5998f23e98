"""`--rate`: avatar outputs sent at a fixed rate from their own timer, end to end through a real
UDP receiver and python-osc's parser: the rate held, /VMC/Ext/T rising, no NaN, no flipped
quaternion."""

from __future__ import annotations

import itertools
import math

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage

from tests.runs import DATA, VIDEO, UdpCollector, paced_replay, run_mocap
from tests.support import wait_until

RECORDING = DATA / "recording_thumbs_up.jsonl.gz"
RATE_HZ = 60.0
SPAN_S = 10.0


Send = tuple[float, float, dict[str, list[float]]]


def sends(datagrams: list[bytes], arrivals_s: list[float]) -> list[Send]:
    """Each send as (arrival, /VMC/Ext/T, {bone: x y z w}): a send's bundles come before its T."""
    out: list[Send] = []
    bones: dict[str, list[float]] = {}
    for datagram, arrival_s in zip(datagrams, arrivals_s, strict=True):
        if datagram.startswith(b"#bundle"):
            for item in OscBundle(datagram):
                if isinstance(item, OscMessage) and item.address == "/VMC/Ext/Bone/Pos":
                    bones[item.params[0]] = [float(v) for v in item.params[4:8]]
        elif datagram.startswith(b"/VMC/Ext/T\x00"):
            out.append((arrival_s, float(OscMessage(datagram).params[0]), bones))
            bones = {}
    return out


def count_sends(datagrams: list[bytes]) -> int:
    return sum(d.startswith(b"/VMC/Ext/T\x00") for d in datagrams)


def test_a_looping_replay_sends_vmc_at_the_rate_for_ten_seconds() -> None:
    replay = paced_replay(RECORDING, "--vmc", RATE_HZ, int(RATE_HZ * (SPAN_S + 1.0)), count_sends)
    assert "VMC (generic) to 127.0.0.1" in replay.stderr and f"at {RATE_HZ:g} Hz" in replay.stderr
    sent = sends(replay.datagrams, replay.arrivals_s)[1:-1]  # whole sends only
    arrivals = [arrival for arrival, _, _ in sent]
    first = arrivals[0] + 0.5  # the rate from half a second in, over SPAN_S
    window = [a for a in arrivals if first <= a <= first + SPAN_S]
    rate_hz = (len(window) - 1) / (window[-1] - window[0])
    assert abs(rate_hz - RATE_HZ) <= 0.05 * RATE_HZ, rate_hz
    times = [t for _, t, _ in sent]
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    # T is the send time on the source's clock, which runs at the wall clock's pace in a replay
    in_window = [t for (arrival, t, _) in sent if first <= arrival <= first + SPAN_S]
    assert abs((in_window[-1] - in_window[0]) / (window[-1] - window[0]) - 1.0) <= 0.05
    for (_, _, before), (_, _, after) in itertools.pairwise(sent):
        assert set(after) == set(before)
        for bone, rotation in after.items():
            assert all(math.isfinite(v) for v in rotation)
            assert sum(a * b for a, b in zip(rotation, before[bone], strict=True)) >= 0.0, bone


def test_a_rate_out_of_range_is_refused() -> None:
    result = run_mocap("replay", RECORDING, "--vmc", "127.0.0.1:9", "--rate", "-1")
    assert result.returncode == 2
    assert "rate_hz" in result.stderr


def test_a_run_paces_vmc_from_the_model_s_frames() -> None:
    with UdpCollector() as vmc:
        result = run_mocap("run", "--video", VIDEO, "--no-preview", "--frames", "40", "--vmc",
                           f"127.0.0.1:{vmc.port}", "--rate", "60")  # fmt: skip
        assert result.returncode == 0, result.stderr
        wait_until(lambda: count_sends(list(vmc.datagrams)) > 0, 5.0)
        datagrams, arrivals_s = list(vmc.datagrams), list(vmc.arrivals_s)
    assert "at 60 Hz" in result.stderr
    sent = sends(datagrams, arrivals_s)
    times = [t for _, t, _ in sent]
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    assert all(math.isfinite(v) for _, _, bones in sent for r in bones.values() for v in r)
