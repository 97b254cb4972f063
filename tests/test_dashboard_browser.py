"""The Overseer dashboard of a generated project, in a real browser, against real services.

A project with a PostgreSQL database is generated and run two ways: its backend started as users
start it (`<slug> serve`) against a PostgreSQL server of this test's own (the machine's shared one on
5432 is used by other tests and must not be stopped), and the whole stack started by `aegis.up` in
Docker, where PostgreSQL's container is stopped and started. Headless Chromium opens `/dashboard/`:
- every component of the project is shown with its status;
- when PostgreSQL stops, `database` turns unhealthy on the open page within 10 s, without a reload;
- when PostgreSQL is back, it turns healthy again;
- Flet's web client and fonts come from the app itself: no request leaves the machine, with one
  stated exception (RIVE below).

Flutter draws on a canvas, so the page's text is read from Flutter's accessibility tree (switched on
the way a screen reader does, through its placeholder button).
"""
from __future__ import annotations

import glob, os, shutil, subprocess, tempfile, time
from pathlib import Path

import pytest
from _browser import ARTIFACTS, PageLog, browser, free_port, need_browser, watched_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Flet 1.0's web client (flet-web 1.0.x) loads the Rive animation runtime from jsdelivr at startup,
# whatever `no_cdn` says: the URL is compiled into main.dart.js/main.dart.wasm. Rive is only used by
# the `ft.Rive` control, which the dashboard does not use, and no registry reachable here has the
# file, so it cannot be served locally either. The test answers that one URL with a local 404 (the
# request never leaves the machine, as on an offline host) and counts every other outside request.
RIVE = {"https://cdn.jsdelivr.net/npm/@rive-app/": "Rive runtime, unused by the dashboard (see above)"}
STATUSES = ("healthy", "warning", "unhealthy")
TEXT_JS = "(document.querySelector('flt-semantics-host') || {}).innerText || ''"


class PrivatePostgres:
    "A throwaway PostgreSQL cluster on a free port, run as the `postgres` user; this test stops and starts it."

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins: pytest.skip("PostgreSQL server binaries missing (apt-get install postgresql)")
        self.bin = Path(bins[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="aegis-overseer-pg-"))
        self.port = free_port()
        if os.geteuid() == 0: shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", self.root / "data", "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, tool, *args):
        cmd = [str(self.bin / tool), *map(str, args)]
        if os.geteuid() == 0: cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)

    def start(self):
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", self.root / "data", "-l", self.root / "log", "-o", opts, "-w", "start")

    def stop(self): self._run("pg_ctl", "-D", self.root / "data", "-m", "fast", "-w", "stop")

    def sql(self, *stmts):
        for s in stmts:
            subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc", s],
                           check=True, capture_output=True, timeout=30)

    def close(self):
        try: self.stop()
        except subprocess.CalledProcessError: pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    "A generated project with database[postgres], served on a free port against a private PostgreSQL."
    need_browser()
    genproj = pytest.importorskip("genproj", reason="needs tests/genproj.py from the core project (branch core)")
    if not hasattr(genproj, "serve"): pytest.skip("needs genproj.serve (tests/genproj.py from the core project, branch core)")
    from aegis.specs import registry
    if not registry()["database"].available: pytest.skip("database templates not available yet")
    project = genproj.generate("database[postgres]", tmp_path_factory.mktemp("overseer"), name="Overseer Check")
    base = genproj.cached_env(project)
    venv = genproj.project_env(project, base)
    env = dict(l.split("=", 1) for l in (project / ".env").read_text().splitlines() if l and not l.startswith("#"))
    pg = PrivatePostgres()
    try:
        pg.start()
        user, pw, db = env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]
        pg.sql(f"CREATE ROLE {user} LOGIN PASSWORD '{pw}'", f"CREATE DATABASE {db} OWNER {user}")
        url = f"postgresql+asyncpg://{user}:{pw}@127.0.0.1:{pg.port}/{db}"
        with genproj.serve(project, venv, base, env={"DATABASE_URL": url, "DB_MIGRATE_ON_START": "true"}) as base_url:
            yield base_url, pg
    finally:
        pg.close()


def statuses(text: str) -> dict[str, str]:
    "Component name -> status as the page shows them: a name line followed (soon) by a status line."
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return {name: nxt for name, nxt in zip(lines, lines[1:]) if nxt in STATUSES}


def wait_for(page, cond, timeout: float, what: str) -> tuple[float, dict]:
    "Poll the page's text until `cond(statuses)` holds; returns (seconds waited, statuses)."
    t0 = time.monotonic()
    while True:
        st = statuses(page.evaluate(TEXT_JS))
        if cond(st): return time.monotonic() - t0, st
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{what}: not within {timeout} s; the page shows {st}")
        time.sleep(0.25)


def shot(page, name: str):
    """Screenshot of what the dashboard shows, cut below its last line (the accessibility tree gives the
    extent). The canvas can lag behind the tree by a frame or two: a blank capture is taken again."""
    bottom = page.evaluate("""Math.max(0, ...Array.from(document.querySelectorAll('flt-semantics'))
        .filter(e => !e.querySelector('flt-semantics') && e.innerText.trim())
        .map(e => e.getBoundingClientRect().bottom))""")
    vp = page.viewport_size
    clip = {"x": 0, "y": 0, "width": vp["width"], "height": min(vp["height"], max(200, bottom + 16))}
    for _ in range(20):
        png = page.screenshot(path=ARTIFACTS / name, clip=clip)
        if len(png) > 8_000: return  # a blank page compresses to ~3 kB; any text makes it much larger
        time.sleep(0.5)
    raise AssertionError(f"{name}: the page stayed blank while its accessibility tree had text")


def follow_outage(base_url: str, stop, start, tag: str):
    """Open the dashboard of the stack at `base_url`; `stop()` PostgreSQL and watch `database` turn
    unhealthy within 10 s on the open page, `start()` it and watch it recover; no reload, no outside request."""
    import httpx
    components = list(httpx.get(f"{base_url}/health", timeout=10).json()["components"])
    assert "database" in components and "backend" in components, components
    log = PageLog()
    ARTIFACTS.mkdir(exist_ok=True)
    with browser() as b:
        ctx = b.new_context(viewport={"width": 1000, "height": 700})
        page = watched_page(ctx, log, known=RIVE)
        t0 = time.monotonic()
        page.goto(f"{base_url}/dashboard/")
        page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=60_000)
        page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
        _, st = wait_for(page, lambda s: all(s.get(c) == "healthy" for c in components), 60, "all components healthy")
        print(f"[{tag}] dashboard up, every component healthy, {time.monotonic() - t0:.1f} s after opening: {st}")
        shot(page, f"dashboard-{tag}-healthy.png")
        # a reload would drop this mark (Flutter's router rewrites the URL in place, so navigation
        # events cannot tell a reload from a route update)
        page.evaluate("window.__aegisSamePage = true")

        stop()
        down, st = wait_for(page, lambda s: s.get("database") == "unhealthy", 10, "database unhealthy after PostgreSQL stopped")
        print(f"[{tag}] PostgreSQL stopped -> database unhealthy on the page in {down:.1f} s: {st}")
        assert st.get("backend") == "healthy", st
        shot(page, f"dashboard-{tag}-unhealthy.png")

        start()
        # no bound in the issue for the way back (only for noticing the outage); a restarted container on a
        # loaded machine can take a while to accept connections again, so wait longer and say why if not
        try:
            up, st = wait_for(page, lambda s: s.get("database") == "healthy", 45, "database healthy after PostgreSQL restarted")
        except AssertionError as e:
            tree = httpx.get(f"{base_url}/health", timeout=10).json()
            raise AssertionError(f"{e}; the backend says: {tree['components']['database']}") from None
        print(f"[{tag}] PostgreSQL back -> database healthy on the page in {up:.1f} s")
        assert page.evaluate("window.__aegisSamePage === true"), "the page reloaded"
        ctx.close()
    assert not log.outside, f"requests that would have left the machine: {log.outside}"
    assert not log.console_errors, log.console_errors
    assert not log.failed, log.failed
    assert not log.still_failing(), log.still_failing()       # dropped by a network change: served when asked again


def test_dashboard_follows_a_service_going_down_and_back(stack):
    "The backend run as a process (`<slug> serve`), PostgreSQL a private server of this test."
    base_url, pg = stack
    follow_outage(base_url, pg.stop, pg.start, "local")


@pytest.fixture(scope="module")
def docker_stack(tmp_path_factory):
    "The same project started by `aegis.up` in Docker (the app image built, PostgreSQL in its container)."
    need_browser()
    runtime = pytest.importorskip("aegis.runtime", reason="needs aegis.runtime (branch runtime)")
    docker = pytest.importorskip("docker")
    try: client = docker.from_env(); client.ping()
    except Exception as e: pytest.skip(f"no Docker engine: {e}")
    import aegis
    from aegis.specs import registry
    if not registry()["database"].available: pytest.skip("database templates not available yet")
    project = aegis.init("Overseer Docker", components="database[postgres]",
                         output_dir=tmp_path_factory.mktemp("overseer-docker"), git=False).path
    try:
        stack = runtime.up(project)
        web = stack.containers("webserver", all=False)
        assert web, "no webserver container running"
        port = next(p["PublicPort"] for p in web[0]["Ports"] if p.get("PrivatePort") == 8000 and p.get("PublicPort"))
        pg = client.containers.get(stack.containers("postgres")[0]["Id"])
        yield f"http://127.0.0.1:{port}", pg
    finally:
        runtime.down(project, volumes=True)


@pytest.mark.docker
def test_dashboard_in_a_docker_stack(docker_stack):
    "PostgreSQL's container stopped and started with docker-py under a stack `aegis.up` started."
    base_url, pg = docker_stack
    follow_outage(base_url, lambda: pg.stop(timeout=5), pg.start, "docker")
