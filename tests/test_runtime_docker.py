"""The runtime against the real Docker engine: up, health, recreate, scale, faults, data, isolation.

All tests here share one engine and run in one xdist group; stacks get unique names and no fixed
host ports (WEB_PORT=0)."""
import os, signal, subprocess, sys, time, uuid
from pathlib import Path
import pytest
from conftest import engine_or_skip
import yaml
from stackfix import write_stack
from aegis.specs import AegisError

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]


@pytest.fixture(scope="module")
def client():
    engine_or_skip()
    from aegis.engine import engine
    return engine()


def _name(prefix):
    return f"{prefix}{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def full(tmp_path_factory, client):
    "The full demo stack (postgres, redis, webserver, worker, scheduler), up and healthy."
    from aegis.runtime import up, down
    d = write_stack(tmp_path_factory.mktemp("rt") / _name("rtfull"))
    t0 = time.monotonic()
    stack = up(d, wait=180)
    stack.up_seconds = time.monotonic() - t0
    yield stack
    down(d, volumes=True)


def _ids(client, project, service=None):
    from aegis.runtime import _filters
    return {c["Names"][0].lstrip("/"): c["Id"] for c in client.api.containers(all=True, filters=_filters(project, service))}


def test_up_healthy_with_app_tree(full):
    r = full.health()
    assert r.healthy, r.problems()
    assert set(r.services) == {"postgres", "redis", "webserver", "worker", "scheduler"}
    web = next(c for c in r.containers if c.service == "webserver")
    assert {c.name for c in web.app.children} == {"backend", "cache", "database"}
    d = r.to_dict()
    assert d["healthy"] and d["services"]["postgres"] == "healthy"
    html = r._repr_html_()
    assert "#1a7f37" in html and "database" in html


def test_compose_labels(full, client):
    from aegis.runtime import L
    cs = client.api.containers(filters={"label": f"{L}project={full.project}"})
    assert len(cs) == 5
    for c in cs:
        lb = c["Labels"]
        assert lb[L + "oneoff"] == "False" and lb[L + "container-number"] == "1" and len(lb[L + "config-hash"]) == 64
        assert lb[L + "service"] in {"postgres", "redis", "webserver", "worker", "scheduler"}
    nets = client.api.networks(filters={"label": f"{L}project={full.project}"})
    assert [n["Name"] for n in nets] == [f"{full.project}_default"]
    vols = client.api.volumes(filters={"label": f"{L}project={full.project}"})["Volumes"]
    assert {v["Name"] for v in vols} == {f"{full.project}_postgres-data", f"{full.project}_redis-data"}


@pytest.mark.skipif(not Path("/usr/bin/docker-compose").exists() and not os.environ.get("CI"),
                    reason="Debian's docker-compose not installed (docker/install-engine.sh installs it)")
def test_compose_v1_recognises_the_stack(full):
    v1 = full.path / ".compose-v1.yml"   # Compose v1 rejects the top-level `name:`
    v1.write_text("".join(l for l in full.file.read_text().splitlines(True) if not l.startswith("name:")))
    r = subprocess.run(["docker-compose", "-p", full.project, "-f", str(v1), "ps", "-q"], capture_output=True, text=True,
                       cwd=full.path, env={**os.environ, **_standin_env(full)})
    assert r.returncode == 0, r.stderr
    ids = set(r.stdout.split())
    ours = {c["Id"] for c in full.containers()}
    assert len(ours) == 5 and ids == ours, (ids, ours)


def _standin_env(stack):
    from aegis.compose import image_defaults, project_env
    from aegis.images import resolve_images
    return resolve_images(image_defaults(stack.file.read_text()), project_env(stack.path), None)


def test_unchanged_kept_changed_recreated(full, client):
    from aegis.runtime import up
    before = _ids(client, full.project)
    up(full.path, wait=120)
    assert _ids(client, full.project) == before        # nothing changed: nothing recreated
    f = full.file
    data = yaml.safe_load(f.read_text())
    data["services"]["worker"]["environment"]["EXTRA"] = "1"
    f.write_text(yaml.safe_dump(data, sort_keys=False))
    up(full.path, wait=120)
    after = _ids(client, full.project)
    changed = {n for n in after if after[n] != before.get(n)}
    assert changed == {f"{full.project}-worker-1"}
    env = client.api.inspect_container(after[f"{full.project}-worker-1"])["Config"]["Env"]
    assert "EXTRA=1" in env


def test_scale_each_service_independently(full, client):
    from aegis.runtime import scale, ps
    full.scale(worker=3)
    rows = ps(full.path)
    count = lambda s: sum(1 for r in rows if r.service == s)
    assert (count("worker"), count("webserver"), count("scheduler")) == (3, 1, 1)
    scale(full.path, webserver=2)
    rows = ps(full.path)
    assert (count("worker"), count("webserver"), count("scheduler")) == (3, 2, 1)
    r = full.health()
    assert r.healthy and len([c for c in r.containers if c.service == "webserver" and c.app]) == 2
    scale(full.path, worker=1, webserver=1)
    rows = ps(full.path)
    assert (count("worker"), count("webserver"), count("scheduler")) == (1, 1, 1)


def test_killed_container_unhealthy_then_restarted(full, client):
    name = f"{full.project}-webserver-1"
    # 1. Health sees a dead container within 5 s. The restart policy is held off for this part: the app
    #    restarts in ~100 ms, faster than any poll could see it down, which is the policy working.
    client.api.update_container(name, restart_policy={"Name": "no"})
    try:
        os.kill(client.api.inspect_container(name)["State"]["Pid"], signal.SIGKILL)  # the app process dies for real
        t0 = time.monotonic()
        seen_unhealthy = None
        while time.monotonic() - t0 < 5:
            r = full.health()
            if not r.healthy: seen_unhealthy = time.monotonic() - t0; break
            time.sleep(0.1)
        assert seen_unhealthy is not None and seen_unhealthy < 5
    finally:
        client.api.update_container(name, restart_policy={"Name": "unless-stopped"})
    client.api.start(name)
    assert full.health(wait=60).healthy
    # 2. With the compose file's restart policy, a killed app comes back by itself.
    before = client.api.inspect_container(name)["RestartCount"]
    os.kill(client.api.inspect_container(name)["State"]["Pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while client.api.inspect_container(name)["RestartCount"] == before and time.monotonic() < deadline: time.sleep(0.1)
    assert client.api.inspect_container(name)["RestartCount"] > before, "the restart policy did not restart it"
    r = full.health(wait=60)
    assert r.healthy, r.problems()
    assert client.api.inspect_container(name)["RestartCount"] >= 1


def test_logs_and_restart(full):
    from aegis.runtime import logs, restart
    assert "worker tick" in logs(full.path, "worker")
    assert restart(full.path, "scheduler") == [f"{full.project}-scheduler-1"]
    with pytest.raises(AegisError, match="no container of service 'nope'"):
        logs(full.path, "nope")


def test_postgres_data_survives_down_up(full, client):
    from aegis.runtime import down, up
    pg = f"{full.project}-postgres-1"
    sql = "CREATE TABLE IF NOT EXISTS keep(v text); INSERT INTO keep VALUES ('survives');"
    ex = client.api.exec_create(pg, ["sh", "-c", f'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "{sql}"'])
    client.api.exec_start(ex["Id"]); assert client.api.exec_inspect(ex["Id"])["ExitCode"] == 0
    down(full.path)                                       # volumes kept
    assert _ids(client, full.project) == {}
    up(full.path, wait=180)
    ex = client.api.exec_create(pg, ["sh", "-c", 'psql -tA -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "SELECT v FROM keep"'])
    out = client.api.exec_start(ex["Id"]).decode()
    assert "survives" in out


def test_down_touches_only_this_project(tmp_path, client):
    from aegis.runtime import up, down
    a = write_stack(tmp_path / _name("rta"), postgres=False, worker=False, scheduler=False)
    b = write_stack(tmp_path / _name("rtb"), postgres=False, worker=False, scheduler=False)
    up(a, wait=120); up(b, wait=120)
    other = client.containers.run("aegis-standin/debian:" + _base_tag(), ["sleep", "60"], detach=True,
                                  labels={"com.docker.compose.project": "unrelated"})
    try:
        down(a, volumes=True)
        assert _ids(client, a.name) == {}
        assert len(_ids(client, b.name)) == 2
        assert client.api.volumes(filters={"name": f"{b.name}_redis-data"})["Volumes"]
        other.reload(); assert other.status == "running"
    finally:
        other.remove(force=True, v=True)
        down(b, volumes=True)


def _base_tag():
    from aegis.images import standin_tag
    return standin_tag("base").split(":", 1)[1]


def _cli(*args, cwd=None, env=None):
    code = "from aegis.runtime import register_cli; from aegis.cli import app, main; register_cli(app); import sys; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_engine_not_running(tmp_path):
    d = write_stack(tmp_path / "noengine", postgres=False)
    r = _cli("up", "-p", str(d), env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert r.returncode == 2
    assert "Docker engine is not running" in r.stderr and "--local" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_port_taken_nothing_started(tmp_path, client):
    import socket
    s = socket.socket(); s.bind(("0.0.0.0", 0)); s.listen(1)
    port = s.getsockname()[1]
    try:
        d = write_stack(tmp_path / _name("rtport"), postgres=False)
        env = (d / ".env").read_text().replace("WEB_PORT=0", f"WEB_PORT={port}")
        (d / ".env").write_text(env)
        r = _cli("up", "-p", str(d))
        assert r.returncode == 2 and f"host port {port}" in r.stderr and "already in use" in r.stderr
        assert _ids(client, d.name) == {}
        from aegis.runtime import _filters
        assert client.api.networks(filters=_filters(d.name)) == []
    finally:
        s.close()


def test_failing_build_nothing_started(tmp_path, client):
    d = write_stack(tmp_path / _name("rtbuild"), postgres=False)
    (d / "Dockerfile").write_text((d / "Dockerfile").read_text() + "RUN echo about to fail && exit 3\n")
    r = _cli("up", "-p", str(d))
    assert r.returncode == 2
    assert "building" in r.stderr and "failed" in r.stderr and "nothing was started" in r.stderr
    from aegis.runtime import _filters
    assert _ids(client, d.name) == {}
    assert client.api.networks(filters=_filters(d.name)) == []
    assert client.api.volumes(filters=_filters(d.name))["Volumes"] in (None, [])


def test_failing_start_rolls_back(tmp_path, client):
    "A service that dies while others wait for it: clear error, and what this run created is removed."
    d = write_stack(tmp_path / _name("rtdie"), postgres=False, worker=False, scheduler=False)
    data = yaml.safe_load((d / "docker-compose.yml").read_text())
    data["services"]["redis"]["command"] = ["sh", "-c", "echo boom >&2; exit 7"]
    data["services"]["redis"]["restart"] = "no"
    (d / "docker-compose.yml").write_text(yaml.safe_dump(data))
    from aegis.runtime import up, _filters
    with pytest.raises(AegisError, match="redis stopped .exit code 7"):
        up(d, wait=60)
    assert _ids(client, d.name) == {}
    assert client.api.networks(filters=_filters(d.name)) == []


def test_cli_health_json_and_exit_code(full):
    import json
    r = _cli("health", "--json", "-p", str(full.path))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["healthy"] is True
