"""The Overseer dashboard in a real browser (Debian's Chromium driven by Playwright): it shows the
health tree, refreshes itself, and loads nothing from outside the machine but one known file."""

from __future__ import annotations

import re
import shutil
import time

import pytest
from _browser import FLAGS, flutter_texts
from genproj import cached_env, generate, project_env, serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flet's web client (1.0.x) always asks a CDN for the Rive animation runtime, even with no_cdn=True: the URL
# is compiled into main.dart.js. The dashboard uses no Rive control and works without it, so the test
# blocks that one request on purpose; any other request leaving the machine fails the test.
KNOWN_OUTSIDE = re.compile(r"^https://cdn\.jsdelivr\.net/npm/@rive-app/flutter-native-wasm@[\d.]+/")

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_dashboard_shows_the_tree_and_refreshes(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (uses Debian's chromium)")
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    project = generate("", tmp_path, name="Probe API")
    base = cached_env(project)
    venv = project_env(project, base)
    outside, blocked = [], []

    def route(r):
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            return r.continue_()
        (blocked if KNOWN_OUTSIDE.match(url) else outside).append(url)
        return r.abort()

    with serve(project, venv, base, {"DASHBOARD_REFRESH": "1"}) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.route("**/*", route)
            page.goto(f"{url}/dashboard/")
            page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=60_000)
            page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
            deadline, seen = time.monotonic() + 60, set()
            while time.monotonic() < deadline and len(seen) < 2:
                text = flutter_texts(page)
                seen.update(re.findall(r"checked at (\d\d:\d\d:\d\d)", text))
                time.sleep(0.5)
        finally:
            browser.close()
    assert "probe-api is healthy" in text, text
    for name in ("backend", "frontend", "serving", "served at /dashboard"):
        assert name in text, (name, text)
    assert len(seen) >= 2, f"the dashboard did not refresh: {seen}"
    assert not outside, f"requests left the machine: {outside}"
