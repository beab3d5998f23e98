"""Network camera streams, with open and read time-outs: http(s) MJPEG read by mocap itself
(mocap.sources.mjpeg, every part capped), anything else (rtsp, rtmp, a video file over http)
through FFmpeg."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import cv2

from mocap.config import SourceConfig
from mocap.errors import SourceError
from mocap.frames import ImageArray
from mocap.sources.base import Source
from mocap.sources.capture import (
    DeviceSource,
    Reader,
    first_frame,
    open_at_background_priority,
    opencv_quiet,
)
from mocap.sources.mjpeg import open_mjpeg

HTTP_SCHEMES = ("http://", "https://")
STREAM_SCHEMES = (*HTTP_SCHEMES, "rtsp://", "rtmp://")
_STREAM_TIMEOUT_S = 5.0  # open and read time-out for stream URLs (never above lost_after_s)


def open_stream(url: str, config: SourceConfig) -> Source:
    description = f"stream {without_password(url)}"
    timeout_s = min(_STREAM_TIMEOUT_S, config.lost_after_s)
    timeout_ms = round(timeout_s * 1000)
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        timeout_ms,
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        timeout_ms,
    ]

    def open_stream() -> tuple[Reader, ImageArray]:
        if url.lower().startswith(HTTP_SCHEMES):
            mjpeg = open_mjpeg(url, timeout_s, description)
            if mjpeg is not None:
                return first_frame(mjpeg, f"{description} answered but sent no frame")
        with opencv_quiet():
            capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
        if not capture.isOpened():
            raise SourceError(
                f"{description} gave no video (refused, no answer within {timeout_s:g} s, or "
                "not a video stream); check the address and that the camera is on"
            )
        return first_frame(capture, f"{description} answered but sent no frame")

    capture, _probe_image = open_at_background_priority(open_stream)
    return DeviceSource(description, capture, open_stream, config)


def without_password(url: str) -> str:
    """The URL as it may be logged: its password, and the value of every query parameter whose
    name looks like a secret (token, password, key, ...), replaced by ***."""
    parts = urlsplit(url)
    # The host follows the last "@", so the password is all between the first ":" and it.
    userinfo, _at, host = parts.netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    netloc = f"{user}:***@{host}" if colon else parts.netloc
    query = "&".join(_without_secret_value(field) for field in parts.query.split("&"))
    return urlunsplit(parts._replace(netloc=netloc, query=query))


# Query names that carry credentials (token, access_token, password, passwd, pwd, api-key,
# apikey, secret, auth, authorization, sig, signature, session, credentials...): a name that
# contains one of these is enough, since hiding a harmless value costs nothing.
_SECRET_NAME_PARTS = ("token", "pass", "pwd", "key", "secret", "auth", "sig", "session", "cred")


def _without_secret_value(field: str) -> str:
    name, equals, _value = field.partition("=")
    secret = any(part in name.lower() for part in _SECRET_NAME_PARTS)
    return f"{name}=***" if equals and secret else field
