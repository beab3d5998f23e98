"""The viewer's photo uploads, answered with annotated photos (the WebSocket server's upload
handler)."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from typing import Protocol

import orjson

from mocap.config import ModelConfig, PhotoConfig
from mocap.errors import MocapError
from mocap.photos.annotator import PhotoAnnotator, PhotoResult, encode_jpeg, photo_json
from mocap.photos.checks import PhotoRefused, read_header

log = logging.getLogger("mocap")

# Uploads carry no file name: the viewer shows its own next to the answer.
UPLOAD_NAME = "upload"


class Annotator(Protocol):
    def annotate(self, data: bytes, name: str) -> PhotoResult: ...

    def close(self) -> None: ...


def photo_reply(result: PhotoResult) -> str:
    """The landmarks (mocap.photos.photo_json) with the annotated photo as a JPEG data URL."""
    message = orjson.loads(photo_json(result))
    jpeg = base64.b64encode(encode_jpeg(result.annotated)).decode("ascii")
    message["image"] = f"data:image/jpeg;base64,{jpeg}"
    return orjson.dumps(message).decode()


def refusal_reply(reason: str) -> str:
    return orjson.dumps({"type": "photo_refused", "reason": reason}).decode()


class PhotoUploads:
    """The server's upload handler: each upload checked, annotated and answered in one message.

    Called on the server's upload thread, one upload at a time. The model (Holistic in photo
    mode, a second instance beside the live one) is loaded at the first photo that passes the
    header checks: a run whose viewer never uploads never pays for it.
    """

    def __init__(
        self,
        model: ModelConfig,
        limits: PhotoConfig,
        make_annotator: Callable[[ModelConfig, PhotoConfig], Annotator] = PhotoAnnotator,
    ) -> None:
        self._model = model
        self._limits = limits
        self._make_annotator = make_annotator
        self._annotator: Annotator | None = None
        self._closed = False
        # Held for a whole upload, so that close() never frees the model under a running photo.
        self._lock = threading.Lock()

    def __call__(self, data: bytes) -> str:
        """The reply to one upload: {"type": "photo", ...} or {"type": "photo_refused", ...}."""
        with self._lock:
            if self._closed:
                return refusal_reply("the server is stopping")
            try:
                read_header(data, UPLOAD_NAME)  # a file that is no photo never loads the model
                if self._annotator is None:
                    self._annotator = self._make_annotator(self._model, self._limits)
                return photo_reply(self._annotator.annotate(data, UPLOAD_NAME))
            except PhotoRefused as exc:
                return refusal_reply(exc.reason)
            except MocapError as exc:
                log.warning("a photo upload failed: %s", exc)
                return refusal_reply(str(exc))
            except Exception as exc:  # the model's or OpenCV's own failure: this photo only
                log.warning("a photo upload failed: %s: %s", type(exc).__name__, exc)
                self._drop_annotator()  # a graph that raised may be broken: the next builds anew
                return refusal_reply("the photo could not be processed")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._drop_annotator()

    def _drop_annotator(self) -> None:
        if self._annotator is not None:
            self._annotator.close()
            self._annotator = None
