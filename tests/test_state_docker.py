"""The stateful stack for real in Docker: PostgreSQL, Redis, the webserver (migrating at start)
and the scheduler, built and started by `aegis.up` (stand-in base images when no registry
answers). Checks what only a real container shows: the schema migrated before the app started, the
backend's health tree with all three components healthy (the scheduler's heartbeat in Redis),
`pg_dump` in the app image matching the server, and the SQLite file shared through the volume."""
import uuid

import pytest
from conftest import engine_or_skip

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.xdist_group("docker")]


def _containers(project: str, service: str):
    import docker
    return docker.from_env().containers.list(all=True, filters={"label": [f"com.docker.compose.project={project}",
                                                                        f"com.docker.compose.service={service}"]})


def _app_health(project: str) -> dict:
    import json
    web = _containers(project, "webserver")[0]
    code = "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:8000/health').read().decode())"
    r = web.exec_run(["python", "-c", code])
    assert r.exit_code == 0, r.output.decode()
    return json.loads(r.output.decode())


@pytest.mark.parametrize("selection", ["database[postgres],cache,scheduler[postgres]", "database,scheduler[sqlite]"])
def test_stateful_stack_runs_in_docker(tmp_path, selection):
    engine_or_skip()
    import aegis
    name = f"st{uuid.uuid4().hex[:6]}"
    p = aegis.init(name, selection, output_dir=tmp_path, git=False)
    stack = aegis.up(p.path, wait=900)
    try:
        project = p.path.name
        tree = _app_health(project)
        comps = tree["components"]
        expected = {"database", "scheduler"} | ({"cache"} if "cache" in selection else set())
        for c in expected:
            assert comps[c]["status"] == "healthy", (c, comps[c])
        assert comps["database"]["details"]["at_head"] is True
        assert set(comps["scheduler"]["components"]) >= {"example_interval", "example_cron", "database_backup"}
        assert all(j["details"]["next_run_time"] for j in comps["scheduler"]["components"].values())
        (sched,) = _containers(project, "scheduler")
        r = sched.exec_run([name, "scheduler", "run", "database_backup"])
        assert r.exit_code == 0, r.output.decode()  # pg_dump in the image can dump the server
        r = sched.exec_run(["sh", "-c", "ls /data/backups"])
        assert r.exit_code == 0 and name.replace("-", "_") in r.output.decode()
        r = sched.exec_run([name, "scheduler", "status"])
        assert r.exit_code == 0, r.output.decode()
    finally:
        stack.down(volumes=True)
