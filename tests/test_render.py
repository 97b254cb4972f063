"Rendering over every selection: deterministic, valid compose files, nothing left undefined."
import itertools
import pytest
import yaml
from conftest import ROOT, SHARED, compose_schema
from aegis.render import compose_data, context, dump_yaml, render
from aegis.specs import AegisError, parse_selection, registry


def all_selections():
    "Every combination of optional components and options (valid or not)."
    choices = []
    for c in registry().values():
        if c.core: continue
        choices.append([None] + ([f"{c.name}[{o}]" for o in c.options] if c.options else [c.name]))
    for combo in itertools.product(*choices):
        yield ",".join(x for x in combo if x)


def valid_selections():
    out = []
    for text in all_selections():
        try: out.append(parse_selection(text, available_only=False)[0])
        except AegisError: pass
    return out


@pytest.fixture(scope="module")
def compose_validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = compose_schema()
    return jsonschema.Draft7Validator(schema)


def test_shipped_compose_schema_is_the_official_one():
    "aegis validates with the copy it ships (docker/compose-spec.json): it must be the shared reference, byte for byte."
    official = SHARED / "reference" / "compose-spec.json"
    if not official.exists():
        pytest.skip(f"no shared reference next to this checkout ({official}): nothing to compare with")
    assert (ROOT / "docker" / "compose-spec.json").read_bytes() == official.read_bytes()


def test_every_selection_renders_valid_compose(compose_validator):
    sels = valid_selections()
    assert len(sels) > 300
    seen = set()
    for sel in sels:
        # the compose file alone (what render writes), without rendering every template of every selection
        ctx = context({"name": "matrix-app", "python_version": "3.11", "components": sel})
        data = yaml.safe_load(dump_yaml(compose_data(ctx)))
        errors = sorted(compose_validator.iter_errors(data), key=str)
        assert not errors, (sel, errors[0].message)
        one_shot = {n for n, svc in data["services"].items() if svc.get("restart") == "no"}
        for name, svc in data["services"].items():
            # long-running services carry a healthcheck; one-shot ones (migrations) are waited on by exit code
            if name in one_shot: continue
            assert "healthcheck" in svc, (sel, name)
            for dep, cond in svc.get("depends_on", {}).items():
                want = {"service_completed_successfully"} if dep in one_shot else {"service_healthy", "service_started"}
                assert cond["condition"] in want, (sel, name, dep, cond)
            for port in svc.get("ports", []): assert ":5432" not in port and ":6379" not in port
        seen.add(tuple(data["services"]))
    assert len(seen) > 10


def test_render_is_deterministic():
    sel, _ = parse_selection("worker[dramatiq],scheduler[postgres],ingress", available_only=False)
    ans = {"name": "det-app", "python_version": "3.12", "components": sel}
    assert render(ans) == render(ans)


def test_no_secret_in_rendered_tree():
    sel, _ = parse_selection("database[postgres],cache", available_only=False)
    tree = render({"name": "sec-app", "python_version": "3.11", "components": sel})
    assert ".env" not in tree
    compose = tree["docker-compose.yml"].text
    assert "${POSTGRES_PASSWORD}" in compose
