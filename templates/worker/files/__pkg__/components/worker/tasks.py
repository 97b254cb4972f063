"""The task registry: plain async functions, each given a queue.

The backend (arq, Dramatiq or TaskIQ) turns every entry into one of its own tasks under the same
name, so the API, the CLI and the tests enqueue by name and never import the library. To add a
task, write an `async def` taking JSON-serialisable keyword arguments and add it to `TASKS`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Task:
    fn: Callable[..., Awaitable[Any]]
    queue: str = "default"
    max_tries: int | None = None  # None: WORKER_MAX_TRIES
    timeout: float | None = None  # seconds; None: WORKER_JOB_TIMEOUT


async def ping() -> str:
    "A quick job on the system queue: proves a worker answers."
    return "pong"


async def add(x: float = 1, y: float = 2) -> float:
    "A quick job."
    return x + y


async def slow(seconds: float = 5.0) -> dict[str, float]:
    "A slow job: what graceful shutdown has to protect."
    await asyncio.sleep(seconds)
    return {"slept": seconds}


class FlakyError(RuntimeError):
    "Raised on purpose by `flaky`."


async def flaky(fail_times: int = 1) -> dict[str, int]:
    "Fails on its first `fail_times` tries, then succeeds: shows retries (fails for good if tries run out)."
    from .common import attempt

    if attempt() <= fail_times:
        raise FlakyError(f"failing on purpose (try {attempt()} of {fail_times} planned failures)")
    return {"succeeded_on_try": attempt()}


TASKS: dict[str, Task] = {
    "ping": Task(ping, queue="system"),
    "add": Task(add),
    "slow": Task(slow),
    "flaky": Task(flaky),
}
