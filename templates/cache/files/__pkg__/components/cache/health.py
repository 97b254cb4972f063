"""Redis's health: PING latency, memory, clients, and the server's role."""

from __future__ import annotations

import time

from ...health.core import Health
from .client import get_redis


async def check() -> Health:
    r = get_redis()
    start = time.perf_counter()
    await r.ping()
    ping_ms = round((time.perf_counter() - start) * 1000, 2)
    info = await r.info()
    details = {
        "ping_ms": ping_ms,
        "version": info.get("redis_version"),
        "role": info.get("role"),
        "used_memory": info.get("used_memory_human"),
        "connected_clients": info.get("connected_clients"),
        "uptime_s": info.get("uptime_in_seconds"),
        "aof_enabled": bool(info.get("aof_enabled")),
    }
    limit, used = info.get("maxmemory") or 0, info.get("used_memory") or 0
    if limit and used > 0.9 * limit:
        return Health.warning(f"memory {used / limit:.0%} of maxmemory", **details)
    return Health.healthy(f"PONG in {ping_ms} ms ({details['role']})", **details)
