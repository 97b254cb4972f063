"""Property: random sequences of add, remove, update (a new "aegis version" each time) and random
user edits (append, change a line, delete a file, add a file): no edit is ever lost silently.

Every user edit writes a unique token. After every step, each live token is still in its file,
every file the user deleted is still gone, and a change that did not conflict left the tree
committed and the index without unmerged entries. A change that conflicts is either aborted
(the project must be exactly as before) or resolved by keeping both sides, then continued."""
import signal, subprocess, sys, time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from aegis.evolve import add, remove, update, continue_, abort
from aegis.specs import AegisError, registry
from test_evolve_support import Side, make_project, commit, state, unmerged, status

TEMPLATE = [f"app/f{i}.py" for i in range(4)]
LINES = b"".join(b"line %d\n" % i for i in range(1, 13))
LABELS = [c.label(o) for c in registry().values() if not c.core for o in (list(c.options) or [None])]
NAMES = [c.name for c in registry().values() if not c.core]

op = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(LABELS)),
    st.tuples(st.just("remove"), st.sampled_from(NAMES)),
    st.tuples(st.just("update"), st.integers(0, 3)),
    st.tuples(st.just("append"), st.sampled_from(TEMPLATE + ["docker-compose.yml", ".aegis.toml"])),
    st.tuples(st.just("change"), st.sampled_from(TEMPLATE), st.integers(1, 12)),
    st.tuples(st.just("delete"), st.sampled_from(TEMPLATE)),
    st.tuples(st.just("create"), st.sampled_from(["user/notes.md", "app/extra.py", "gen/v2.txt"])),
)


def new_version(side: Side, n: int, kind: int):
    "What a new aegis version changes: a line, a new file, a removed file or an exec bit."
    f = TEMPLATE[n % len(TEMPLATE)]
    if kind == 0 and f in side.files:
        data, mode = side.files[f] if isinstance(side.files[f], tuple) else (side.files[f], 0o644)
        lines = data.splitlines(True)
        lines[(n * 5) % len(lines)] = b"aegis version %d\n" % n
        side.files[f] = (b"".join(lines), mode)
    elif kind == 1: side.files[f"gen/v{n}.txt"] = b"generated %d\n" % n
    elif kind == 2: side.files.pop(f, None)
    else:
        data, mode = side.files[f] if isinstance(side.files.get(f), tuple) else (side.files.get(f, LINES), 0o644)
        side.files[f] = (data, mode ^ 0o111)


def resolve_keeping_both(root: Path, paths):
    for p in paths:
        f = root / p
        if f.is_file():
            kept = [l for l in f.read_bytes().splitlines(True)
                    if not l.startswith((b"<<<<<<< ", b"=======", b">>>>>>> "))]
            f.write_bytes(b"".join(kept))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=9), aborts=st.lists(st.booleans(), min_size=9, max_size=9))
def test_no_edit_is_ever_lost_silently(tmp_path_factory, ops, aborts):
    side = Side({f: LINES for f in TEMPLATE})
    root = make_project(tmp_path_factory.mktemp("prop"), renderer=side)
    tokens: dict[str, set[bytes]] = {}      # path -> tokens that must be in it
    deleted: set[str] = set()
    version = 0
    for i, o in enumerate(ops):
        kind = o[0]
        if kind in ("append", "change", "delete", "create"):
            path = o[1]
            f = root / path
            token = b"USER EDIT %d" % i
            if kind == "append" and f.is_file(): f.write_bytes(f.read_bytes() + token + b"\n")
            elif kind == "change" and f.is_file():
                lines = f.read_bytes().splitlines(True)
                k = min(o[2], len(lines)) - 1
                tokens[path] = {t for t in tokens.get(path, set()) if t not in lines[k]}   # the user overwrote them
                lines[k] = token + b"\n"
                f.write_bytes(b"".join(lines))
            elif kind == "delete" and f.is_file():
                f.unlink(); tokens.pop(path, None); deleted.add(path)
            elif kind == "create" and not f.exists() and path not in deleted:
                f.parent.mkdir(parents=True, exist_ok=True); f.write_bytes(token + b"\n")
            else: continue
            if kind != "delete": tokens.setdefault(path, set()).add(token)
            commit(root)
            continue
        before = state(root)
        try:
            if kind == "add": r = add(o[1], root, available_only=False, renderer=side)
            elif kind == "remove": r = remove(o[1], root, renderer=side)
            else:
                version += 1; new_version(side, version, o[1]); r = update(root, renderer=side)
        except AegisError:
            assert state(root) == before              # refused: nothing changed
            continue
        if r.status == "pending":
            assert r.exit_code == 1 and r.conflicts
            if aborts[i]:
                abort(root)
                assert state(root) == before
                if kind == "update": side.files = dict(side.files)   # the version stays available for a later update
            else:
                resolve_keeping_both(root, [c.path for c in r.conflicts])
                assert continue_(root).status == "continued"
        assert unmerged(root) == {} and status(root) == b""
        for path, ts in tokens.items():
            data = (root / path).read_bytes() if (root / path).is_file() else b""
            for t in ts: assert t in data, f"{t!r} lost from {path} after {o} ({r.status})"
        for path in deleted: assert not (root / path).exists(), f"{path} came back after {o}"


def test_killed_at_random_moments_is_all_or_nothing(tmp_path):
    "Real SIGKILLs while `add` runs in another process: afterwards the project is exactly before or after."
    body = b"".join(b"def f%d():\n    return %d\n" % (i, i) for i in range(50))
    side = Side({f"pkg/m{i:03d}.py": body for i in range(150)})
    ref = make_project(tmp_path / "ref", renderer=side)
    add("worker", ref, available_only=False, renderer=side)
    no_env = lambda fs: {p: v for p, v in fs.items() if p != ".env"}
    after_files = no_env(state(ref)["files"])
    script = ("import sys; sys.path.insert(0, %r); from test_evolve_support import Side; from aegis.evolve import add; "
              "body = %r; side = Side({f'pkg/m{i:03d}.py': body for i in range(150)}); "
              "add('worker', sys.argv[1], available_only=False, renderer=side)") % (str(Path(__file__).parent), body)
    t = time.perf_counter()                            # how long the whole change takes in a process, here and now
    subprocess.run([sys.executable, "-c", script, str(make_project(tmp_path / "timing", renderer=side))], check=True)
    full = time.perf_counter() - t
    outcomes = []
    for k, delay in enumerate([full * f for f in (0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.5)]):
        proj = make_project(tmp_path / f"p{k}", renderer=side)
        before = state(proj)
        p = subprocess.Popen([sys.executable, "-c", script, str(proj)])
        time.sleep(delay)
        p.send_signal(signal.SIGKILL); p.wait()
        try: abort(proj)                             # settles a change whose process died (as any next command does)
        except AegisError as e:                      # nothing to abort: it had finished, or not begun
            assert "nothing to abort" in str(e), e
        now = state(proj)
        if no_env(now["files"]) == after_files and now["status"] == before["status"] and not now["record"]:
            outcomes.append("after")
        else:
            assert now == before, f"killed after {delay}s: neither before nor after"
            outcomes.append("before")
    print(f"change took {full:.2f}s in a process; outcomes {outcomes}")   # the mix depends on the machine's load


AVAILABLE = [c.label(o) for c in registry().values() if not c.core and c.available for o in (list(c.options) or [None])]


@pytest.mark.slow
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(st.one_of(st.tuples(st.just("edit"), st.integers(0, 2)), st.tuples(st.just("update"), st.integers(0, 1)),
                              *([st.tuples(st.just("add"), st.sampled_from(AVAILABLE))] if AVAILABLE else [])),
                    min_size=2, max_size=6))
def test_evolved_projects_without_conflicts_pass_their_own_tests(tmp_path_factory, ops):
    "After add/update and user edits that did not conflict, the project's own ruff and tests pass."
    from genproj import cached_env, project_env, project_run_env
    from aegis.render import context
    side = Side({"docs/notes.md": b"# notes\n"})
    root = make_project(tmp_path_factory.mktemp("own"), renderer=side)
    pkg = "shop"
    edits = [(f"{pkg}/settings.py", b"\n\n# the user's comment\n"), (f"{pkg}/main.py", b"\n\ndef user_helper_%d() -> int:\n    return 42\n"),
             ("README.md", b"\nUser notes.\n")]
    version = 0
    for i, o in enumerate(ops):
        if o[0] == "edit":                                 # the same edit twice is still valid code (a helper each time)
            path, extra = edits[o[1]]
            (root / path).write_bytes((root / path).read_bytes() + extra.replace(b"%d", b"%d" % i)); commit(root)
        elif o[0] == "update":
            version += 1
            side.files["docs/notes.md"] = b"# notes\n\nversion %d\n" % version
            assert update(root, renderer=side).status in ("applied", "nothing to do")
        else:
            before = state(root)
            try:
                r = add(o[1], root, renderer=side)
            except AegisError:                         # e.g. scheduler[sqlite] after database[postgres]: refused
                assert state(root) == before           # and nothing changed
                continue
            assert r.status in ("applied", "nothing to do"), str(r)
    from aegis.evolve import read_project_answers
    answers, _ = read_project_answers(root)
    base = cached_env(root)
    venv = project_env(root, base)
    env = project_run_env(venv, base, {**context(answers)["slots"].test_env, "PYTEST_ADDOPTS": "-q -p no:cacheprovider"})
    for cmd in (["ruff", "check", "."], ["python", "-m", "pytest"]):
        p = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=1200)
        assert p.returncode == 0, f"{cmd} failed after {ops}:\n{p.stdout[-4000:]}\n{p.stderr[-2000:]}"
