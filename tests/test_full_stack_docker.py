"""The whole product in Docker: one generated project with the database (PostgreSQL), the cache, a worker,
the scheduler, Traefik and Logfire, built and started by `aegis.up` (stand-in base images when no
registry answers), then used the way a user's client would: over HTTPS through Traefik.

What only this shows: the generated app image runs every process (webserver, worker and scheduler, the
last two set up by `components.start_process()`); Traefik's Docker provider routes to the generated
webserver by its compose labels and redirects HTTP to HTTPS; a job enqueued through Traefik is run by
the worker container; with Redis stopped, `/health` through Traefik answers 503 with the tree (not
Traefik's 404) while `/health/live` and the dashboard keep answering, and all recovers when Redis is back.
"""
import base64
import hashlib
import time
import uuid

import pytest
from conftest import engine_or_skip

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.xdist_group("docker")]

SELECTION = "database[postgres],cache,worker[arq],scheduler,ingress,observability"


def _until(probe, seconds: float, what: str):
    "Poll `probe` until it returns something true; fail saying `what` and the last value otherwise."
    deadline, last = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 (a connection refused while a container restarts)
            last = e
        time.sleep(0.5)
    pytest.fail(f"{what} within {seconds:.0f} s; last: {last!r}")


def test_full_stack_through_traefik(tmp_path):
    engine_or_skip()
    import docker
    import httpx

    import aegis
    from aegis.compose import read_env_file

    name = f"fs{uuid.uuid4().hex[:6]}"
    p = aegis.init(name, SELECTION, output_dir=tmp_path, git=False)
    env = read_env_file(p.path / ".env")
    https, http = env["INGRESS_HTTPS_PORT"], env["INGRESS_HTTP_PORT"]
    # what `<slug> ingress password` writes (bcrypt there; htpasswd's SHA form here, to need only the stdlib)
    sha = base64.b64encode(hashlib.sha1(b"s3cret").digest()).decode()
    (p.path / "ingress" / "dashboard-users").write_text(f"admin:{{SHA}}{sha}\n")
    stack = aegis.up(p.path, wait=900)
    try:
        web = httpx.Client(base_url=f"https://127.0.0.1:{https}", headers={"Host": "localhost"}, verify=False,
                           timeout=10)

        def tree():
            r = web.get("/health")
            return r.status_code, (r.json() if r.headers.get("content-type", "").startswith("application/json")
                                   else r.text[:200])

        _until(lambda: tree()[0] == 200, 120, "/health through Traefik answers 200")
        status, body = tree()
        assert set(body["components"]) >= {"database", "cache", "worker", "scheduler", "ingress", "observability"}
        assert all(c["status"] != "unhealthy" for c in body["components"].values()), body["components"]
        assert stack.health().healthy

        r = httpx.get(f"http://127.0.0.1:{http}/health", headers={"Host": "localhost"}, timeout=10)
        assert r.status_code in (301, 302, 307, 308) and r.headers["location"].startswith("https://localhost:")

        job = web.post("/tasks/add", json={"x": 2, "y": 3})
        assert job.status_code == 202, job.text
        done = _until(lambda: (j := web.get(f"/tasks/{job.json()['id']}").json())["status"] == "complete" and j,
                      60, "the worker container runs a job enqueued through Traefik")
        assert done["result"] == 5

        console = {"headers": {"Host": "traefik.localhost"}}   # Traefik's own dashboard: only with a password
        assert web.get("/dashboard/", **console).status_code == 401
        assert web.get("/dashboard/", auth=("admin", "s3cret"), **console).status_code == 200

        client = docker.from_env()
        (redis,) = client.containers.list(filters={"label": [f"com.docker.compose.project={p.path.name}",
                                                              "com.docker.compose.service=redis"]})
        redis.stop(timeout=5)
        try:
            status, body = _until(lambda: (t := tree())[0] == 503 and t, 30,
                                  "/health through Traefik answers 503 with Redis stopped")
            assert body["components"]["cache"]["status"] == "unhealthy", body["components"]["cache"]
            assert web.get("/health/live").status_code == 200    # the webserver stays routed
            assert web.get("/dashboard/").status_code == 200
        finally:
            redis.start()
        _until(lambda: tree()[0] == 200, 60, "/health through Traefik healthy again with Redis back")
    finally:
        stack.down(volumes=True)
