"""Benchmarks of the components that keep state (database, cache, scheduler).

    python bench/state_bench.py suites [--combos ...]    time of each generated project's own test suite
    python bench/state_bench.py health [--runs 5]         /health latency with all three components

`suites`: generates each combination, installs it (cached environment, tests/genproj.py) and times
its `pytest` run alone (installation excluded), against the real PostgreSQL and Redis (the URLs the
components' `test_env` names).

`health`: generates `database[postgres],cache,scheduler[postgres]`, creates a throwaway PostgreSQL
database, starts the backend (`<slug> serve`, migrating at start) and the scheduler process (so
every check has something real to look at), then measures `GET /health` sequentially with
HEALTH_CACHE_TTL=0 (every request runs every check: SELECT 1 and the schema revision on
PostgreSQL, PING + INFO on Redis, the heartbeat row) and with the default 1 s cache. Median and
p95 of each run, median over runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))
import genproj
from health_bench import measure

COMBOS = ["database", "database[postgres]", "cache", "scheduler", "scheduler[sqlite]", "scheduler[postgres]",
          "scheduler,cache", "database,cache,scheduler[sqlite]", "database[postgres],cache,scheduler[postgres]"]
PG = os.environ.get("BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/12")


def suites(combos: list[str]) -> list[dict]:
    from aegis.render import context
    out = []
    for sel in combos:
        with tempfile.TemporaryDirectory() as tmp:
            project = genproj.generate(sel, Path(tmp), name="Bench State")
            base = genproj.cached_env(project)
            venv = genproj.project_env(project, base)
            test_env = context(genproj.answers_for(sel, "Bench State"))["slots"].test_env
            env = genproj.project_run_env(venv, base, test_env)
            t = time.perf_counter()
            p = subprocess.run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env,
                               capture_output=True, text=True, check=False)
            secs = round(time.perf_counter() - t, 2)
            last = (p.stdout.strip().splitlines() or ["?"])[-1]
            out.append({"selection": sel, "seconds": secs, "result": last, "exit": p.returncode})
            print(f"{sel:<50} {secs:6.1f} s   {last}", file=sys.stderr)
    return out


async def _admin(sql: str) -> None:
    import asyncpg
    conn = await asyncpg.connect(user="postgres", host="127.0.0.1", port=5432, database="test")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def health(runs: int, requests: int) -> dict:
    sel = "database[postgres],cache,scheduler[postgres]"
    db = f"bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{db}"'))
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            project = genproj.generate(sel, Path(tmp), name="Bench State")
            base = genproj.cached_env(project)
            venv = genproj.project_env(project, base)
            env = {"DATABASE_URL": PG.rsplit("/", 1)[0] + f"/{db}", "DB_MIGRATE_ON_START": "true", "REDIS_URL": REDIS,
                   "REDIS_PREFIX": f"bench-{db}", "SCHEDULER_HEARTBEAT_SECONDS": "1", "HEALTH_PUBLISH_INTERVAL": "0"}
            slug = "bench-state"
            for ttl in ("0", "1.0"):
                with genproj.serve(project, venv, base, {**env, "HEALTH_CACHE_TTL": ttl}) as url:
                    sched = subprocess.Popen([str(venv / "bin" / slug), "scheduler", "start"], cwd=project,
                                             env=genproj.project_run_env(venv, base, env),
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    try:
                        import httpx
                        deadline = time.monotonic() + 120  # until the scheduler's first heartbeat is seen
                        while True:
                            tree = httpx.get(f"{url}/health", timeout=10).json()
                            if tree["status"] == "healthy" or time.monotonic() > deadline:
                                break
                            time.sleep(1)
                        port = int(url.rsplit(":", 1)[1])
                        r = measure(port, "/health", runs, requests, 4, 2.0, url.pid)
                        r["statuses"] = {k: v["status"] for k, v in tree["components"].items()}
                        results[f"cache_ttl_{ttl}"] = r
                        print(f"HEALTH_CACHE_TTL={ttl}: median {r['sequential_median_ms']} ms, "
                              f"p95 {r['sequential_p95_ms']} ms, {r['concurrent_4_rps_median']} req/s (4 clients); "
                              f"{r['statuses']}", file=sys.stderr)
                    finally:
                        sched.terminate()
                        sched.wait(20)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["suites", "health"])
    ap.add_argument("--combos", nargs="*", default=COMBOS)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--requests", type=int, default=200)
    a = ap.parse_args(argv)
    result = suites(a.combos) if a.what == "suites" else health(a.runs, a.requests)
    print(json.dumps({"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, a.what: result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
