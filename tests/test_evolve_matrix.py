"""The invariant over every pair of selectable components and options (a generated matrix):
`init(A)` + `add(B)` gives exactly the files of `init(A + B)` (the answers file may differ only
in its recorded history), then `remove(B)` gives exactly `init(A)` again: no leftovers, no
empty folders. Pairs that cannot go together must be refused before anything changes."""
import re

import pytest

from aegis.evolve import add, remove
from aegis.specs import AegisError, parse_selection, registry
from test_evolve_support import make_project, files, dirs, state, status


def items() -> list[str]:
    out = []
    for c in registry().values():
        if c.core: continue
        out += [c.label(o) for o in c.options] if c.options else [c.name]
    return out


def _comp(label): return label.split("[")[0]


PAIRS = [("", b) for b in items()] + [(a, b) for a in items() for b in items() if _comp(a) != _comp(b)]


def _project_files(root) -> dict:
    return {p: v for p, v in files(root).items() if p != ".env"}   # .env holds fresh secrets per project


def test_matrix_covers_every_option():
    assert {"database[sqlite]", "database[postgres]", "worker[arq]", "worker[dramatiq]", "worker[taskiq]",
            "scheduler[memory]", "scheduler[sqlite]", "scheduler[postgres]", "cache", "ingress", "observability",
            "inference[docker]", "inference[external]"} <= set(items())
    assert len(PAIRS) >= 150


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a or 'core'}+{b}" for a, b in PAIRS])
def test_add_then_remove_equals_init(tmp_path, a, b):
    sel_a = parse_selection(a, available_only=False)[0]
    proj = make_project(tmp_path / "evolved", a)
    before = state(proj)
    try:
        sel_ab = parse_selection(",".join(x for x in (a, b) if x), available_only=False)[0]
    except AegisError as e:                                   # cannot go together: refused, nothing changed
        with pytest.raises(AegisError, match=str(e)[:30].replace("[", "\\[").replace("]", "\\]")):
            add(b, proj, available_only=False)
        assert state(proj) == before
        return
    if _comp(b) in sel_a:                                     # B is already there, pulled in by A...
        r = add(b, proj, available_only=False)                # ...and named now: the user's own, kept when A goes
        assert r.status == "applied" and [p for p, _ in r.changes] == [".aegis.toml"], str(r)
        assert _project_files(proj) == _project_files(make_project(tmp_path / "fresh", f"{a},{b}"))
        return
    r = add(b, proj, available_only=False)
    assert r.status == "applied" and not r.conflicts, str(r)
    assert status(proj) == b""
    ref = make_project(tmp_path / "fresh", ",".join(x for x in (a, b) if x))
    got, want = _project_files(proj), _project_files(ref)
    assert got == want
    assert dirs(proj) == dirs(ref)

    r = remove(b, proj)
    assert r.status == "applied" and not r.conflicts, str(r)
    after = state(proj)
    for k in ("files", "dirs"): assert after[k] == before[k]
    assert after["status"] == before["status"]
