"""The WebSocket server: its own thread and event loop, and only the newest frame for each client.

The pipeline thread calls publish() with a message encoded once per frame; publish() hands it to
the loop and returns. In the loop each client has a one-slot mailbox emptied by its own sender
task, so a client that reads slowly (or not at all) loses frames while the other clients and the
pipeline never wait for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from mocap.config import Endpoint
from mocap.errors import PublishError
from mocap.threads import lower_this_thread_priority

logger = logging.getLogger("mocap.publish")

# How long close() lets clients complete the closing handshake before cutting them off.
CLOSE_TIMEOUT_S = 2.0
# Longer than CLOSE_TIMEOUT_S, so a normal shutdown always finishes within it.
JOIN_TIMEOUT_S = 5.0
# Like websockets' keepalive ping time-out: a client that accepts no data for this long is dead.
STALL_TIMEOUT_S = 20.0

MessageCallback = Callable[[int, str], None]


def _ignore(client_id: int, text: str) -> None:
    """The default on_message: clients may send control messages; none is understood yet."""


def _put_newest(mailbox: asyncio.Queue[bytes], message: bytes) -> bool:
    """Put message in a one-slot mailbox; True when it replaced one that was never sent."""
    replaced = mailbox.full()
    if replaced:
        mailbox.get_nowait()
    mailbox.put_nowait(message)
    return replaced


def _bind_failure(exc: OSError) -> str:
    """Why binding failed, in the words of the user's fix ("address already in use")."""
    if isinstance(exc, socket.gaierror):
        return f"the host does not resolve ({exc.strerror})"
    if exc.errno is not None:
        return os.strerror(exc.errno).lower()
    return str(exc)


class _Running(NamedTuple):
    loop: asyncio.AbstractEventLoop
    stop: asyncio.Event


@dataclass(eq=False)
class _Client:
    id: int
    connection: ServerConnection
    # One slot: the newest frame this client's sender has not taken yet.
    mailbox: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(maxsize=1))


class WebSocketServer:
    """Serves text messages to WebSocket clients: `hello` on connect, then the newest frames.

    Thread-safe from any thread: publish(), set_hello(), close() and the counters `clients`
    (connected now), `sent` (frames written, one per client per frame) and `dropped` (frames a
    client lost because a newer one replaced it before it could be sent).

    on_message(client_id, text) receives each inbound text message up to max_inbound_bytes; it
    runs on the server's thread, so it must be quick and thread-safe. Larger messages close that
    connection with code 1009; binary messages are ignored.

    A client that accepts no data for stall_timeout_s is disconnected: websockets' keepalive
    pings cannot find it, as they wait behind the same full socket buffer as the frames.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        hello: str,
        *,
        max_inbound_bytes: int = 4096,
        on_message: MessageCallback | None = None,
        stall_timeout_s: float = STALL_TIMEOUT_S,
    ) -> None:
        self._endpoint = endpoint
        self._address = endpoint
        self._hello = hello
        self._max_inbound_bytes = max_inbound_bytes
        self._on_message = on_message or _ignore
        self._stall_timeout_s = stall_timeout_s
        self._thread: threading.Thread | None = None
        # Guards _running so that publish() never schedules onto a loop that is shutting down.
        self._lock = threading.Lock()
        self._running: _Running | None = None
        # Touched only on the server's thread; other threads only read its length.
        self._clients: dict[int, _Client] = {}
        self._client_ids = itertools.count(1)
        self.sent = 0
        self.dropped = 0

    @property
    def address(self) -> Endpoint:
        """The address asked for, with the real port once started (when port 0 was asked)."""
        return self._address

    @property
    def clients(self) -> int:
        return len(self._clients)

    def set_hello(self, text: str) -> None:
        """Replace the first message new clients get (a plain assignment: atomic under the GIL)."""
        self._hello = text

    def start(self) -> None:
        """Listen on the endpoint from the server's own thread; return once it is listening."""
        if self._thread is not None:
            raise RuntimeError("the WebSocket server is already started")
        listening: concurrent.futures.Future[Endpoint] = concurrent.futures.Future()
        # Daemon: a server stuck past its join time-out must not keep the process alive at exit.
        self._thread = threading.Thread(
            target=self._run, args=(listening,), name="mocap-websocket", daemon=True
        )
        self._thread.start()
        try:
            self._address = listening.result()
        except OSError as exc:
            self._thread.join()
            self._thread = None
            raise PublishError(
                f"cannot listen on {self._endpoint}: {_bind_failure(exc)}; "
                "choose another with --ws HOST:PORT"
            ) from None

    def publish(self, message: str) -> None:
        """Queue message for every connected client; never blocks, never raises."""
        with self._lock:
            if self._running is not None:
                self._running.loop.call_soon_threadsafe(self._deliver, message)

    def close(self) -> None:
        """Close every client (1001 going away), stop the server and join its thread; idempotent.

        Clients get CLOSE_TIMEOUT_S to complete the closing handshake before they are cut off.
        """
        thread, self._thread = self._thread, None
        if thread is None:
            return
        with self._lock:
            if self._running is not None:
                self._running.loop.call_soon_threadsafe(self._running.stop.set)
        thread.join(JOIN_TIMEOUT_S)
        if thread.is_alive():
            logger.warning("the WebSocket server did not stop within %.0f s", JOIN_TIMEOUT_S)

    # --- on the server's thread ----------------------------------------------------------------

    def _run(self, listening: concurrent.futures.Future[Endpoint]) -> None:
        lower_this_thread_priority()  # sending fills the gaps that inference leaves
        asyncio.run(self._serve(listening))

    async def _serve(self, listening: concurrent.futures.Future[Endpoint]) -> None:
        try:
            server = await self._listen()
        except Exception as exc:  # any failure must reach start(), which is waiting for it
            listening.set_exception(exc)
            return
        stop = asyncio.Event()
        with self._lock:
            self._running = _Running(asyncio.get_running_loop(), stop)
        port = server.sockets[0].getsockname()[1]
        listening.set_result(Endpoint(self._endpoint.host, port))
        try:
            await stop.wait()
            await self._shut_down(server)
        finally:
            with self._lock:
                self._running = None

    async def _listen(self) -> Server:
        # Admission (a token check, an Origin allowlist, max clients, the viewer page over plain
        # HTTP) belongs in process_request here, so that a refused client never reaches _handle.
        return await serve(
            self._handle,
            self._endpoint.host,
            self._endpoint.port,
            # Text is the only inbound kind read today, so its limit is the whole limit. When
            # binary uploads get a larger one, max_size becomes the larger of the two and
            # _receive_from closes a text message over its own limit with 1009 itself.
            max_size=self._max_inbound_bytes,
            # Deflate runs per connection: it would re-encode every frame once per client.
            compression=None,
            close_timeout=CLOSE_TIMEOUT_S,
            # Keepalive pings stay on (websockets' defaults) and drop clients that stop answering.
        )

    async def _shut_down(self, server: Server) -> None:
        """Close every client with 1001 going away; cut off those that do not finish in time."""
        server.close()
        try:
            await asyncio.wait_for(server.wait_closed(), CLOSE_TIMEOUT_S)
        except asyncio.TimeoutError:
            # websockets sends the close frame behind any unsent frames and waits for them to
            # drain before its own close time-out starts: for ever, with a client that stopped
            # reading.
            for client in self._clients.values():
                client.connection.transport.abort()
            await server.wait_closed()

    def _deliver(self, message: str) -> None:
        if not self._clients:
            return
        # Encoded once for all clients, then sent as a text frame as it is.
        data = message.encode()
        for client in self._clients.values():
            if _put_newest(client.mailbox, data):
                self.dropped += 1

    async def _handle(self, connection: ServerConnection) -> None:
        client = _Client(next(self._client_ids), connection)
        self._clients[client.id] = client
        logger.info("WebSocket client %d connected from %s", client.id, connection.remote_address)
        sender = asyncio.create_task(self._send_to(client))
        try:
            await self._receive_from(client)
        finally:
            del self._clients[client.id]
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            logger.info(
                "WebSocket client %d disconnected (code %s)", client.id, connection.close_code
            )

    async def _send_to(self, client: _Client) -> None:
        """Send hello, then whatever frame is newest each time the previous send completes."""
        # A closed or cut-off connection ends this task; _receive_from sees the same closure.
        with contextlib.suppress(ConnectionClosed):
            await self._send_or_cut_off(client, self._hello)
            while True:
                await self._send_or_cut_off(client, await client.mailbox.get())
                self.sent += 1

    async def _send_or_cut_off(self, client: _Client, message: str | bytes) -> None:
        # A timer that aborts the connection rather than a time-out that cancels send():
        # websockets advises against cancelling send(), and on Python < 3.12 asyncio.wait_for
        # can swallow the cancellation that ends this task, leaving its handler waiting for ever.
        watchdog = asyncio.get_running_loop().call_later(
            self._stall_timeout_s, self._cut_off, client
        )
        try:
            await client.connection.send(message, text=True)
        finally:
            watchdog.cancel()

    def _cut_off(self, client: _Client) -> None:
        logger.info(
            "WebSocket client %d read nothing for %.0f s: disconnecting it",
            client.id,
            self._stall_timeout_s,
        )
        client.connection.transport.abort()

    async def _receive_from(self, client: _Client) -> None:
        """Pass inbound text messages to on_message until the connection closes."""
        # ConnectionClosedError (a message over max_size: 1009, a failed ping, a reset) ends
        # this client only; websockets has already closed the connection.
        with contextlib.suppress(ConnectionClosed):
            async for message in client.connection:
                if isinstance(message, str):
                    self._on_message(client.id, message)
