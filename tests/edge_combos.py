"""Selections the edge components (ingress, observability, inference) are tested in: each option
alone, with each other component and option, and all together. Shared by their test modules."""

from __future__ import annotations

import json

import pytest

OTHERS = ["database[sqlite]", "database[postgres]", "cache", "worker[arq]", "worker[dramatiq]", "worker[taskiq]",
          "scheduler"]
from conftest import COMPOSE_SCHEMA as SCHEMA


def combos(*mine: str) -> list[str]:
    "Each of `mine` alone, with each other component, and everything together."
    out = [*mine]
    for m in mine:
        out += [f"{m},{o}" for o in OTHERS]
    for m in mine:
        edge = [x for x in ("ingress", "observability", "inference[external]") if x.split("[")[0] != m.split("[")[0]]
        out.append(",".join([m, *edge, "database[postgres]", "worker[arq]", "scheduler"]))
    return list(dict.fromkeys(out))


def installed_in_this_run(selections: list[str]) -> list[str]:
    """The selections whose generated projects are installed and tested in this run. Every selection's
    compose file is always validated; installing one project costs about a minute, so the default run
    (`make test`, CI) installs each component alone and all together, and `make test-matrix`
    (AEGIS_FULL_MATRIX=1) adds every pair with another component."""
    import os
    if os.environ.get("AEGIS_FULL_MATRIX"): return selections
    return [s for s in selections if s.count(",") != 1]


def unavailable(selection: str) -> list[str]:
    "Components of `selection` not available yet in this checkout (their branch has not landed)."
    from aegis.specs import lookup, split_items
    return [n for n, _ in split_items(selection) if not lookup(n).available]


def skip_unavailable(selection: str) -> None:
    missing = unavailable(selection)
    if missing:
        pytest.skip(f"not available in this checkout yet: {', '.join(missing)}")


def compose_for(selection: str) -> dict:
    "The compose data of `selection`, whatever is available (render does not need availability)."
    from aegis.render import compose_data, context
    from aegis.specs import parse_selection
    sel, _ = parse_selection(selection, available_only=False)
    return compose_data(context({"name": "Edge Proj", "components": sel}))


MINE = ("traefik", "ollama")


def validate_compose(data: dict) -> None:
    "The whole file against the Compose schema; our services have healthchecks; no infrastructure port is fixed."
    import jsonschema
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(data)  # the spec is draft 7
    for name, svc in data["services"].items():
        assert name not in MINE or "healthcheck" in svc, f"{name} has no healthcheck"
        for port in svc.get("ports", []):
            assert not any(str(port).startswith(p) for p in ("5432", "6379")), (name, port)
