"""An example of a cached response: `GET /cache/example/{n}` is slow the first time, then served
from Redis until the entry expires (the `X-Cache` header says which)."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Response

from .client import cached

router = APIRouter(prefix="/cache", tags=["cache"])


@cached("example", ttl=30)
async def slow_square(n: int) -> dict:
    await asyncio.sleep(0.2)  # stands for a slow query or a call to another service
    return {"n": n, "square": n * n, "computed_at": time.time()}


@router.get("/example/{n}")
async def example(n: int, response: Response) -> dict:
    response.headers["X-Cache"] = "miss" if await slow_square.lookup(n) is None else "hit"
    return await slow_square(n)
