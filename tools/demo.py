"""`make demo`: generate a demo project, start it, print its live health tree, stop it.

Docker when an engine answers (base images built from Debian packages when no registry can be
reached), local processes otherwise (`--local` forces them). Exit code 0 when the stack was healthy.
"""
import shutil, sys, tempfile, time
from pathlib import Path

import aegis
from aegis.engine import engine_answers
from rich.console import Console


def main() -> int:
    out = Console()
    forced = "--local" in sys.argv
    local = forced or not engine_answers()
    work = Path(tempfile.mkdtemp(prefix="aegis-demo-"))
    stack, healthy = None, False
    try:
        t = time.perf_counter()
        project = aegis.init("aegis-demo", output_dir=work)
        out.print(f"generated {project.path} in {(time.perf_counter() - t) * 1000:.0f} ms")
        how = "with Docker" if not local else "as local processes" + ("" if forced else " (no Docker engine answers)")
        out.print(f"starting it {how}...")
        stack = aegis.up(project.path, local=local, wait=300, say=lambda m: out.print(f"  {m}"))
        report = stack.health(wait=60)
        out.print(report)
        healthy = report.healthy
    finally:
        if stack is not None:
            stack.down(volumes=True)
            out.print("stopped and removed the demo stack")
        shutil.rmtree(work, ignore_errors=True)
    out.print("[green]healthy[/]" if healthy else "[red]not healthy[/]")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
