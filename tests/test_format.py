"""Generated projects are already `ruff format`-clean and `ruff check`-clean with their own pyproject settings.

A user who runs `make format` (`ruff check --fix`, then `ruff format`) right after `aegis init` must get no diff,
or every later `aegis add`/`update` fights their formatting. The projects are rendered in memory
(`aegis.render.render`, nothing installed) and written to a temporary folder; ruff reads each project's own
`pyproject.toml` (line-length 110). Project names are substituted into code, so every selection is also rendered
with a 50-character name: no line holding the name may need a different layout.
"""

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from genproj import answers_for

from aegis.names import MAX_NAME
from aegis.render import render
from aegis.specs import AegisError, registry

LONG = "x" * (MAX_NAME - 4) + "-api"
NAMES = {"short": "W Proj", "long": LONG}
SELECTIONS = [
    "",
    "database[sqlite]",
    "database[postgres]",
    "cache",
    "worker[arq]",
    "worker[dramatiq]",
    "worker[taskiq]",
    "scheduler[memory]",
    "database[sqlite],scheduler[sqlite]",
    "database[postgres],scheduler[postgres]",
    "ingress",
    "observability",
    "inference[docker]",
    "inference[external]",
    "database[postgres],cache,worker[arq],scheduler[postgres],ingress,observability,inference[docker]",
    "database[sqlite],cache,worker[dramatiq],scheduler[sqlite],ingress,observability,inference[external]",
    "database[postgres],cache,worker[taskiq],scheduler[memory],observability,inference[docker]",
]


def ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args, "--no-cache", "."], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


def write(tree, dest: Path) -> Path:
    for rel, f in tree.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.data)
    return dest


def assert_ruff_clean(folder: Path) -> None:
    fmt = ruff("format", "--diff", cwd=folder)
    assert fmt.returncode == 0, f"ruff format would change generated files:\n{fmt.stdout[-20000:]}{fmt.stderr[-2000:]}"
    check = ruff("check", "--output-format", "concise", cwd=folder)
    assert check.returncode == 0, f"ruff check fails on generated files:\n{check.stdout[-20000:]}{check.stderr}"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("selection", SELECTIONS, ids=lambda s: s or "core")
def test_generated_project_is_ruff_format_clean(tmp_path, selection, name):
    assert_ruff_clean(write(render(answers_for(selection, NAMES[name])), tmp_path / "project"))


def test_every_pair_of_components_and_every_python_is_ruff_format_clean(tmp_path):
    """Templates have blocks that depend on the other components (`has(...)`) and loops over the slots: every
    option alone and every pair of them, with both names and every supported Python, in one ruff run (ruff
    applies each project's own pyproject)."""
    from aegis.render import SUPPORTED_PYTHONS
    items = [f"{c.name}[{o}]" for c in registry().values() if not c.core for o in c.options]
    items += [c.name for c in registry().values() if not c.core and not c.options]
    pairs = [",".join(p) for p in itertools.combinations(items, 2) if p[0].split("[")[0] != p[1].split("[")[0]]
    n = 0
    for i, selection in enumerate(["", *items, *pairs]):
        for j, name in enumerate(NAMES.values()):
            python = SUPPORTED_PYTHONS[(i + j) % len(SUPPORTED_PYTHONS)]
            try: answers = answers_for(selection, name, python)
            except AegisError: continue  # an option that needs another (scheduler[sqlite] without a database)
            try: tree = render(answers)
            except AegisError: continue
            write(tree, tmp_path / f"p{i}-{name[:2]}")
            n += 1
    assert n > 100
    assert_ruff_clean(tmp_path)
