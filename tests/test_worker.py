"""The worker component: each option's rendered files and compose service (fast), then each option
generated, installed and tested for real against this machine's Redis, alone and with the other
components (slow). The generated project's own tests start real worker processes, enqueue through
the API and the CLI, and kill a worker in the middle of a job."""

from __future__ import annotations

import subprocess
import tomllib

import pytest
import yaml
from conftest import compose_schema
from genproj import answers_for, check_project, generate

from aegis.blocks.worker import DEPS, LIBRARY_MODULES, queue_imports
from aegis.render import render
from aegis.specs import AegisError, parse_selection

OPTIONS = ("arq", "dramatiq", "taskiq")
LONG = "A Very Long Project Name For Testing Line Lengthsx"


@pytest.mark.parametrize("option", OPTIONS)
def test_each_option_imports_and_declares_only_its_own_library(option):
    tree = render(answers_for(f"worker[{option}]", name="Job Shop"))
    used = queue_imports(tree)
    assert set().union(*used.values()) == set(LIBRARY_MODULES[option])
    assert set(used) == {"job_shop/components/worker/backend.py"}
    deps = tomllib.loads(tree["pyproject.toml"].text)["project"]["dependencies"]
    others = {d for o in OPTIONS if o != option for d in DEPS[o]}
    assert set(DEPS[option]) <= set(deps) and not others & set(deps)


def test_worker_pulls_in_the_cache_and_says_so():
    sel, notes = parse_selection("worker")
    assert sel["worker"] == "arq" and "cache" in sel
    assert any(n.startswith("added cache") and "worker[arq]" in n for n in notes)
    with pytest.raises(AegisError, match="choose from arq, dramatiq, taskiq"):
        parse_selection("worker[celery]")


@pytest.mark.parametrize("option", OPTIONS)
def test_compose_service_validates_scales_and_stops_gracefully(option):
    import jsonschema
    data = yaml.safe_load(render(answers_for(f"worker[{option}]", name="Shop"))["docker-compose.yml"].text)
    jsonschema.Draft7Validator(compose_schema()).validate(data)  # the spec is draft 7
    svc = data["services"]["worker"]
    assert svc["command"] == ["shop", "worker", "start"]
    assert svc["deploy"] == {"replicas": "${WORKER_REPLICAS:-1}"}
    assert svc["healthcheck"]["test"] == ["CMD", "python", "-m", "shop.components.worker.alive"]
    assert svc["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert svc["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert "ports" not in svc
    # Docker must wait longer than the worker waits for its running jobs
    settings = render(answers_for(f"worker[{option}]", name="Shop"))["shop/settings.py"].text
    wait = float(next(line for line in settings.splitlines() if "worker_shutdown_wait" in line).split("=")[1])
    assert int(svc["stop_grace_period"].rstrip("s")) > wait


@pytest.mark.parametrize("option", OPTIONS)
def test_api_cli_and_health_are_wired_into_the_shared_files(option):
    tree = render(answers_for(f"worker[{option}]", name="Shop"))
    main, cli = tree["shop/main.py"].text, tree["shop/cli.py"].text
    assert "components.worker.api import router" in main and "components.worker.api import lifespan" in main
    assert 'name="worker"' in cli and 'name="tasks"' in cli
    assert "components.worker import check" in tree["shop/health/registry.py"].text
    assert "WORKER_NAMESPACE=shop" in tree[".env.example"].text if ".env.example" in tree else True


@pytest.mark.parametrize("option", OPTIONS)
def test_rendered_python_passes_ruff_with_a_long_name(tmp_path, option):
    project = generate(f"worker[{option}]", tmp_path, name=LONG)
    p = subprocess.run(["ruff", "check", "--no-cache", "."], cwd=project, capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stdout


# each option alone, and each with the other components people pick with it
COMBOS = ["worker[arq]", "worker[dramatiq]", "worker[taskiq]",
          "worker[arq],database,scheduler", "worker[dramatiq],database[postgres],scheduler[postgres]",
          "worker[taskiq],database,scheduler[sqlite]"]


@pytest.mark.slow
@pytest.mark.parametrize("selection", COMBOS)
def test_generated_project_installs_passes_ruff_and_its_tests(tmp_path, selection):
    # a name per selection: each run gets its own Redis key namespace (and no component's name in it:
    # the scheduler's generated tests look for "scheduler" in module names)
    check_project(selection, tmp_path, name=f"Jobs {COMBOS.index(selection)}").assert_ok()


@pytest.mark.slow
@pytest.mark.parametrize("option", OPTIONS)
def test_lowest_declared_versions_pass_too(tmp_path, option):
    check_project(f"worker[{option}]", tmp_path, resolution="lowest-direct", name=f"Jobs low {option}").assert_ok()
