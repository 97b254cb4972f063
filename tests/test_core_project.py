"""The generated core project: rendered files (fast) and, marked slow, installed and checked for real."""

from __future__ import annotations

import ast
import os
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest
from genproj import answers_for, check_project, generate

from aegis.render import render


@pytest.fixture(scope="module")
def tree():
    return render(answers_for("", name="My API"))


def test_core_project_has_the_promised_files(tree):
    for path in ("pyproject.toml", "README.md", "Makefile", ".gitignore", ".dockerignore", ".env.example", "Dockerfile",
                 "my_api/settings.py", "my_api/main.py", "my_api/cli.py", "my_api/health/core.py",
                 "my_api/health/registry.py", "my_api/health/routes.py", "my_api/frontend/dashboard.py",
                 "tests/test_health.py", "tests/test_cli.py", "tests/test_dashboard.py"):
        assert path in tree, path


def test_pyproject_bounds_every_dependency_and_declares_the_script(tree):
    data = tomllib.loads(tree["pyproject.toml"].text)
    deps = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    for d in deps:
        assert ">=" in d and "<" in d, f"{d} needs a lower and an upper bound"
    assert data["project"]["scripts"] == {"my-api": "my_api.cli:main"}
    assert data["dependency-groups"]["dev"] == data["project"]["optional-dependencies"]["dev"]


def test_secrets_stay_out_of_git_docker_and_the_example(tree):
    assert ".env" in tree[".gitignore"].text.split() and ".venv/" in tree[".gitignore"].text.split()
    assert ".env" in tree[".dockerignore"].text.split()
    example = tree[".env.example"].text
    assert "SECRET_KEY=change-me" in example and "WEB_PORT=8000" in example
    assert ".env" not in tree


def test_dockerfile_base_image_user_and_healthcheck(tree):
    df = tree["Dockerfile"].text
    assert "ARG PYTHON_IMAGE=python:3.11-slim\nFROM ${PYTHON_IMAGE}" in df
    assert "\nUSER app\n" in df
    assert "HEALTHCHECK" in df and "/health/live" in df
    assert "/health'" not in df and "/health/ready" not in df


def test_makefile_targets(tree):
    mk = tree["Makefile"].text
    for target in ("test", "lint", "serve", "up", "down"):
        assert f"\n{target}:" in mk, target


@pytest.mark.parametrize("python_version", ["3.12", "3.13"])
def test_python_version_reaches_the_image_and_pyproject(python_version):
    tree = render(answers_for("", name="My API", python_version=python_version))
    assert f"ARG PYTHON_IMAGE=python:{python_version}-slim" in tree["Dockerfile"].text
    assert f'requires-python = ">={python_version}"' in tree["pyproject.toml"].text


def test_generate_writes_a_private_env(tmp_path):
    p = generate("", tmp_path, name="My API")
    assert (p / "my_api" / "main.py").exists()
    assert stat.S_IMODE(os.stat(p / ".env").st_mode) == 0o600
    assert "SECRET_KEY=" in (p / ".env").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("resolution", ["highest", "lowest-direct"])
def test_core_project_passes_ruff_and_its_own_tests(tmp_path, resolution):
    "Both ends of the dependency ranges: the newest versions allowed and the declared lower bounds."
    check_project("", tmp_path, resolution=resolution).assert_ok()


@pytest.mark.slow
def test_a_long_project_name_still_passes_ruff(tmp_path):
    check_project("", tmp_path, name="A Very Long Project Name For Testing Line Lengthsx").assert_ok()


# A stand-in component with two entries in every slot: the shared templates must list them all,
# and the contract documented in nbs/10_core.ipynb must hold (router, lifespan, check, Typer app).
DEMO = Path(__file__).parent / "fixtures" / "demo_component"


def _demo(option, ctx):
    from aegis.specs import Contribution, EnvVar, HealthCheck, MakeTarget, Setting
    return Contribution(
        env=[EnvVar("DEMO_GREETING", "hello", "what the demo says"), EnvVar("DEMO_TOKEN", secret=True, doc="a secret")],
        settings=[Setting("demo_greeting", "str", '"hello"', "what the demo says"), Setting("demo_limit", "int", "3")],
        health=[HealthCheck("demo", "components.demo:check"),
                HealthCheck("demo_extra", "components.demo_extra:check", critical=True)],
        routers=["components.demo:router", "components.demo_extra:router"],
        lifespan=["components.demo:lifespan", "components.demo_extra:lifespan"],
        cli=[("demo", "components.demo:cli"), ("extra", "components.demo_extra:cli")],
        make=[MakeTarget("demo", "echo one\necho two", "run the demo")],
        apt=["curl", "tini"], readme="## Demo\n\nA stand-in component.")


@pytest.fixture
def demo_component(monkeypatch):
    from aegis.specs import Component, registry
    monkeypatch.setitem(registry(), "demo", Component("demo", "a stand-in", contribute=_demo))
    yield "demo"


def _add_demo_files(project: Path) -> None:
    pkg = next(p.parent.name for p in project.glob("*/main.py"))
    for f in (DEMO / "components").glob("*.py"):
        shutil.copy(f, project / pkg / "components" / f.name)
    (project / "tests" / "test_demo.py").write_text((DEMO / "tests" / "test_demo.py").read_text().replace("PKG", pkg))


def test_shared_files_list_every_slot_entry(demo_component):
    tree = render(answers_for("demo", name="My API"))
    main, reg, cli = tree["my_api/main.py"].text, tree["my_api/health/registry.py"].text, tree["my_api/cli.py"].text
    assert "    components_demo_router,\n    components_demo_extra_router,\n" in main
    assert "    frontend_dashboard_lifespan,\n    components_demo_lifespan,\n    components_demo_extra_lifespan,\n" in main
    assert 'Check("demo_extra", components_demo_extra_check, critical=True)' in reg
    assert 'app.add_typer(components_demo_cli, name="demo")\napp.add_typer(components_demo_extra_cli, name="extra")' in cli
    assert "    demo_limit: int = 3\n" in tree["my_api/settings.py"].text
    assert "\ndemo: ## run the demo\n\techo one\n\techo two\n" in tree["Makefile"].text
    assert "--no-install-recommends curl tini" in tree["Dockerfile"].text
    assert "DEMO_TOKEN=change-me" in tree[".env.example"].text and "## Demo" in tree["README.md"].text
    for path, f in tree.items():
        if path.endswith(".py"):
            ast.parse(f.text, path)


def test_rendered_python_passes_ruff(tmp_path, demo_component):
    for sel, name in (("", "My API"), ("demo", "A Very Long Project Name For Testing Line Lengthsx")):
        project = generate(sel, tmp_path / sel, name=name)
        p = subprocess.run(["ruff", "check", "--no-cache", "."], cwd=project, capture_output=True, text=True, check=False)
        assert p.returncode == 0, p.stdout


@pytest.mark.slow
def test_a_component_plugs_into_every_slot(tmp_path, demo_component):
    check_project("demo", tmp_path, prepare=_add_demo_files).assert_ok()


@pytest.mark.slow
@pytest.mark.parametrize("python_version", ["3.12", "3.13"])
def test_core_project_on_newer_pythons(tmp_path, python_version):
    check_project("", tmp_path, python_version=python_version).assert_ok()
