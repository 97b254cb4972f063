import os, subprocess, sys
from pathlib import Path
import pytest

# tests/ helpers (genproj) importable from every test module
sys.path.insert(0, str(Path(__file__).parent))

# files copied into generated projects by the tests, not tests of aegis
collect_ignore = ["fixtures"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AEGIS_SHARED", ROOT.parent / "shared"))


def run_aegis(*args, cwd=None, timeout=120, env=None):
    "Run the aegis CLI as a user would, in a fresh process."
    return subprocess.run([sys.executable, "-m", "aegis.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture
def aegis_cli():
    return run_aegis
