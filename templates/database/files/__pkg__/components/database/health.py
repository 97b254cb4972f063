"""The database's health: a trivial query, its latency, the engine, and whether the schema is at head."""

from __future__ import annotations

import time

from sqlalchemy import text

from ...health.core import Health
from .engine import engine_name, get_engine
from .migrate import schema_status


async def check() -> Health:
    start = time.perf_counter()
    async with get_engine().connect() as conn:
        await conn.execute(text("SELECT 1"))
        version = await conn.run_sync(lambda c: c.dialect.server_version_info)
    latency_ms = round((time.perf_counter() - start) * 1000, 2)
    st = await schema_status()
    details = {
        "engine": engine_name(),
        "server_version": ".".join(map(str, version or ())),
        "query_latency_ms": latency_ms,
        "revision": st.current,
        "head": st.head,
        "at_head": st.at_head,
    }
    if not st.at_head:
        message = f"schema at {st.current or 'nothing'}, code needs {st.head}: run db upgrade"
        return Health.unhealthy(message, **details)
    return Health.healthy(f"{details['engine']} answers in {latency_ms} ms, schema at head", **details)
