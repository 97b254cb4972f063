"""`aegis up --local`: the project's own services as local processes (no engine)."""
import socket, time
import pytest
from stackfix import write_stack
from aegis.specs import AegisError


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def test_local_up_health_down(tmp_path):
    from aegis.runtime import up, down, ps, logs, restart, health
    d = write_stack(tmp_path / "loc", postgres=False, redis=False)
    port = _free_port()
    (d / ".env").write_text(f"WEB_PORT={port}\n")
    up(d, local=True, wait=30)
    try:
        r = health(d)
        assert r.healthy, r.problems()
        assert {c.service for c in r.containers} == {"webserver", "worker", "scheduler"}
        web = next(c for c in r.containers if c.service == "webserver")
        assert web.app.status == "healthy" and [c.name for c in web.app.children] == ["backend"]
        assert {row.service for row in ps(d, local=True)} == {"webserver", "worker", "scheduler"}
        time.sleep(0.5)
        assert "worker tick" in logs(d, "worker", local=True)
        assert restart(d, "worker", local=True) == ["worker"]
        with pytest.raises(AegisError, match="already in use"):
            other = write_stack(tmp_path / "loc2", postgres=False, redis=False)
            (other / ".env").write_text(f"WEB_PORT={port}\n")
            up(other, local=True, wait=10)
    finally:
        down(d, local=True)
    assert not health(d, local=True).healthy
    assert all(row.state == "exited" for row in ps(d, local=True))


@pytest.mark.slow
def test_local_generated_project(tmp_path):
    "A generated project runs locally in its own uv-made virtualenv."
    from aegis.project import init
    from aegis.runtime import up, down, health
    p = init("Local Gen", "", tmp_path, git=False)
    env = (p.path / ".env").read_text().splitlines()
    port = _free_port()
    (p.path / ".env").write_text("\n".join([l for l in env if not l.startswith("WEB_PORT=")] + [f"WEB_PORT={port}"]) + "\n")
    up(p.path, local=True, wait=120)
    try:
        r = health(p.path)
        assert r.healthy, r.problems()
        assert (p.path / ".venv" / "bin" / "local-gen").exists()
    finally:
        down(p.path, local=True)
