"""What a WebSocket client may send us, and how fast. Pure: the server applies the verdicts.

Clients mostly listen. They may send small text control messages and, from the viewer's photo
panel, a photo as one binary message. Anything larger than its kind's limit, or more messages
than the rate allows, closes that client's connection (and only that one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from websockets.frames import CloseCode

# The bucket holds this many seconds' worth of messages: a short burst (a page that sends its
# settings on open, then a photo) passes; a steady flood does not.
BURST_S = 1.0


@dataclass(frozen=True)
class InboundLimits:
    max_text_bytes: int = 4096
    max_upload_bytes: int = 10_000_000
    messages_per_s: float = 20.0

    @property
    def max_message_bytes(self) -> int:
        """The largest message of any kind: what websockets may buffer before it closes 1009."""
        return max(self.max_text_bytes, self.max_upload_bytes)

    @property
    def burst(self) -> float:
        return max(1.0, self.messages_per_s * BURST_S)


class Text(NamedTuple):
    """A control message within its limit (the server acts on the ones it knows, such as
    {"type": "calibrate"}, and lets the others go)."""

    text: str


class Upload(NamedTuple):
    """A binary message within the upload limit, for the server's upload handler."""

    data: bytes


class Close(NamedTuple):
    """Close this client's connection with code and reason."""

    code: CloseCode
    reason: str


Inbound = Text | Upload | Close
# The verdict for a message over the rate.
TOO_MANY = Close(CloseCode.POLICY_VIOLATION, "too many messages")


# RFC 6455 opcodes: the low 4 bits of a frame's first byte.
_OPCODE_CONTINUATION, _OPCODE_BINARY = 0x0, 0x2


def frame_limit(first_byte: int, continues_binary: bool, limits: InboundLimits) -> int:
    """The most bytes a message may reach, judged from its frame's first byte alone.

    Binary frames (and continuations of a binary message) carry uploads; every other frame (text,
    and control frames, which RFC 6455 holds to 125 bytes anyway) carries text. Checked against
    the length in the frame's header, so an oversized message is refused before it is buffered.
    """
    opcode = first_byte & 0x0F
    binary = opcode == _OPCODE_BINARY or (opcode == _OPCODE_CONTINUATION and continues_binary)
    return limits.max_upload_bytes if binary else limits.max_text_bytes


def classify(message: str | bytes, limits: InboundLimits) -> Inbound:
    """What to do with one message that the rate limit has let through."""
    if isinstance(message, str):
        size = len(message.encode("utf-8", "surrogatepass"))
        if size > limits.max_text_bytes:
            return Close(
                CloseCode.MESSAGE_TOO_BIG, f"text message over {limits.max_text_bytes} bytes"
            )
        return Text(message)
    if len(message) > limits.max_upload_bytes:
        return Close(CloseCode.MESSAGE_TOO_BIG, f"upload over {limits.max_upload_bytes} bytes")
    return Upload(message)


class TokenBucket:
    """A rate limit: each message takes a token; tokens come back at rate_per_s, up to burst.

    Timestamps come from the caller (a monotonic clock), so tests drive it without sleeping.
    """

    def __init__(self, rate_per_s: float, burst: float, now_s: float) -> None:
        self._rate_per_s = rate_per_s
        self._burst = burst
        self._tokens = burst
        self._updated_s = now_s

    def take(self, now_s: float) -> bool:
        """Take one token; False when none is left (the message is over the rate)."""
        elapsed_s = max(0.0, now_s - self._updated_s)
        self._updated_s = max(self._updated_s, now_s)
        refilled = self._tokens + elapsed_s * self._rate_per_s
        self._tokens = min(self._burst, refilled) if math.isfinite(refilled) else self._burst
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
