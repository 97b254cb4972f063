"""The docs site in a real browser: every page loads without console errors and without asking any
outside host for anything, every internal link resolves (page and anchor), and a screenshot of the
landing page is kept in artifacts/."""
import functools, os, re, subprocess, sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit
import pytest
from _browser import ARTIFACTS, PageLog, browser, need_browser, serve_dir, watched_page

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    "Build the site as `make docs` does, into a temporary folder (the working tree's site/ is left alone)."
    need_browser()
    tmp = tmp_path_factory.mktemp("docs")
    md, out = tmp / "md", tmp / "site"
    subprocess.run([sys.executable, "tools/docs/build.py", md], cwd=ROOT, check=True, capture_output=True)
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d", out], cwd=ROOT, capture_output=True,
                       text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "AEGIS_DOCS_MD": str(md)})
    assert r.returncode == 0, r.stderr
    return out


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(); self.hrefs, self.ids = [], set()
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"): self.ids.add(a["id"])
        if tag == "a" and a.get("href"): self.hrefs.append(a["href"])


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _Links:
    p = _Links(); p.feed(path.read_text()); return p


def test_one_page_per_notebook(site):
    nbs = [p for p in (ROOT / "nbs").glob("*.ipynb") if p.name != "index.ipynb"]
    pages = [p for p in site.glob("*.html") if p.name not in ("index.html", "404.html")]
    assert len(pages) == len(nbs) and len(nbs) > 5
    landing = (site / "index.html").read_text()
    readme_title = (ROOT / "README.md").read_text().split("\n# ", 1)[1].splitlines()[0]
    assert f">{readme_title}<" in landing


def test_exported_functions_documented(site):
    "Every exported function and class (nbdev's index of the package) has its entry, with a signature, on its page."
    from aegis._modidx import d
    missing, n = [], 0
    for mod, syms in d["syms"].items():
        for sym, (link, _src) in syms.items():
            if sym.count(".") != mod.count(".") + 1: continue  # methods are documented with their class
            if sym.rsplit(".", 1)[1].startswith("_"): continue    # nbdev documents public names only
            page, anchor = link.split("#")
            ids = _parse(site / page).ids
            n += 1
            if anchor not in ids: missing.append(f"{sym} -> {link}")
    assert n > 20 and not missing, missing
    html = re.sub(r"<[^>]+>", "", (site / "names.html").read_text())
    assert "def project_name(" in html and "Check name and derive its forms" in html


def test_internal_links_resolve(site):
    bad = []
    for page in sorted(site.rglob("*.html")):
        for href in _parse(page).hrefs:
            u = urlsplit(href)
            if u.scheme or href.startswith("//") or href.startswith("mailto:"): continue
            # absolute paths (the 404 page uses them) are relative to the site root, where it is served
            target = (site / u.path.lstrip("/") if u.path.startswith("/") else (page.parent / u.path).resolve()) if u.path else page
            if target.is_dir(): target = target / "index.html"
            if not target.exists(): bad.append(f"{page.name}: {href} (no such page)")
            elif u.fragment and target.suffix == ".html" and u.fragment not in _parse(target).ids:
                bad.append(f"{page.name}: {href} (no such anchor)")
    assert not bad, "\n".join(bad)


def test_pages_in_browser(site):
    "Each page in headless Chromium: no console error, no outside request, nothing local failing."
    pages = sorted(p.relative_to(site).as_posix() for p in site.glob("*.html"))
    problems = []
    with serve_dir(site) as base, browser() as b:
        ctx = b.new_context(viewport={"width": 1280, "height": 900})
        log = PageLog()
        page = watched_page(ctx, log)  # one tab for every page: what is checked is per navigation
        for rel in pages:
            log.console_errors.clear(); log.outside.clear(); log.failed.clear()
            page.goto(urljoin(base, rel), wait_until="load")
            assert page.locator("h1").first.inner_text().strip(), rel
            broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth)).map(i => i.src)")
            problems += [f"{rel}: image did not load: {u}" for u in broken]
            if rel == "index.html":
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=ARTIFACTS / "docs-landing.png", full_page=True)
            problems += [f"{rel}: console: {e}" for e in log.console_errors]
            problems += [f"{rel}: outside request: {u}" for u in log.outside]
            problems += [f"{rel}: failed: {u}" for u in log.failed]
        page.close()
        ctx.close()
    assert not problems, "\n".join(problems)
    assert (ARTIFACTS / "docs-landing.png").stat().st_size > 10_000
