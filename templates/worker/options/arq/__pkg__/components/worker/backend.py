"""The arq backend: asyncio jobs in a Redis sorted set per queue.

- One arq `Worker` per queue, all in one process and one event loop (arq serves one queue per
  `Worker`); each task of the registry is an arq function of the same name.
- Retries: arq retries only on `arq.Retry`; the wrapper raises it (with a growing delay) while tries
  remain, so a failing task is retried up to its `max_tries`.
- Job ids are `<namespace>-<queue>-<hex>` so the queue of a job (and its in-progress count) can be
  read from Redis without arq's help.
- Graceful shutdown: on SIGTERM/SIGINT the workers stop taking jobs and wait up to
  WORKER_SHUTDOWN_WAIT seconds; jobs still running are then cancelled and **re-run** by arq
  (cancelled jobs stay in the queue). A worker killed outright leaves its job in the queue with
  an in-progress key that expires WORKER_JOB_TIMEOUT + 10 s later; the next worker runs it again.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
import weakref
from typing import Any

from arq import Retry
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import in_progress_key_prefix
from arq.jobs import Job, JobStatus
from arq.worker import Worker, func

from ...settings import settings
from .common import QUEUES, Heartbeat, JobInfo, execute, max_tries, namespace, task_queue, timeout
from .tasks import TASKS

LIBRARY = "arq"

_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ArqRedis] = weakref.WeakKeyDictionary()


def queue_key(queue: str) -> str:
    return f"{namespace()}:{queue}"


def _redis_settings() -> RedisSettings:
    return RedisSettings.from_dsn(settings.redis_url)


async def pool() -> ArqRedis:
    "arq's Redis pool, one per event loop."
    loop = asyncio.get_running_loop()
    if loop not in _pools:
        _pools[loop] = await create_pool(_redis_settings())
    return _pools[loop]


async def startup() -> None:
    await pool()


async def shutdown() -> None:
    p = _pools.pop(asyncio.get_running_loop(), None)
    if p is not None:
        await p.aclose()


# --- producer side ----------------------------------------------------------------------------


async def enqueue(name: str, kwargs: dict[str, Any]) -> str:
    queue = task_queue(name)
    job_id = f"{namespace()}-{queue}-{uuid.uuid4().hex}"
    await (await pool()).enqueue_job(name, _job_id=job_id, _queue_name=queue_key(queue), **kwargs)
    return job_id


def _queue_of(job_id: str) -> str | None:
    parts = job_id.rsplit("-", 2)
    return parts[1] if len(parts) == 3 and parts[1] in QUEUES else None


async def status(job_id: str) -> JobInfo:
    queue = _queue_of(job_id)
    if queue is None:
        return JobInfo(id=job_id, status="not_found")
    job = Job(job_id, await pool(), _queue_name=queue_key(queue))
    st = await job.status()
    if st == JobStatus.complete:
        res = await job.result_info()
        if res is None:
            return JobInfo(id=job_id, status="not_found", queue=queue)
        if res.success:
            return JobInfo(id=job_id, status="complete", task=res.function, queue=queue, result=res.result)
        return JobInfo(
            id=job_id,
            status="failed",
            task=res.function,
            queue=queue,
            error=f"{type(res.result).__name__}: {res.result}",
        )
    mapping = {JobStatus.in_progress: "in_progress", JobStatus.queued: "queued", JobStatus.deferred: "queued"}
    if st in mapping:
        info = await job.info()
        return JobInfo(id=job_id, status=mapping[st], task=info.function if info else None, queue=queue)
    return JobInfo(id=job_id, status="not_found", queue=queue)


async def queue_stats() -> dict[str, dict[str, int]]:
    "arq keeps running jobs in the queue's sorted set, each with an in-progress key."
    p = await pool()
    out = {}
    for q in QUEUES:
        total = await p.zcard(queue_key(q))
        running = 0
        async for _ in p.scan_iter(match=f"{in_progress_key_prefix}{namespace()}-{q}-*", count=500):
            running += 1
        out[q] = {"queued": max(total - running, 0), "in_progress": running}
    return out


# --- worker side ------------------------------------------------------------------------------


def _arq_function(name: str):
    limit = max_tries(name)

    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        try_no = ctx["job_try"]
        try:
            return await execute(name, kwargs, try_no)
        except Exception as e:
            if try_no < limit:
                raise Retry(defer=min(2 ** (try_no - 1), 30)) from e
            raise

    return func(run, name=name, max_tries=limit, timeout=timeout(name))


async def _run(queues: list[str], concurrency: int) -> None:
    workers = [
        Worker(
            functions=[_arq_function(n) for n, t in TASKS.items() if t.queue == q],
            queue_name=queue_key(q),
            redis_settings=_redis_settings(),
            max_jobs=concurrency,
            handle_signals=False,
            job_completion_wait=settings.worker_shutdown_wait,
            health_check_interval=int(settings.worker_heartbeat_interval) or 1,
            keep_result=settings.worker_result_ttl,
        )
        for q in queues
    ]
    loop = asyncio.get_running_loop()

    def stop(sig: signal.Signals) -> None:
        for w in workers:  # each stops taking jobs, waits, then cancels what is left (arq re-runs it)
            w.handle_sig_wait_for_completion(sig)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig)
    with Heartbeat(queues, LIBRARY):
        try:
            await asyncio.gather(*(w.async_run() for w in workers), return_exceptions=True)
        finally:
            for w in workers:
                await w.close()


def run_worker(queues: list[str], concurrency: int) -> None:
    "Block running arq workers for `queues` until a signal."
    asyncio.run(_run(queues, concurrency))
