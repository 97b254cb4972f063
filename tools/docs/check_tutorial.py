"""Check the tutorial's saved outputs against a fresh run, with nbval (`make test-tutorial`).

nbdev-clean strips execution counts, and nbval refuses a cell that has outputs but no count
("Unrun reference cell has outputs"), so the check runs on a copy with the counts put back; the
notebook itself stays clean. Volatile values (paths, times, ports, ids, hashes) are masked by
`nbs/90_tutorial.sanitize.cfg`, never by hiding cells. Needs a Docker engine (the tutorial starts a stack).

    python tools/docs/check_tutorial.py [--record]   # --record: run for real and save the outputs
"""
import os, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NB = ROOT / "nbs" / "90_tutorial.ipynb"
SANITIZE = ROOT / "nbs" / "90_tutorial.sanitize.cfg"


def with_counts(src: Path, dst: Path):
    import nbformat
    nb = nbformat.read(src, as_version=4)
    n = 0
    for c in nb.cells:
        if c.cell_type == "code":
            n += 1
            c.execution_count = n
            for o in c.get("outputs", []):
                if "execution_count" in o: o["execution_count"] = n
    nbformat.write(nb, dst)


def record():
    "Run the tutorial top to bottom in a real kernel (from nbs/, like nbdev-test), save it, clean it."
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(NB, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NB.parent)}}).execute()
    nbformat.write(nb, NB)
    subprocess.run(["nbdev-clean", "--fname", str(NB)], check=True)


def check(extra: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / NB.name  # nbval runs it from here; the tutorial uses absolute paths only
        with_counts(NB, copy)
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "--nbval",
               str(copy), "--sanitize-with", str(SANITIZE), "--nbval-cell-timeout", "900", *extra]
        return subprocess.run(cmd, cwd=tmp, env={**os.environ, "PYTHONPATH": str(ROOT)}).returncode


if __name__ == "__main__":
    if "--record" in sys.argv: record()
    else: sys.exit(check([a for a in sys.argv[1:]]))
