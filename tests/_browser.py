"""Headless Chromium (Debian's package) driven by Playwright, for the docs and dashboard browser tests.

Playwright's own browser download cannot work offline here: it drives /usr/bin/chromium instead
(install both with tools/install-browser.sh). Every request that would leave the machine is
recorded and aborted, so a test can assert there were none without waiting on a network timeout.
"""
from __future__ import annotations

import contextlib, functools, http.server, os, shutil, socket, threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("AEGIS_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def flutter_texts(page) -> str:
    "The text of a Flutter web page: it draws on a canvas, and its semantics tree (once turned on) carries the text."
    return page.evaluate("""Array.from(document.querySelectorAll('flt-semantics, [aria-label]'))
        .map(e => e.getAttribute('aria-label') || e.textContent).filter(Boolean).join('\\n')""")


def need_browser():
    "Skip (with the fix) when the browser or Playwright is missing; CI installs both."
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: run tools/install-browser.sh")
    pytest.importorskip("playwright.sync_api", reason="playwright missing: run tools/install-browser.sh")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_dir(path: Path):
    "Serve a folder over HTTP on 127.0.0.1 in a thread; yields the base URL."
    handler = functools.partial(_QuietHandler, directory=str(path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try: yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally: httpd.shutdown(); httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass


@dataclass
class PageLog:
    "What one page did: console errors, uncaught exceptions, requests that would have left the machine."
    console_errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)  # outside requests answered locally, each for a stated reason
    # loads Chromium dropped with ERR_NETWORK_CHANGED: the host's interfaces changed under it (a container
    # stopped or started makes docker add or remove a veth), not an error of the page; `still_failing` fetches
    # each again, so a resource that is really missing is still caught
    network_changed: list[str] = field(default_factory=list)

    def still_failing(self) -> list[str]:
        import httpx
        bad = []
        for url in dict.fromkeys(self.network_changed):
            try: code = httpx.get(url, timeout=10).status_code
            except httpx.HTTPError as e: code = type(e).__name__
            if code != 200: bad.append(f"{url}: {code}")
        return bad


def is_local(url: str) -> bool:
    u = urlsplit(url)
    return u.scheme in ("data", "blob", "about", "chrome-error", "file") or u.hostname in LOCAL_HOSTS


@contextlib.contextmanager
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try: yield b
        finally: b.close()


def watched_page(ctx, log: PageLog, known: dict[str, str] | None = None):
    """A page of `ctx` that records console errors and local failures, and aborts every outside request.
    `known` maps an outside URL prefix to the reason it may be asked for: such a request is answered
    here with a 404 (it never leaves the machine) and recorded in `log.known`, not in `log.outside`;
    the console error the browser prints for that 404 is not counted either."""
    known = known or {}
    page = ctx.new_page()

    def console(m):
        where = m.location.get("url") or ""
        if m.type == "error" and "net::ERR_NETWORK_CHANGED" in m.text: return   # counted by requestfailed below
        if m.type == "error" and not any(where.startswith(k) for k in known): log.console_errors.append(f"{m.text} @ {where}")
    page.on("console", console)
    page.on("pageerror", lambda e: log.console_errors.append(f"uncaught: {e}"))
    # ERR_ABORTED: cancelled because the tab moved on to the next page, not a missing file; missing
    # files show up as responses with an error status, which are all counted
    def failed(r):
        if not is_local(r.url) or "ERR_ABORTED" in (r.failure or ""): return
        if "ERR_NETWORK_CHANGED" in (r.failure or ""): log.network_changed.append(r.url)
        else: log.failed.append(f"{r.url}: {r.failure}")
    page.on("requestfailed", failed)
    page.on("response", lambda r: is_local(r.url) and r.status >= 400 and log.failed.append(f"{r.url}: HTTP {r.status}"))

    def route(r):
        url = r.request.url
        if is_local(url): return r.continue_()
        if any(url.startswith(k) for k in known):
            log.known.append(url)
            return r.fulfill(status=404, body="not served: see the reason in the test")
        log.outside.append(url)
        r.abort("blockedbyclient")
    page.route("**/*", route)
    return page
