import os, subprocess, sys
from pathlib import Path
import pytest

# tests/ helpers (genproj) importable from every test module
sys.path.insert(0, str(Path(__file__).parent))

# files copied into generated projects by the tests, not tests of aegis
collect_ignore = ["fixtures"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AEGIS_SHARED", ROOT.parent / "shared"))
# The official Compose schema: the shared reference copy when the checkout sits next to it, else the copy
# aegis ships (docker/compose-spec.json; test_render checks the two are the same bytes).
COMPOSE_SCHEMA = next(p for p in (SHARED / "reference" / "compose-spec.json", ROOT / "docker" / "compose-spec.json")
                      if p.exists())


def compose_schema() -> dict:
    import json
    return json.loads(COMPOSE_SCHEMA.read_text())


def run_aegis(*args, cwd=None, timeout=120, env=None):
    "Run the aegis CLI as a user would, in a fresh process."
    return subprocess.run([sys.executable, "-m", "aegis.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture
def aegis_cli():
    return run_aegis


def engine_or_skip():
    "A Docker engine answers, or the test is skipped (failed in CI, whose .ci/run installs one)."
    from aegis.engine import engine_answers
    if not engine_answers():
        if os.environ.get("CI"):
            pytest.fail("no Docker engine answers: CI must run docker/install-engine.sh first")
        pytest.skip("no Docker engine (run docker/install-engine.sh)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Docker tests and browser tests share one xdist group (one worker, one at a time): a Docker test
    creating or removing a network changes the host's interfaces, and Chromium then aborts its requests
    in flight with ERR_NETWORK_CHANGED. Runs before xdist's hook, which joins every group an item carries."""
    for item in items:
        if item.get_closest_marker("docker") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("docker"))
