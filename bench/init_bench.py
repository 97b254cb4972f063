"""How fast aegis generates: `import aegis`, `aegis.init` in-process, `aegis init` as a process.

Run: python bench/init_bench.py [--runs 10]. Prints medians (and min/max) in milliseconds.
Targets (issue 2): import <= 150 ms, init in-process <= 300 ms (core), init process <= 1 s.
"""
import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(fn, runs):
    out = []
    for _ in range(runs):
        t = time.perf_counter(); fn(); out.append((time.perf_counter() - t) * 1000)
    return out


def show(label, ms):
    print(f"{label:<48} median {statistics.median(ms):7.1f} ms   min {min(ms):7.1f}   max {max(ms):7.1f}   (n={len(ms)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    import aegis
    from aegis.specs import registry
    full = ",".join(c.label(c.default) for c in registry().values() if not c.core and c.available)
    show("python -c 'import aegis' (whole process)", timed(lambda: subprocess.run([sys.executable, "-c", "import aegis"], check=True), a.runs))
    show("python -c 'pass' (interpreter alone)", timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), a.runs))
    work = Path(tempfile.mkdtemp())
    try:
        aegis.init("warm-up", output_dir=work / "w")  # first call compiles templates; later ones are what a session sees
        n = iter(range(10_000))
        show("aegis.init core, in-process (git included)", timed(lambda: aegis.init(f"core-{next(n)}", output_dir=work), a.runs))
        if full:
            show(f"aegis.init {full}, in-process", timed(lambda: aegis.init(f"full-{next(n)}", full, output_dir=work), a.runs))
        cli = lambda extra: (lambda: subprocess.run([sys.executable, "-m", "aegis.cli", "init", f"cli-{next(n)}", "-o", str(work),
                                                     "--no-interactive", *extra], check=True, capture_output=True))
        show("aegis init core (process, --no-lock)", timed(cli(["--no-lock"]), a.runs))
        if full: show("aegis init full stack (process, --no-lock)", timed(cli(["-c", full, "--no-lock"]), a.runs))
        if shutil.which("uv"): show("aegis init core (process, with uv lock)", timed(cli(["--lock"]), min(a.runs, 3)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
