"""The observability component: what it adds follows the selection, and the generated project,
installed, passes ruff and its own tests (spans captured with Logfire's `capfire`)."""

from __future__ import annotations

import pytest
from edge_combos import combos, compose_for, skip_unavailable, validate_compose, installed_in_this_run
from genproj import answers_for, check_project

from aegis.render import render

COMBOS = combos("observability")


def module(selection: str) -> str:
    from aegis.specs import parse_selection
    sel, _ = parse_selection(selection, available_only=False)
    return render({"name": "My API", "components": sel})["my_api/components/observability.py"].text


def test_instrumentation_follows_the_selection():
    bare = module("observability")
    for absent in ("instrument_sqlalchemy", "instrument_redis", "queue_depth", "database", "redis"):
        assert absent not in bare, absent
    assert "instrument_fastapi" in bare and "instrument_httpx" in bare
    assert "instrument_sqlalchemy" in module("observability,database[postgres]")
    assert "instrument_redis" in module("observability,cache")
    for option in ("arq", "dramatiq", "taskiq"):
        assert "_instrument_worker()" in module(f"observability,worker[{option}]")


def test_token_setting_and_lifespan_are_wired():
    tree = render(answers_for("observability", name="My API"))
    assert "logfire_token: str = " in tree["my_api/settings.py"].text
    assert "components_observability_lifespan" in tree["my_api/main.py"].text
    assert '"logfire[fastapi,httpx]>=5.4,<6"' in tree["pyproject.toml"].text


@pytest.mark.parametrize("selection", COMBOS)
def test_compose_validates(selection):
    validate_compose(compose_for(selection))


@pytest.mark.slow
@pytest.mark.parametrize("selection", installed_in_this_run(COMBOS))
def test_project_passes_ruff_and_its_tests(selection, tmp_path):
    skip_unavailable(selection)
    check_project(selection, tmp_path).assert_ok()


@pytest.mark.slow
def test_lowest_versions(tmp_path):
    check_project("observability", tmp_path, resolution="lowest-direct").assert_ok()
