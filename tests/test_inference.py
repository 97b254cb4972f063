"""The inference component: its compose service and the generated project, installed and tested.

No real Ollama server is exercised anywhere (none can be installed here): the generated project's
tests run its client against a local server that speaks the parts of Ollama's API it uses."""

from __future__ import annotations

import pytest
from edge_combos import combos, compose_for, skip_unavailable, validate_compose, installed_in_this_run
from genproj import answers_for, check_project

from aegis.render import env_values, render

COMBOS = combos("inference[docker]", "inference[external]")
# both options generate the same Python code: install the external one alone and with everything
INSTALLS = [c for c in COMBOS if not c.startswith("inference[external],")] + [COMBOS[-1]]


@pytest.mark.parametrize("selection", COMBOS)
def test_compose_validates(selection):
    data = compose_for(selection)
    validate_compose(data)
    assert ("ollama" in data["services"]) == ("inference[docker]" in selection)


def test_docker_option_wires_the_app_to_the_service():
    web = compose_for("inference[docker]")["services"]["webserver"]
    assert web["environment"]["OLLAMA_URL"] == "http://ollama:11434"
    assert web["depends_on"]["ollama"] == {"condition": "service_started"}
    assert "OLLAMA_URL" not in compose_for("inference[external]")["services"]["webserver"].get("environment", {})


def test_project_files_and_wiring():
    answers = answers_for("inference[external]", name="My API")
    tree = render(answers)
    assert "my_api/components/inference.py" in tree and "tests/test_inference.py" in tree
    assert "components_inference_router" in tree["my_api/main.py"].text
    assert 'name="inference"' in tree["my_api/cli.py"].text
    env = env_values(answers)
    assert env["OLLAMA_MODEL"] == "llama3.2:1b" and env["OLLAMA_URL"] == "http://127.0.0.1:11434"


@pytest.mark.slow
@pytest.mark.parametrize("selection", installed_in_this_run(INSTALLS))
def test_project_passes_ruff_and_its_tests(selection, tmp_path):
    skip_unavailable(selection)
    check_project(selection, tmp_path).assert_ok()


@pytest.mark.slow
def test_lowest_versions(tmp_path):
    check_project("inference", tmp_path, resolution="lowest-direct").assert_ok()
