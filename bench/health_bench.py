"""Benchmark the generated backend's `/health`: sequential latency and throughput with concurrent clients.

    python bench/health_bench.py [--runs 10] [--requests 300] [--clients 10] [--seconds 3] [--path /health]

Generates the core project into a temporary folder, installs it (cached environment, see
tests/genproj.py), starts it the way users do (`<slug> serve`, uvicorn, one process) and measures
with a small keep-alive HTTP/1.1 client written on asyncio streams, so the client costs as little
CPU as possible on the same machine. Every figure is the median of `--runs` runs.
Targets: median sequential latency <= 5 ms, >= 400 requests/s with 10 concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import genproj


class Conn:
    "One keep-alive HTTP/1.1 connection."

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port

    async def open(self):
        self.r, self.w = await asyncio.open_connection(self.host, self.port)
        return self

    async def get(self, path: str) -> int:
        self.w.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        head = await self.r.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.r.readexactly(length)
        return status

    def close(self):
        self.w.close()


async def sequential(port: int, path: str, n: int) -> list[float]:
    c = await Conn("127.0.0.1", port).open()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await c.get(path)
        out.append((time.perf_counter() - t) * 1000)
    c.close()
    return out


async def concurrent(port: int, path: str, clients: int, seconds: float) -> tuple[float, dict[int, int]]:
    conns = [await Conn("127.0.0.1", port).open() for _ in range(clients)]
    done, codes = 0, {}
    stop = time.perf_counter() + seconds

    async def worker(c: Conn):
        nonlocal done
        while time.perf_counter() < stop:
            s = await c.get(path)
            codes[s] = codes.get(s, 0) + 1
            done += 1

    t = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - t
    for c in conns:
        c.close()
    return done / elapsed, codes


def cpu_seconds(pid: int) -> float:
    "User + system CPU time of a process (Linux), to report CPU per request: a figure load does not skew."
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(port: int, path: str, runs: int, requests: int, clients: int, seconds: float, pid: int) -> dict:
    asyncio.run(sequential(port, path, 200))  # warm up: imports, first check run, caches
    seq_medians, seq_p95, rates, codes = [], [], [], {}
    for _ in range(runs):
        lat = asyncio.run(sequential(port, path, requests))
        seq_medians.append(statistics.median(lat))
        seq_p95.append(statistics.quantiles(lat, n=20)[18])
    cpu0, total = cpu_seconds(pid), 0
    for _ in range(runs):
        rate, c = asyncio.run(concurrent(port, path, clients, seconds))
        rates.append(rate)
        total += sum(c.values())
        for k, v in c.items():
            codes[k] = codes.get(k, 0) + v
    return {"path": path, "sequential_median_ms": round(statistics.median(seq_medians), 3),
            "sequential_p95_ms": round(statistics.median(seq_p95), 3),
            "sequential_run_medians_ms": [round(x, 3) for x in seq_medians],
            f"concurrent_{clients}_rps_median": round(statistics.median(rates), 1),
            "concurrent_runs_rps": [round(x) for x in rates], "status_codes": codes,
            "server_cpu_ms_per_request": round((cpu_seconds(pid) - cpu0) * 1000 / max(total, 1), 3),
            "load_avg_1min_after": os.getloadavg()[0]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--requests", type=int, default=300, help="sequential requests per run")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each concurrent run")
    ap.add_argument("--path", action="append", help="paths to measure (default /health and /health/live)")
    ap.add_argument("--cache-ttl", type=float, default=None, help="HEALTH_CACHE_TTL for the server (default: project's)")
    ap.add_argument("--selection", default="", help="components, as for aegis init -c")
    ap.add_argument("--serve-arg", action="append", default=[], help="extra argument for `<slug> serve`")
    args = ap.parse_args(argv)
    paths = args.path or ["/health", "/health/live"]

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        project = genproj.generate(args.selection, Path(tmp), name="Bench API")
        base = genproj.cached_env(project)
        venv = genproj.project_env(project, base)
        print(f"# project ready in {time.perf_counter() - t:.1f} s: {project}", file=sys.stderr)
        env = {} if args.cache_ttl is None else {"HEALTH_CACHE_TTL": str(args.cache_ttl)}
        with genproj.serve(project, venv, base, env, args=tuple(args.serve_arg)) as url:
            port = int(url.rsplit(":", 1)[1])
            results = [measure(port, p, args.runs, args.requests, args.clients, args.seconds, url.pid) for p in paths]
    out = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
           "settings": {"runs": args.runs, "requests": args.requests, "clients": args.clients,
                        "seconds": args.seconds, "cache_ttl": args.cache_ttl if args.cache_ttl is not None else "default"},
           "results": results}
    print(json.dumps(out, indent=2))
    ok = all(r["sequential_median_ms"] <= 5 and r[f"concurrent_{args.clients}_rps_median"] >= 400 for r in results)
    print(f"# targets (<= 5 ms sequential, >= 400 req/s with {args.clients} clients): {'met' if ok else 'NOT met'}",
          file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
