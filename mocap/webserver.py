"""The WebSocket server as a run sets it up: access rules and limits from [server], the built-in
viewer's page on the same port, and the viewer's photo uploads answered with annotated photos."""

from __future__ import annotations

import base64
import logging
import threading

import orjson

from mocap.access import AccessRules, parse_origin
from mocap.config import Config, Endpoint, ModelConfig, PhotoConfig
from mocap.errors import MocapError
from mocap.photos import (
    PhotoAnnotator,
    PhotoRefused,
    PhotoResult,
    encode_jpeg,
    photo_json,
    read_header,
)
from mocap.publish.inbound import InboundLimits
from mocap.publish.static import load_viewer
from mocap.publish.websocket import UploadHandler, WebSocketServer

log = logging.getLogger("mocap")

# Uploads carry no file name: the viewer shows its own next to the answer.
UPLOAD_NAME = "upload"
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def websocket_server(
    config: Config, endpoint: Endpoint, hello: str, on_upload: UploadHandler | None = None
) -> WebSocketServer:
    """A server with the config's access rules and limits, serving the viewer's page."""
    server = config.server
    origins = [parse_origin(text) for text in server.allowed_origins]
    return WebSocketServer(
        endpoint,
        hello,
        access=AccessRules(
            token=server.token,
            # config.validate has refused any that does not parse
            allowed_origins=tuple(origin for origin in origins if origin is not None),
            max_clients=server.max_clients,
        ),
        limits=InboundLimits(
            max_text_bytes=server.max_message_bytes,
            max_upload_bytes=server.max_upload_bytes,
            messages_per_s=server.max_messages_per_s,
        ),
        on_upload=on_upload,
        pages=load_viewer(),
    )


def viewer_url(address: Endpoint, token: str) -> str:
    """Where to open the viewer on this machine. The token is not printed (logs are kept and
    shared more than the token should be): the user adds the one they chose."""
    host = "127.0.0.1" if address.host in WILDCARD_HOSTS else str(address).rpartition(":")[0]
    url = f"http://{host}:{address.port}/"
    return f"{url}?token=YOUR_TOKEN" if token else url


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

    def __init__(self, model: ModelConfig, limits: PhotoConfig) -> None:
        self._model = model
        self._limits = limits
        self._annotator: PhotoAnnotator | None = None
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
                    self._annotator = PhotoAnnotator(self._model, self._limits)
                return photo_reply(self._annotator.annotate(data, UPLOAD_NAME))
            except PhotoRefused as exc:
                return refusal_reply(exc.reason)
            except MocapError as exc:
                log.warning("a photo upload failed: %s", exc)
                return refusal_reply(str(exc))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._annotator is not None:
                self._annotator.close()
                self._annotator = None
