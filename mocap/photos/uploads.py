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
from mocap.frames import ImageArray
from mocap.photos.annotator import PhotoAnnotator, PhotoResult, encode_jpeg, photo_json
from mocap.photos.checks import PhotoRefused, read_header

log = logging.getLogger("mocap")

# Uploads carry no file name: the viewer shows its own next to the answer.
UPLOAD_NAME = "upload"


class Annotator(Protocol):
    def decode(self, data: bytes, name: str) -> ImageArray: ...

    def annotate_image(self, image: ImageArray, name: str) -> PhotoResult: ...

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

    close() never waits for a photo in progress: it marks the handler closed, and the model is
    freed by whichever finishes last, close() or the photo (whose answer is then dropped).
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
        self._uploads_in_progress = 0
        # Held briefly, for the fields above: never while a model loads or a photo is annotated.
        self._lock = threading.Lock()

    def __call__(self, data: bytes) -> str:
        """The reply to one upload: {"type": "photo", ...} or {"type": "photo_refused", ...}."""
        with self._lock:
            if self._closed:
                return _STOPPING
            self._uploads_in_progress += 1
        try:
            return self._reply(data)
        finally:
            with self._lock:
                self._uploads_in_progress -= 1
                if self._closed and self._uploads_in_progress == 0:
                    self._drop_annotator()  # close() left it to the last photo

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._uploads_in_progress == 0:
                self._drop_annotator()

    def _reply(self, data: bytes) -> str:
        try:
            read_header(data, UPLOAD_NAME)  # a file that is no photo never loads the model
            annotator = self._annotator_in_use()
            image = annotator.decode(data, UPLOAD_NAME)
            # A big photo decodes for seconds: the model does not start for a server that
            # stopped meanwhile (the process may be exiting: mediapipe 1.x refuses calls then),
            # nor does the encoding of the annotated copy.
            if self._closed:
                return _STOPPING
            result = annotator.annotate_image(image, UPLOAD_NAME)
            return _STOPPING if self._closed else photo_reply(result)
        except PhotoRefused as exc:
            return refusal_reply(exc.reason)
        except MocapError as exc:
            log.warning("a photo upload failed: %s", exc)
            return refusal_reply(str(exc))
        except Exception as exc:  # the model's or OpenCV's own failure: this photo only
            log.warning("a photo upload failed: %s: %s", type(exc).__name__, exc)
            with self._lock:
                self._drop_annotator()  # a graph that raised may be broken: the next builds anew
            return refusal_reply("the photo could not be processed")

    def _annotator_in_use(self) -> Annotator:
        """The annotator, loaded at the first photo (outside the lock: close() must not wait
        for a model to load)."""
        with self._lock:
            annotator = self._annotator
        if annotator is None:
            annotator = self._make_annotator(self._model, self._limits)
            with self._lock:  # one upload at a time: none was loaded meanwhile
                self._annotator = annotator
        return annotator

    def _drop_annotator(self) -> None:
        """Free the model; with the lock held."""
        if self._annotator is not None:
            self._annotator.close()
            self._annotator = None


_STOPPING = refusal_reply("the server is stopping")
