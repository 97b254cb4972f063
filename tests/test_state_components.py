"""The components that keep state (database, cache, scheduler): rendered files and compose services
(fast), then each combination people pick generated, installed and checked against the real
PostgreSQL and Redis of this machine (slow)."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from conftest import compose_schema
from genproj import answers_for, check_project, generate

from aegis.render import render
from aegis.specs import AegisError, parse_selection

LONG = "A Very Long Project Name For Testing Line Lengthsx"

# each component alone, together, with and without postgres, and the scheduler's three backends
COMBOS = ["database", "database[postgres]", "cache", "scheduler", "scheduler[sqlite]", "scheduler[postgres]",
          "scheduler,cache", "database,cache,scheduler[sqlite]", "database[postgres],cache,scheduler[postgres]",
          "database[postgres],scheduler"]


def _compose(selection: str, name: str = "Shop") -> dict:
    return yaml.safe_load(render(answers_for(selection, name=name))["docker-compose.yml"].text)


@pytest.mark.parametrize("selection", COMBOS)
def test_compose_validates_and_keeps_secrets_and_ports_out(selection):
    import jsonschema
    data = _compose(selection)
    jsonschema.Draft7Validator(compose_schema()).validate(data)  # the spec is draft 7
    text = yaml.safe_dump(data)
    for name, svc in data["services"].items():
        assert "healthcheck" in svc, f"{name} has no healthcheck"
        if name != "webserver":
            assert "ports" not in svc, f"{name} publishes a host port"
    for var in ("POSTGRES_PASSWORD",):
        assert f"{var}: ${{{var}}}" in text or var not in text  # only ever interpolated from .env
    assert ":5432" not in str([s.get("ports") for s in data["services"].values()])
    assert ":6379" not in str([s.get("ports") for s in data["services"].values()])


def test_postgres_service_volume_healthcheck_and_password_from_env():
    svc = _compose("database[postgres]")["services"]["postgres"]
    assert svc["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    assert svc["healthcheck"]["test"][1].startswith("pg_isready")
    assert svc["environment"]["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD}"


def test_sqlite_file_is_on_the_volume_every_app_container_shares():
    data = _compose("database,scheduler[sqlite]")
    app = [n for n, s in data["services"].items() if "build" in s]
    assert set(app) == {"webserver", "scheduler"}
    for n in app:
        assert "app-data:/data" in data["services"][n]["volumes"]
        assert data["services"][n]["environment"]["DATABASE_URL"] == "sqlite+aiosqlite:////data/app.db"


def test_redis_persists_append_only_on_a_named_volume():
    svc = _compose("cache")["services"]["redis"]
    assert "--appendonly" in svc["command"] and svc["volumes"] == ["redis-data:/data"]
    assert svc["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_scheduler_runs_in_its_own_container_not_in_the_webserver():
    data = _compose("scheduler,cache")
    assert data["services"]["scheduler"]["command"] == ["shop", "scheduler", "start"]
    tree = render(answers_for("scheduler,cache", name="Shop"))
    assert "scheduler" not in tree["shop/main.py"].text.replace("# ", "")


def test_scheduler_and_database_engines_must_match():
    with pytest.raises(AegisError, match=r"scheduler\[postgres\] needs database\[postgres\] but database\[sqlite\]"):
        parse_selection("database[sqlite],scheduler[postgres]")
    sel, notes = parse_selection("scheduler[sqlite]")
    assert sel["database"] == "sqlite" and "scheduler[sqlite] requires it" in notes[0]


def test_postgres_image_gets_the_client_for_pg_dump():
    tree = render(answers_for("scheduler[postgres]"))
    assert "postgresql-client" in tree["Dockerfile"].text


def test_env_holds_the_generated_password_and_example_does_not(tmp_path):
    p = generate("database[postgres]", tmp_path, name="Shop")
    env = dict(line.split("=", 1) for line in (p / ".env").read_text().splitlines() if "=" in line and line[0] != "#")
    assert len(env["POSTGRES_PASSWORD"]) >= 20 and env["POSTGRES_PASSWORD"] in env["DATABASE_URL"]
    example = p / ".env.example"
    if example.exists():  # core's template for it may be missing from a checkout (its .gitignore hides it)
        assert env["POSTGRES_PASSWORD"] not in example.read_text()
    assert env["POSTGRES_PASSWORD"] not in (p / "docker-compose.yml").read_text()


@pytest.mark.parametrize("selection", ["database,cache,scheduler[sqlite]", "database[postgres],cache,scheduler[postgres]",
                                       "scheduler", "database[postgres],scheduler"])
def test_rendered_python_passes_ruff_with_a_long_name(tmp_path, selection):
    project = generate(selection, tmp_path, name=LONG)
    p = subprocess.run(["ruff", "check", "--no-cache", "."], cwd=project, capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stdout


@pytest.mark.slow
@pytest.mark.parametrize("selection", COMBOS)
def test_generated_project_installs_passes_ruff_and_its_tests(tmp_path, selection):
    check_project(selection, tmp_path).assert_ok()


@pytest.mark.slow
@pytest.mark.parametrize("selection", ["database,cache,scheduler[sqlite]", "database[postgres],cache,scheduler[postgres]"])
def test_lowest_declared_versions_pass_too(tmp_path, selection):
    check_project(selection, tmp_path, resolution="lowest-direct").assert_ok()


def test_removing_the_database_the_scheduler_persists_into_is_refused(tmp_path):
    evolve = pytest.importorskip("aegis.evolve", reason="aegis.evolve (add/remove) is not merged on this branch yet")
    from aegis.project import init
    p = init("Shop", "scheduler[sqlite]", output_dir=tmp_path)
    before = {f: f.read_bytes() for f in p.path.rglob("*") if f.is_file() and ".git" not in f.parts}
    with pytest.raises(AegisError, match=r"cannot remove database: scheduler\[sqlite\] requires it"):
        evolve.remove("database", project_path=p.path)
    assert before == {f: f.read_bytes() for f in p.path.rglob("*") if f.is_file() and ".git" not in f.parts}
