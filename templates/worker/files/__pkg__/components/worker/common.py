"""What the three worker backends share: queues, the job model, the task runner, heartbeats, health.

The backend module (`backend.py`, written for the library chosen at generation: arq, Dramatiq or
TaskIQ) owns everything the library does its own way: connections, enqueueing, results, retries,
the worker loop. This module owns only what is the same for all of them.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import socket
import threading
import time
import weakref
from typing import Any, Literal

import redis
import redis.asyncio as aioredis
from pydantic import BaseModel

from ...health.core import Health
from ...settings import settings
from .alive import clear_alive, mark_alive
from .tasks import TASKS

# Every queue has its own consumers; `system` is kept for short housekeeping jobs so that a backlog
# of slow `default` jobs never delays them. A worker may serve a subset (`worker start -q system`).
QUEUES: tuple[str, ...] = ("system", "default")

JobStatus = Literal["queued", "in_progress", "pending", "complete", "failed", "not_found"]


class JobInfo(BaseModel):
    "What `GET /tasks/{id}` and `tasks status ID` show."

    id: str
    status: JobStatus
    task: str | None = None
    queue: str | None = None
    result: Any = None
    error: str | None = None


class UnknownTask(KeyError):
    "No task of that name in the registry."


def namespace() -> str:
    "Prefix of every Redis key of this project's queues (several projects may share one Redis)."
    return settings.worker_namespace


def task_queue(name: str) -> str:
    if name not in TASKS:
        raise UnknownTask(f"unknown task {name!r}: choose from {', '.join(TASKS)}")
    return TASKS[name].queue


# --- running a task --------------------------------------------------------------------------

_attempt: contextvars.ContextVar[int] = contextvars.ContextVar("attempt", default=1)


def attempt() -> int:
    "Which try of the current job this is (1 for the first), whatever the library counts."
    return _attempt.get()


def max_tries(name: str) -> int:
    return TASKS[name].max_tries or settings.worker_max_tries


def timeout(name: str) -> float:
    return TASKS[name].timeout or settings.worker_job_timeout


async def execute(name: str, kwargs: dict[str, Any], try_no: int) -> Any:
    """Run task `name` as try number `try_no`; the backend's wrapper decides how to retry.

    A failure on the last allowed try is counted per queue (the library keeps the error itself)."""
    token = _attempt.set(try_no)
    try:
        return await TASKS[name].fn(**kwargs)
    except Exception:
        if try_no >= max_tries(name):
            await count_failure(TASKS[name].queue)
        raise
    finally:
        _attempt.reset(token)


# --- Redis ------------------------------------------------------------------------------------

_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def async_redis() -> aioredis.Redis:
    "An asyncio client per event loop (the CLI and tests run several loops in one process)."
    loop = asyncio.get_running_loop()
    if loop not in _async_clients:
        _async_clients[loop] = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    return _async_clients[loop]


def sync_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url, decode_responses=True)


def _failed_key(queue: str) -> str:
    return f"{namespace()}:failed:{queue}"


async def count_failure(queue: str) -> None:
    await async_redis().incr(_failed_key(queue))


async def failed_counts() -> dict[str, int]:
    values = await async_redis().mget([_failed_key(q) for q in QUEUES])
    return {q: int(v or 0) for q, v in zip(QUEUES, values, strict=True)}


# --- worker liveness --------------------------------------------------------------------------


def _heartbeat_prefix() -> str:
    return f"{namespace()}:worker:heartbeat:"


class Heartbeat:
    """A thread that keeps `<ns>:worker:heartbeat:<host>:<pid>` alive while the worker runs.

    The key expires three intervals after the last beat, so a killed worker disappears on its own;
    a worker that stops cleanly deletes it at once. A thread (not a task) so that a worker whose
    event loop is busy or blocked still counts as alive only while its process is."""

    def __init__(self, queues: list[str], library: str):
        self.key = f"{_heartbeat_prefix()}{socket.gethostname()}:{os.getpid()}"
        self.info = json.dumps(
            {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "queues": queues,
                "library": library,
                "started": round(time.time(), 3),
            }
        )
        self.interval = settings.worker_heartbeat_interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)

    def _run(self) -> None:
        client = sync_redis()
        ttl = max(1, int(self.interval * 3))
        while not self._stop.is_set():
            try:
                client.set(self.key, self.info, ex=ttl)
                mark_alive(time.time() + ttl)  # what the container's healthcheck reads
            except (redis.RedisError, OSError):
                pass  # Redis away: the key and the file expire and the health tree says so
            self._stop.wait(self.interval)
        try:
            clear_alive()
            client.delete(self.key)
        finally:
            client.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


async def alive_workers() -> list[dict[str, Any]]:
    "The workers whose heartbeat has not expired."
    client = async_redis()
    keys = [k async for k in client.scan_iter(match=_heartbeat_prefix() + "*", count=200)]
    values = await client.mget(keys) if keys else []
    return [json.loads(v) for v in values if v]


# --- health -----------------------------------------------------------------------------------


async def check() -> Health:
    """Per queue: queued, in progress, failed, and how many live workers consume it.

    Unhealthy when no worker is alive (jobs would wait for ever) or a queue has no consumer."""
    from . import backend

    stats, failed, workers = await asyncio.gather(backend.queue_stats(), failed_counts(), alive_workers())
    children = {}
    for q in QUEUES:
        s = {**stats.get(q, {"queued": 0, "in_progress": 0}), "failed": failed[q]}
        s["workers"] = sum(q in w.get("queues", ()) for w in workers)
        text = f"{s['queued']} queued, {s['in_progress']} in progress, {s['failed']} failed"
        children[q] = (
            Health.healthy(text, **s)
            if s["workers"]
            else Health.unhealthy(f"no live worker consumes it; {text}", **s)
        )
    details = {
        "library": backend.LIBRARY,
        "workers": len(workers),
        "hosts": sorted(f"{w.get('host')}:{w.get('pid')}" for w in workers),
    }
    if not workers:
        return Health(
            status="unhealthy",
            message=f"no {backend.LIBRARY} worker alive: start one with "
            "`worker start` (or the `worker` compose service)",
            details=details,
            children=children,
        )
    return Health(
        status="healthy",
        message=f"{len(workers)} {backend.LIBRARY} worker(s) alive",
        details=details,
        children=children,
    )
