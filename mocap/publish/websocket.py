"""The WebSocket server: its own thread and event loop, and only the newest frame for each client.

The pipeline thread calls publish() with a message encoded once per frame; publish() hands it to
the loop and returns. In the loop each client has a one-slot mailbox emptied by its own sender
task, so a client that reads slowly (or not at all) loses frames while the other clients and the
pipeline never wait for it.

Admission happens before the opening handshake completes (process_request, rules in
mocap.publish.access): a refused client gets a plain HTTP status and never a frame. The same port
answers plain HTTP GETs with the built-in viewer's files. Inbound messages are checked against
their size limits and a per-client rate (mocap.publish.inbound); uploads are answered from one
worker thread; a {"type": "calibrate"} control message is handed to on_calibrate with a
thread-safe way to answer that client.

Memory per client is bounded against clients that send without reading: each message kind is held
to its own limit from the frame's header (a 10 MB text message is refused before it is buffered),
one frame waits in the incoming queue and the rest in the kernel, a client holds at most one
upload at a time, and pongs to a client whose socket is full are folded into one. Across clients,
UPLOADS_IN_MEMORY binary messages at most are held at once (being received, waiting for the
worker, or being answered): a client that starts one more is no longer read until one is done.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import errno
import itertools
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar, NamedTuple
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol

from mocap.addresses import DEFAULT_PORTS, HostPort, normalise_host, parse_authority
from mocap.errors import PublishError
from mocap.publish import access_log
from mocap.publish.access import (
    AccessRules,
    Refusal,
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
    frame_limit,
)
from mocap.publish.static import StaticFile, page_headers
from mocap.threads import lower_this_thread_priority

logger = logging.getLogger("mocap.publish")

# How long close() lets clients complete the closing handshake before cutting them off.
CLOSE_TIMEOUT_S = 2.0
# Longer than CLOSE_TIMEOUT_S, so a normal shutdown always finishes within it.
JOIN_TIMEOUT_S = 5.0
# Like websockets' keepalive ping time-out: a client that accepts no data for this long is dead.
STALL_TIMEOUT_S = 20.0
# Frames a client may have waiting in websockets' incoming queue before its socket is no longer
# read (the kernel holds the rest): with zero, one frame waits while the last one is handled.
INBOUND_QUEUE_FRAMES = 0
# Binary messages (photo uploads, up to limits.max_upload_bytes each) held at once, server-wide:
# one being answered by the one upload worker, one arriving meanwhile. Each costs two to three
# times its size while it arrives (websockets' buffer, the frame, the message).
UPLOADS_IN_MEMORY = 2
_OPCODE_BINARY = 0x2
_DATA_OPCODES = frozenset({Opcode.TEXT, Opcode.BINARY, Opcode.CONT})

# The defaults: no token (fine on loopback only, which mocap.outputs enforces at start), and
# browsers only from the viewer's own origin.
LOOPBACK_ONLY = AccessRules()
DEFAULT_LIMITS = InboundLimits()

# Blocking: runs on the server's one upload worker thread; returns the text reply to the uploader.
UploadHandler = Callable[[bytes], str]
# Called on the server's thread with a reply function that any thread may call, any time later,
# to send that client one text message; it must return at once (hand the request over).
Reply = Callable[[str], None]
CalibrateHandler = Callable[[Reply], None]
_NO_CALIBRATION = orjson.dumps(
    {"type": "calibration_failed", "reason": "this server does not calibrate"}
).decode()


def _is_upgrade(request: Request) -> bool:
    return any("websocket" in value.lower() for value in request.headers.get_all("Upgrade"))


def _local_authority(connection: ServerConnection) -> HostPort:
    host, port = connection.local_address[:2]
    return HostPort(normalise_host(str(host)) or str(host), int(port))


def _put_newest(mailbox: asyncio.Queue[bytes], message: bytes) -> bool:
    """Put message in a one-slot mailbox; True when it replaced one that was never sent."""
    replaced = mailbox.full()
    if replaced:
        mailbox.get_nowait()
    mailbox.put_nowait(message)
    return replaced


_ALL_ADDRESSES_SKIPPED = "could not bind on any address"


def _bind_failure(exc: OSError) -> str:
    """Why binding failed, in the words of the user's fix ("address already in use")."""
    if isinstance(exc, socket.gaierror):
        return f"the host does not resolve ({exc.strerror})"
    if exc.errno is not None:
        return os.strerror(exc.errno).lower()
    if str(exc).startswith(_ALL_ADDRESSES_SKIPPED):
        # Python 3.13's asyncio skips each address it cannot assign (EADDRNOTAVAIL, bpo-30945)
        # and then raises this, errno-less: name the reason the earlier versions gave.
        return os.strerror(errno.EADDRNOTAVAIL).lower()
    return str(exc)


class _GuardedProtocol(ServerProtocol):
    """websockets' server protocol, with two guards against clients that send without reading.

    Each message kind has its own limit, checked against the length in each frame's header: a
    10 MB text message is closed with 1009 at its first bytes, never buffered whole.

    Pings that come while the connection's writes are paused (its socket is full) are not
    answered one by one: each pong would wait in the write buffer, which would grow with every
    ping. The latest one is answered when writes resume (RFC 6455 lets a pong answer only the
    most recent ping), so a slow reader's keepalive still gets its pong.
    """

    def __init__(
        self,
        limits: InboundLimits,
        writes_paused: Callable[[], bool],
        binary_message_starts: Callable[[], None],
    ) -> None:
        self._limits = limits
        self._writes_paused = writes_paused
        self._binary_message_starts = binary_message_starts
        self._binary_message = False  # the kind that continuation frames extend
        self._frame_seen = False  # this frame's start has been reported; reset by recv_frame
        self._unanswered_ping: bytes | None = None
        super().__init__(max_size=limits.max_message_bytes)

    @property
    def max_message_size(self) -> int:
        # websockets' parser reads this at each frame, once the frame's first byte is buffered
        # and before it checks the length in the frame's header against it: the one moment a
        # binary message's start is known before its bytes are.
        buffered = self.reader.buffer
        if not buffered:  # never so when the parser asks; were it, the stricter limit holds
            return self._limits.max_text_bytes
        if buffered[0] & 0x0F == _OPCODE_BINARY and not self._frame_seen:
            self._frame_seen = True  # the parser reads this property twice per frame
            self._binary_message_starts()
        return frame_limit(buffered[0], self._binary_message, self._limits)

    @max_message_size.setter
    def max_message_size(self, _size: int | None) -> None:
        """websockets' __init__ sets one limit for every kind; the getter has one per kind."""

    def recv_frame(self, frame: Frame) -> None:
        self._frame_seen = False
        if frame.opcode is Opcode.PING and self._writes_paused():
            self._unanswered_ping = bytes(frame.data)
            return
        if frame.opcode is Opcode.TEXT or frame.opcode is Opcode.BINARY:
            self._binary_message = frame.opcode is Opcode.BINARY
        if frame.opcode in _DATA_OPCODES:
            # websockets' parser keeps the frame it parsed last until the next one is whole: a
            # client that sends one upload and then nothing would keep it in memory for ever.
            # The message goes on in a copy; the parser's frame is emptied.
            passed_on, frame.data = dataclasses.replace(frame), b""
            frame = passed_on
        super().recv_frame(frame)

    def answer_latest_ping(self) -> None:
        """Send the pong owed to the latest ping that came while writes were paused."""
        data, self._unanswered_ping = self._unanswered_ping, None
        if data is not None and self.state is State.OPEN:
            self.send_pong(data)


class _ReadingGate:
    """A connection's socket is read only while nothing holds it: websockets' incoming queue
    being full, an upload waiting for room in the budget, or this client's photo being answered.
    Each reason pauses and resumes on its own, so none resumes reading another one paused."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._reasons: set[str] = set()

    def hold(self, reason: str) -> None:
        if not self._reasons:
            self._transport.pause_reading()
        self._reasons.add(reason)

    def release(self, reason: str) -> None:
        if reason not in self._reasons:
            return
        self._reasons.discard(reason)
        if not self._reasons:
            self._transport.resume_reading()


class _GuardedConnection(ServerConnection):
    """The connection serve() builds for each client: a _GuardedProtocol, reading through a
    _ReadingGate, and its binary messages counted against the server's upload budget."""

    protocol: _GuardedProtocol
    reading: _ReadingGate
    limits: ClassVar[InboundLimits]
    budget: ClassVar[_UploadBudget]

    def __init__(self, protocol: ServerProtocol, server: Server, **kwargs: Any) -> None:
        # serve() built a plain protocol from its arguments; this server passes it none that
        # a protocol keeps (no origins, extensions or subprotocols), so a new one replaces it.
        del protocol
        guarded = _GuardedProtocol(self.limits, lambda: self.paused, lambda: self.budget.take(self))
        super().__init__(guarded, server, **kwargs)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.reading = _ReadingGate(self.transport)
        self.recv_messages.pause = lambda: self.reading.hold("queue")
        self.recv_messages.resume = lambda: self.reading.release("queue")

    def resume_writing(self) -> None:
        super().resume_writing()
        self.protocol.answer_latest_ping()
        self.send_data()


def _guarded_connections(limits: InboundLimits, budget: _UploadBudget) -> type[_GuardedConnection]:
    """The connection class for one server: its limits and its upload budget."""

    class GuardedConnection(_GuardedConnection):
        pass

    GuardedConnection.limits = limits
    GuardedConnection.budget = budget
    return GuardedConnection


class _UploadBudget:
    """Binary messages held at once, server-wide. A connection that starts one over the budget
    is no longer read (TCP holds the rest of it back, in the client's own memory) until one is
    done; connections get room in the order they asked. Waiting is what a slow upload looks like
    to the client, where a refusal (1013) would close the viewer's whole connection.

    Used on the server's event loop only.
    """

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._held: dict[_GuardedConnection, int] = {}
        self._owed: dict[_GuardedConnection, int] = {}  # in the order they asked

    def take(self, connection: _GuardedConnection) -> None:
        """Room for a binary message that connection has started to send."""
        if self._free > 0 and connection not in self._owed:
            self._free -= 1
            self._held[connection] = self._held.get(connection, 0) + 1
            return
        if connection not in self._owed:
            connection.reading.hold("budget")
        self._owed[connection] = self._owed.get(connection, 0) + 1

    def give_back(self, connection: _GuardedConnection) -> None:
        """A binary message of connection's is done with."""
        held = self._held.get(connection, 0)
        if held > 0:
            self._held[connection] = held - 1
            self._free += 1
            self._grant()

    def forget(self, connection: _GuardedConnection) -> None:
        """A closed connection gives back all it held and waits no more."""
        self._free += self._held.pop(connection, 0)
        self._owed.pop(connection, None)
        self._grant()

    def _grant(self) -> None:
        while self._free > 0 and self._owed:
            connection = next(iter(self._owed))
            self._free -= 1
            self._held[connection] = self._held.get(connection, 0) + 1
            self._owed[connection] -= 1
            if self._owed[connection] == 0:
                del self._owed[connection]
                connection.reading.release("budget")


class _UploadWorker:
    """One daemon thread that runs the upload handler, one upload at a time.

    A daemon, unlike a ThreadPoolExecutor's thread (which the interpreter joins at exit): a photo
    still being annotated when mocap stops must not hold the exit. The server stops waiting for
    it (its answer is None) and the thread's late answer is dropped.
    """

    def __init__(self, handler: UploadHandler) -> None:
        self._handler = handler
        self._jobs: queue.SimpleQueue[_UploadJob | None] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="mocap-upload", daemon=True).start()

    def submit(self, data: bytes) -> asyncio.Future[str | None]:
        """The handler's answer to data, to await on the calling (the server's) loop."""
        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._jobs.put(_UploadJob(data, answer))
        return answer

    def stop(self) -> None:
        """End the thread after the upload in hand; the uploads not started are skipped (the
        server has answered them None)."""
        self._jobs.put(None)

    def _run(self) -> None:
        lower_this_thread_priority()  # live frames come before photos
        while (job := self._jobs.get()) is not None:
            if not job.answer.done():  # a stale False costs one photo's work, never a wrong answer
                job.settle(self._answer(job.data))
            del job  # hold no photo while waiting for the next

    def _answer(self, data: bytes) -> str | None:
        try:
            return self._handler(data)
        except Exception:  # the handler's own failure: this upload goes unanswered
            logger.exception("the upload handler failed")
            return None


class _UploadJob(NamedTuple):
    data: bytes
    answer: asyncio.Future[str | None]

    def settle(self, reply: str | None) -> None:
        """Answer from the worker thread, unless the server has answered (or its loop closed)."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self.answer.get_loop().call_soon_threadsafe(_answer_unless_done, self.answer, reply)


def _answer_unless_done(answer: asyncio.Future[str | None], reply: str | None) -> None:
    if not answer.done():
        answer.set_result(reply)


class _Running(NamedTuple):
    loop: asyncio.AbstractEventLoop
    stop: asyncio.Event


@dataclass(eq=False)
class _Client:
    id: int
    connection: _GuardedConnection
    # Its inbound rate limit.
    bucket: TokenBucket
    # One slot: the newest frame this client's sender has not taken yet.
    mailbox: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(maxsize=1))


class WebSocketServer:
    """Serves text messages to WebSocket clients: `hello` on connect, then the newest frames.

    Thread-safe from any thread: publish(), set_hello(), close() and the counters `clients`
    (connected now), `sent` (frames written, one per client per frame) and `dropped` (frames a
    client lost because a newer one replaced it before it could be sent).

    access: who may connect (token, origins, the most clients); see mocap.publish.access.

    Text messages within limits.max_text_bytes are control messages. {"type": "calibrate"} goes
    to on_calibrate(reply) (without one it is answered {"type": "calibration_failed", ...}); any
    other is read and let go. Every connected client has passed admission (the token), so any
    may ask. on_upload(data) receives each binary message within limits.max_upload_bytes, on one
    worker thread (one upload at a time, server-wide, so that photos never compete with each
    other for the cores); its return value is sent to the uploader. Without on_upload binary
    messages are ignored. A message over its limit closes that connection with 1009, more than
    limits.messages_per_s with 1008.

    At most UPLOADS_IN_MEMORY binary messages are held at once: a client that starts one more is
    not read until one is done (its upload waits, its frames go on; websockets' keepalive drops
    it if that takes longer than a ping time-out). close() does not wait for an upload in
    progress: its client gets no answer.

    pages: URL path -> file, answered to plain HTTP GETs on the same port (the viewer).

    A client that accepts no data for stall_timeout_s is disconnected: websockets' keepalive
    pings cannot find it, as they wait behind the same full socket buffer as the frames.
    """

    def __init__(
        self,
        endpoint: HostPort,
        hello: str,
        *,
        access: AccessRules = LOOPBACK_ONLY,
        limits: InboundLimits = DEFAULT_LIMITS,
        on_upload: UploadHandler | None = None,
        on_calibrate: CalibrateHandler | None = None,
        pages: Mapping[str, StaticFile] | None = None,
        stall_timeout_s: float = STALL_TIMEOUT_S,
    ) -> None:
        self._endpoint = endpoint
        self._address = endpoint
        self._hello = hello
        self._access = access
        self._limits = limits
        self._on_upload = on_upload
        self._on_calibrate = on_calibrate
        # Replies sent on behalf of other threads: kept until done (the loop holds tasks weakly).
        self._replies: set[asyncio.Task[None]] = set()
        self._upload_budget = _UploadBudget(UPLOADS_IN_MEMORY)
        self._pages = pages or {}
        self._stall_timeout_s = stall_timeout_s
        # Created with the loop, on the server's thread; one thread: one upload at a time.
        self._upload_worker: _UploadWorker | None = None
        # Uploads waiting for the worker's answer: answered None when the server stops.
        self._answers_awaited: set[asyncio.Future[str | None]] = set()
        self._thread: threading.Thread | None = None
        # Guards _running so that publish() never schedules onto a loop that is shutting down.
        self._lock = threading.Lock()
        self._running: _Running | None = None
        # Touched only on the server's thread; other threads only read its length.
        self._clients: dict[int, _Client] = {}
        # Connections admitted by process_request and not closed yet: the ones max_clients
        # counts, including those whose handshake has not reached _handle.
        self._admitted: set[ServerConnection] = set()
        self._client_ids = itertools.count(1)
        self._refusals = access_log.RefusalLog()
        self.sent = 0
        self.dropped = 0

    @property
    def address(self) -> HostPort:
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
        listening: concurrent.futures.Future[HostPort] = concurrent.futures.Future()
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
        self._refusals.flush()

    # --- on the server's thread ----------------------------------------------------------------

    def _run(self, listening: concurrent.futures.Future[HostPort]) -> None:
        lower_this_thread_priority()  # sending fills the gaps that inference leaves
        asyncio.run(self._serve(listening))

    async def _serve(self, listening: concurrent.futures.Future[HostPort]) -> None:
        try:
            server = await self._listen()
        except Exception as exc:  # any failure must reach start(), which is waiting for it
            listening.set_exception(exc)
            return
        stop = asyncio.Event()
        with self._lock:
            self._running = _Running(asyncio.get_running_loop(), stop)
        port = server.sockets[0].getsockname()[1]
        listening.set_result(HostPort(self._endpoint.host, port))
        if self._on_upload is not None:
            self._upload_worker = _UploadWorker(self._on_upload)
        try:
            await stop.wait()
            await self._shut_down(server)
        finally:
            with self._lock:
                self._running = None
            if self._upload_worker is not None:
                self._upload_worker.stop()

    async def _listen(self) -> Server:
        return await serve(
            self._handle,
            self._endpoint.host,
            self._endpoint.port,
            # Admission and the viewer's files: a refused client never reaches _handle.
            process_request=self._process_request,
            # Its protocol closes a message over its kind's limit with 1009 before buffering it.
            create_connection=_guarded_connections(self._limits, self._upload_budget),
            max_queue=INBOUND_QUEUE_FRAMES,
            # Deflate runs per connection: it would re-encode every frame once per client.
            compression=None,
            close_timeout=CLOSE_TIMEOUT_S,
            # Keepalive pings stay on (websockets' defaults) and drop clients that stop answering.
        )

    async def _shut_down(self, server: Server) -> None:
        """Close every client with 1001 going away; cut off those that do not finish in time."""
        for answer in self._answers_awaited:  # a photo in progress holds no client's handler
            _answer_unless_done(answer, None)
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

    # --- admission and the viewer's files (before the opening handshake completes) ---------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """None admits a WebSocket client; a Response refuses it, or answers a plain GET."""
        own = own_authorities(self._endpoint.host, _local_authority(connection))
        headers = request.headers
        facts = RequestFacts(
            request.path,
            headers.get_all("Host"),
            headers.get_all("Origin"),
            headers.get_all("Authorization"),
            own,
        )
        if not _is_upgrade(request):
            return self._answer_page(connection, facts)
        refusal = check_upgrade(self._access, facts, self._connections_admitted())
        if refusal is not None:
            return self._refuse(connection, facts, refusal)
        self._admitted.add(connection)
        return None

    def _connections_admitted(self) -> int:
        # A connection admitted here whose handshake then failed never reaches _handle; it is
        # closed by then, so dropping the closed ones keeps the count true.
        self._admitted = {c for c in self._admitted if c.state is not State.CLOSED}
        return len(self._admitted)

    def _answer_page(self, connection: ServerConnection, facts: RequestFacts) -> Response:
        refusal = check_page(self._access, facts)
        if refusal is not None:
            return self._refuse(connection, facts, refusal)
        page = self._pages.get(urlsplit(facts.path).path)
        if page is None:
            return self._refuse(connection, facts, Refusal(HTTPStatus.NOT_FOUND, "no such page"))
        authority = parse_authority(facts.host[0], DEFAULT_PORTS["http"])
        assert authority is not None  # check_page has parsed it
        response = connection.respond(HTTPStatus.OK, "")
        response.body = page.body
        del response.headers["Content-Type"], response.headers["Content-Length"]
        response.headers["Content-Length"] = str(len(page.body))
        for name, value in page_headers(authority, page.content_type):
            response.headers[name] = value
        return response

    def _refuse(
        self, connection: ServerConnection, facts: RequestFacts, refusal: Refusal
    ) -> Response:
        origin = facts.origin[0] if facts.origin else None
        address = access_log.peer(connection.remote_address)
        self._refusals.refused(address, origin, refusal.status, refusal.reason)
        response = connection.respond(refusal.status, f"{refusal.reason}\n")
        if refusal.status == HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    # --- connected clients -----------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        assert isinstance(connection, _GuardedConnection)  # what _listen asks serve() to build
        limits = self._limits
        bucket = TokenBucket(limits.messages_per_s, limits.burst, time.monotonic())
        client = _Client(next(self._client_ids), connection, bucket)
        address = access_log.peer(connection.remote_address)
        self._clients[client.id] = client
        origins = connection.request.headers.get_all("Origin") if connection.request else []
        access_log.connected(client.id, address, origins[0] if origins else None)
        sender = asyncio.create_task(self._send_to(client))
        try:
            await self._receive_from(client)
        finally:
            del self._clients[client.id]
            self._admitted.discard(connection)
            self._upload_budget.forget(connection)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            access_log.disconnected(
                client.id, address, connection.close_code, connection.close_reason or ""
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
        """Hand inbound messages on until the connection closes, or close it over a limit."""
        # ConnectionClosedError (a message over its limit: 1009, a failed ping, a reset) ends
        # this client only; websockets has already closed the connection.
        with contextlib.suppress(ConnectionClosed):
            while True:
                # The message is let go before its answer is sent: a client that reads nothing
                # holds no photo while the answer waits for its socket.
                answer = await self._take_message(client)
                if isinstance(answer, Close):
                    await client.connection.close(answer.code, answer.reason)
                    return
                if answer is not None:
                    await self._send_or_cut_off(client, answer)

    def _ask_calibration(self, client: _Client) -> None:
        reply = self._replier(client)
        if self._on_calibrate is None:
            reply(_NO_CALIBRATION)
            return
        self._on_calibrate(reply)

    def _replier(self, client: _Client) -> Reply:
        """A function any thread may call to send client one text message (dropped once the
        client or the server is gone)."""

        def reply(text: str) -> None:
            with self._lock:
                if self._running is not None:
                    self._running.loop.call_soon_threadsafe(self._send_reply, client, text)

        return reply

    def _send_reply(self, client: _Client, text: str) -> None:
        if self._clients.get(client.id) is not client:
            return  # it disconnected while its request was being served
        task = asyncio.create_task(self._send_quietly(client, text))
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    async def _send_quietly(self, client: _Client, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._send_or_cut_off(client, text)

    async def _take_message(self, client: _Client) -> str | Close | None:
        """Receive one message and act on it: the answer to send back, a Close, or None."""
        message = await client.connection.recv()
        try:
            # _GuardedProtocol has held the message to its kind's limit already; classify()
            # checks again, so that the limits hold even if websockets stopped asking it per frame.
            verdict = (
                classify(message, self._limits)
                if client.bucket.take(time.monotonic())
                else TOO_MANY
            )
            if isinstance(verdict, Upload):
                return await self._upload_reply(client, verdict.data)
            if isinstance(verdict, Text):
                if _control_type(verdict.text) == "calibrate":
                    self._ask_calibration(client)
                return None  # other control messages: none is understood yet
            return verdict
        finally:
            if isinstance(message, bytes):
                self._upload_budget.give_back(client.connection)

    async def _upload_reply(self, client: _Client, data: bytes) -> str | None:
        """The upload handler's answer, from the worker thread; None without a handler."""
        if self._upload_worker is None:
            return None
        # While this photo waits for the one worker, the client's next message waits in the
        # kernel: a client holds one upload at most.
        client.connection.reading.hold("upload")
        answer = self._upload_worker.submit(data)
        self._answers_awaited.add(answer)
        try:
            return await answer
        finally:
            self._answers_awaited.discard(answer)
            client.connection.reading.release("upload")


def _control_type(text: str) -> str | None:
    """The "type" of a JSON object control message; None for anything else."""
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    kind = message.get("type") if isinstance(message, dict) else None
    return kind if isinstance(kind, str) else None
