"""How fast aegis evolves a project: `add`, `remove` and a no-op `update` on the full stack.

Run: python bench/evolve_bench.py [--runs 10] [--extra 300]. Prints medians (min/max) in ms.
Target (issue 6): each <= 1 s (median of 10); the closest existing tool takes 7 to 13 s.

Three measurements per operation:
- in-process (a notebook cell): `aegis.evolve.add(...)` etc. on a project with the full stack;
- the same with `--extra` synthetic files (default 300, ~2 KB each, a third of them edited by the
  user) added to the render, standing in for the component templates still to land, so the
  figure holds for a project of realistic size;
- as a process (`aegis add ...` through the Typer commands `register_cli` adds), interpreter
  start and imports included.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

FULL = "database[postgres],cache,scheduler[postgres],ingress,observability,inference"   # worker added/removed
CHANGE = "worker[dramatiq]"


def show(label, ms):
    print(f"{label:<52} median {statistics.median(ms):7.1f} ms   min {min(ms):7.1f}   max {max(ms):7.1f}   (n={len(ms)})")


def timed(fn):
    t = time.perf_counter(); r = fn(); return (time.perf_counter() - t) * 1000, r


def bench(proj, runs, renderer=None, label=""):
    from aegis.evolve import add, remove, update
    kw = {"renderer": renderer} if renderer else {}
    a, r, u = [], [], []
    for _ in range(runs):
        ms, res = timed(lambda: add(CHANGE, proj, available_only=False, **kw)); assert res.status == "applied", res; a.append(ms)
        ms, res = timed(lambda: remove(CHANGE, proj, **kw)); assert res.status == "applied", res; r.append(ms)
        ms, res = timed(lambda: update(proj, **kw)); assert res.status == "nothing to do", res; u.append(ms)
    show(f"add {CHANGE}{label}", a); show(f"remove {CHANGE}{label}", r); show(f"update, nothing new{label}", u)
    return a, r, u


def bench_pending(proj, runs):
    """An add that conflicts (the user reworded the README line listing the components, which the add
    also changes), the user edits a file the add merged cleanly (the Makefile), then `--abort`: that
    edit is kept, everything else restored."""
    from aegis.evolve import abort, add
    from test_evolve_support import commit
    readme, mk = proj / "README.md", proj / "Makefile"
    readme.write_text(readme.read_text().replace("`backend`, `frontend`,", "`backend` and `frontend` (mine),", 1))
    commit(proj, "user edits README.md")
    a, b = [], []
    for i in range(runs):
        ms, res = timed(lambda: add(CHANGE, proj, available_only=False)); a.append(ms)
        assert res.status == "pending", res
        mk.write_bytes(mk.read_bytes() + b"\n# a note of mine %d\n" % i)
        ms, res = timed(lambda: abort(proj)); b.append(ms)
        assert res.status == "aborted" and any("Makefile" in n for n in res.notes), res
        assert mk.read_bytes().endswith(b"# a note of mine %d\n" % i)
        commit(proj, "user edits Makefile")
    show(f"add {CHANGE} that conflicts (pending)", a); show("abort, keeping an edit made meanwhile", b)


def bench_after_merge(work, runs, history=300):
    """The base found from history: two branches each added a component, the user merged them keeping both
    sides and listed both by hand, over `history` commits of their own. `update --dry-run` (nothing written,
    so it repeats) walks the history, joins the two renders and plans the update."""
    from aegis.evolve import add, update
    from test_evolve_support import commit, git, make_project
    proj = make_project(work, "database[postgres],scheduler[postgres]")
    for i in range(history):
        (proj / "notes.txt").write_text(f"note {i}\n"); commit(proj, f"note {i}")
    git(proj, "checkout", "-q", "-b", "feat"); assert add("worker[dramatiq]", proj).status == "applied"
    git(proj, "checkout", "-q", "main"); assert add("cache", proj).status == "applied"
    git(proj, "merge", "-q", "feat", "-m", "merge feat", check=False)
    for f in git(proj, "diff", "--name-only", "--diff-filter=U").stdout.decode().split():
        lines = (proj / f).read_bytes().splitlines(True)
        (proj / f).write_bytes(b"".join(l for l in lines if not l.startswith((b"<<<<<<< ", b"=======", b">>>>>>> "))))
    text = (proj / ".aegis.toml").read_text()
    comps = 'components = ["database[postgres]", "cache", "worker[dramatiq]", "scheduler[postgres]"]'
    lines = [l for l in text.splitlines() if not l.startswith(("<<<<<<<", "=======", ">>>>>>>", "components"))]
    (proj / ".aegis.toml").write_text("\n".join(lines + [comps]) + "\n")
    commit(proj, "merged, both sides kept")
    u = []
    for _ in range(runs):
        ms, res = timed(lambda: update(proj, dry_run=True)); u.append(ms)
        assert res.status == "dry run" and not res.conflicts and any("joined" in n for n in res.notes), res
    show(f"update --dry-run after a merge ({history} commits)", u)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--extra", type=int, default=300)
    args = ap.parse_args()
    from test_evolve_support import Side, commit, make_project
    work = Path(tempfile.mkdtemp(prefix="aegis-evolve-bench-"))
    print(f"full stack: {FULL}, changing {CHANGE}; {args.runs} runs; work folder {work}")

    proj = make_project(work / "plain", FULL)
    print(f"rendered tree: {sum(1 for _ in proj.rglob('*') if '.git' not in _.parts)} files")
    bench(proj, args.runs, label=" (in-process)")
    bench_pending(make_project(work / "pending", FULL), args.runs)
    bench_after_merge(work / "merged", args.runs)

    body = b"".join(b"def f%d(x):\n    return x + %d\n\n" % (i, i) for i in range(70))
    side = Side({f"pkg/mod{i:03d}/code.py": body for i in range(args.extra)})
    big = make_project(work / "big", FULL, renderer=side)
    for i in range(0, args.extra, 3):                        # the user edited a third of them
        f = big / f"pkg/mod{i:03d}/code.py"; f.write_bytes(f.read_bytes() + b"# mine\n")
    commit(big)
    bench(big, args.runs, renderer=side, label=f" (+{args.extra} files, in-process)")

    # as a process: the `aegis` command itself, interpreter start and imports included
    def run(op):
        cmd = [sys.executable, "-m", "aegis.cli", op, *([CHANGE] if op != "update" else []), "-p", str(proj)]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    out = {"add": [], "remove": [], "update": []}
    for _ in range(args.runs):
        for op, times in out.items():
            ms, _ = timed(lambda op=op: run(op)); times.append(ms)
    for op, times in out.items(): show(f"{op} (process)", times)


if __name__ == "__main__":
    main()
