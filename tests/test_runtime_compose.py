"""The runtime's pure parts: interpolation, validation, plans, preflight checks (no engine needed)."""
import socket
import pytest
import yaml
from stackfix import write_stack
from aegis.specs import AegisError
from aegis.compose import load, interpolate_str
from aegis.plan import make_plan
from aegis.runtime import check_ports


def _plan(folder, environ=None):
    return make_plan(load(folder, environ=environ or {}))


def test_demo_stack_plan(tmp_path):
    d = write_stack(tmp_path / "shop")
    plan = _plan(d)
    assert plan.waves == [["postgres", "redis"], ["scheduler", "webserver", "worker"]]
    assert [b.services for b in plan.builds] == [["webserver", "worker", "scheduler"]]
    assert plan.services["postgres"].healthcheck["test"][1] == "pg_isready -U ${POSTGRES_USER} -d ${POSTGRES_DB}"
    assert set(plan.volumes) == {"postgres-data", "redis-data"}
    assert plan.networks["default"]["name"] == "shop_default"


def test_generated_project_compose_plans(tmp_path):
    from aegis.project import init
    p = init("Plan Me", "", tmp_path, git=False)
    plan = _plan(p.path)
    assert plan.project == "plan-me"
    assert plan.services["webserver"].build is not None


def test_unsupported_key_is_named(tmp_path):
    d = write_stack(tmp_path / "shop", postgres=False)
    data = yaml.safe_load((d / "docker-compose.yml").read_text())
    data["services"]["webserver"]["privileged"] = True
    (d / "docker-compose.yml").write_text(yaml.safe_dump(data))
    with pytest.raises(AegisError, match="services.webserver.privileged is not supported"):
        load(d, environ={})


def test_schema_violation_is_named(tmp_path):
    d = write_stack(tmp_path / "shop", postgres=False)
    (d / "docker-compose.yml").write_text("services:\n  web:\n    image: x\n    restart: [always]\n")
    with pytest.raises(AegisError, match="services.web.restart"):
        load(d, environ={})


def test_required_variable(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: ${IMG:?set IMG in .env}\n")
    with pytest.raises(AegisError, match="required variable IMG is not set: set IMG in .env"):
        load(tmp_path, environ={})


def test_env_precedence(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: ${IMG:-dflt}\n")
    assert load(tmp_path, environ={}).services["web"]["image"] == "dflt"
    (tmp_path / ".env").write_text("IMG=dotenv\n")
    assert load(tmp_path, environ={}).services["web"]["image"] == "dotenv"
    assert load(tmp_path, environ={"IMG": "shell"}).services["web"]["image"] == "shell"


def test_nested_defaults():
    assert interpolate_str("${A:-${B:-x}}", {}) == "x"


def test_port_taken_preflight(tmp_path):
    s = socket.socket(); s.bind(("0.0.0.0", 0)); s.listen(1)
    port = s.getsockname()[1]
    try:
        d = write_stack(tmp_path / "shop", postgres=False, redis=False, worker=False, scheduler=False)
        (d / ".env").write_text(f"WEB_PORT={port}\n")
        with pytest.raises(AegisError, match=f"host port {port} .* already in use"):
            check_ports(_plan(d), [])
    finally:
        s.close()


def test_replicas_cannot_share_a_host_port(tmp_path):
    d = write_stack(tmp_path / "shop", postgres=False, redis=False, worker=False, scheduler=False)
    (d / ".env").write_text("WEB_PORT=18999\n")
    plan = _plan(d)
    plan.services["webserver"].replicas = 2
    with pytest.raises(AegisError, match="replicas cannot share a host port"):
        check_ports(plan, [])


def test_cycle(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n")
    with pytest.raises(AegisError, match="cycle"):
        _plan(tmp_path)
