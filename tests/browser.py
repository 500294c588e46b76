"""A small Chrome DevTools Protocol client for Debian's headless Chromium (test-only).

    with Browser() as b:
        page = b.open(Path("report.html"))
        page.console_errors, page.requests, page.evaluate("document.title"), page.screenshot()

Chromium runs with an empty profile and no background networking; every request the page makes
(Network.requestWillBeSent) and every console error, uncaught exception and log error is
recorded. Needs `chromium` (apt-get install chromium) and the `websockets` package.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--disable-extensions", "--mute-audio", "--force-device-scale-factor=1",
                  "--font-render-hinting=none"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session
        self.console_errors: list[str] = []
        self.requests: list[str] = []

    def send(self, method: str, **params: Any) -> Any:
        return self.browser.send(method, session=self.session, **params)

    def record(self, event: dict[str, Any]) -> None:
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            self.console_errors.append(f"exception: {text}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            self.console_errors.append(f"console.{params['type']}: {args}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.console_errors.append(f"log: {params['entry']['text']}")

    def evaluate(self, expression: str, *, await_promise: bool = False) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=await_promise)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            self.browser.pump(0.05)
        raise TimeoutError(f"timed out waiting for {expression}")

    def screenshot(self, clip: dict[str, float] | None = None, *, full: bool = False) -> bytes:
        params: dict[str, Any] = {"format": "png"}
        if full:
            metrics = self.send("Page.getLayoutMetrics")["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": metrics["width"], "height": metrics["height"]}
            params["captureBeyondViewport"] = True
        if clip is not None:
            params["clip"] = {**clip, "scale": 1}
            params["captureBeyondViewport"] = True
        return base64.b64decode(self.send("Page.captureScreenshot", **params)["data"])

    def element_box(self, selector: str) -> dict[str, float]:
        box = self.evaluate(f"(function () {{ var r = document.querySelector({json.dumps(selector)})"
                            ".getBoundingClientRect(); return {x: r.left + window.scrollX, "
                            "y: r.top + window.scrollY, width: r.width, height: r.height}; })()")
        return dict(box)

    def close(self) -> None:
        self.browser.send("Target.closeTarget", targetId=self.target)

    target: str = ""


class Browser:
    """One headless Chromium for a test session; `open` gives a fresh tab per page."""

    def __init__(self, width: int = 1280, height: int = 900) -> None:
        self.width, self.height = width, height
        self.ids = 0
        self.pages: dict[str, Page] = {}
        self.pending: dict[int, Any] = {}

    def __enter__(self) -> Browser:
        from websockets.sync.client import connect

        path = chromium_path()
        if path is None:
            raise RuntimeError("chromium not found")
        self.profile = tempfile.mkdtemp(prefix="convcalc-chromium-")
        self.process = subprocess.Popen(
            [path, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}",
             "--remote-debugging-port=0", f"--window-size={self.width},{self.height}",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.__exit__(None, None, None)
                raise RuntimeError("chromium did not start")
            time.sleep(0.05)
        port, ws_path = port_file.read_text().splitlines()[:2]
        self.stack = contextlib.ExitStack()
        self.ws = self.stack.enter_context(
            connect(f"ws://127.0.0.1:{port}{ws_path}", max_size=None, open_timeout=30))
        return self

    def __exit__(self, *exc: object) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            from websockets.exceptions import ConnectionClosed

            with contextlib.suppress(RuntimeError, TimeoutError, OSError, ConnectionClosed):
                self.send("Browser.close")  # the browser may already be gone
            self.stack.close()
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def send(self, method: str, session: str | None = None, **params: Any) -> Any:
        self.ids += 1
        message: dict[str, Any] = {"id": self.ids, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        wanted = self.ids
        deadline = time.monotonic() + 120
        while True:
            if wanted in self.pending:
                reply = self.pending.pop(wanted)
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if time.monotonic() > deadline:
                raise TimeoutError(method)
            self.pump(1.0)

    def pump(self, timeout: float) -> None:
        """Read what the browser sent within `timeout` seconds: replies and events."""
        try:
            raw = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return
        message = json.loads(raw)
        if "id" in message:
            self.pending[message["id"]] = message
            return
        page = self.pages.get(message.get("sessionId", ""))
        if page is not None:
            page.record(message)
            if message["method"] == "Page.loadEventFired":
                page.loaded = True  # type: ignore[attr-defined]

    def open(self, path: Path, *, timeout: float = 60) -> Page:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session)
        page.target = target
        page.loaded = False  # type: ignore[attr-defined]
        self.pages[session] = page
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)
        page.send("Page.navigate", url=path.resolve().as_uri())
        deadline = time.monotonic() + timeout
        while not page.loaded:  # type: ignore[attr-defined]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} did not load")
            self.pump(0.2)
        return page


def available() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if chromium_path() is None:
        return "chromium absent (apt-get install -y chromium chromium-driver)"
    try:
        import websockets.sync.client  # noqa: F401
    except ImportError:
        return "the websockets package is absent (pip install websockets)"
    if os.environ.get("CONVCALC_NO_BROWSER"):
        return "CONVCALC_NO_BROWSER is set"
    return None
