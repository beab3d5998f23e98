"""Headless Chromium for tests, driven over the DevTools protocol with the websockets client.

No browser-automation package: the protocol is JSON over one WebSocket, and a test needs only a
few of its methods (open a page, evaluate JavaScript, set a file input, take a screenshot, list
the requests a page made).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",  # tests run as root in containers, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",  # any free port; the browser prints the one it took
]
START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 30.0


def available() -> bool:
    return shutil.which(CHROMIUM) is not None


class BrowserError(AssertionError):
    """A DevTools call or a page's JavaScript failed."""


class Chromium:
    """One headless browser with a fresh profile; pages are opened with new_page()."""

    def __init__(self, profile: Path) -> None:
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        listening = threading.Event()
        # Chromium keeps writing to stderr: read it all on a thread, or it would block on a pipe.
        self._reader = threading.Thread(target=self._read_stderr, args=(listening,), daemon=True)
        self._reader.start()
        if not listening.wait(START_TIMEOUT_S):
            self.close()
            raise BrowserError("chromium did not start:\n" + "\n".join(self.lines))
        address = next(m for m in map(_devtools_url, self.lines) if m is not None)
        self._exits = contextlib.ExitStack()
        self._socket: ClientConnection = self._exits.enter_context(
            connect(address, max_size=None, open_timeout=10)
        )
        self._ids = itertools.count(1)
        # URL of every request (and WebSocket) of the pages opened with watch_requests, in order.
        self.requested: list[str] = []

    def _read_stderr(self, listening: threading.Event) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            if _devtools_url(line) is not None:
                listening.set()

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are skipped, but
        for the requests of watched pages, which are noted in self.requested)."""
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while True:
            reply = json.loads(self._socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            self._note_request(reply)
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply["result"]
                return result

    def _note_request(self, event: dict[str, Any]) -> None:
        if event.get("method") == "Network.requestWillBeSent":
            self.requested.append(event["params"]["request"]["url"])
        elif event.get("method") == "Network.webSocketCreated":
            self.requested.append(event["params"]["url"])

    def new_page(self, url: str, watch_requests: bool = False) -> Page:
        """A tab that opens url; with watch_requests, every request it makes is noted (the
        network is watched before the page starts loading)."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        if watch_requests:
            self.call("Network.enable", session)
        self.call("Page.navigate", session, url=url)
        return Page(self, session)

    def close(self) -> None:
        if hasattr(self, "_exits"):
            self._exits.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        assert self.process.stderr is not None
        self.process.stderr.close()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Page:
    """One tab, through its DevTools session."""

    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser = browser
        self.session = session

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = self.browser.call(
            "Runtime.evaluate",
            self.session,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 30.0) -> Any:
        """Evaluate expression until it is truthy; return its value."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"never true: {expression}")
            time.sleep(0.1)

    def set_file(self, selector: str, path: Path) -> None:
        """Choose a file in an <input type=file>, as a user does (its change event fires)."""
        document = self.browser.call("DOM.getDocument", self.session)["root"]["nodeId"]
        node = self.browser.call(
            "DOM.querySelector", self.session, nodeId=document, selector=selector
        )["nodeId"]
        self.browser.call("DOM.setFileInputFiles", self.session, files=[str(path)], nodeId=node)

    def screenshot(self, selector: str) -> bytes:
        """A PNG of the element's box, as the screen shows it."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect();"
            " return [r.x + scrollX, r.y + scrollY, r.width, r.height]; })()"
        )
        clip = dict(zip(("x", "y", "width", "height"), box, strict=True), scale=1)
        shot = self.browser.call("Page.captureScreenshot", self.session, format="png", clip=clip)
        return base64.b64decode(shot["data"])


def _devtools_url(line: str) -> str | None:
    match = re.search(r"DevTools listening on (ws://\S+)", line)
    return match.group(1) if match else None
