"""The Dramatiq backend: actors on Dramatiq's Redis broker, results in its Redis result backend.

- Each task of the registry is a Dramatiq actor of the same name on its queue; the actor runs the
  async task on the event-loop thread of Dramatiq's `AsyncIO` middleware.
- Retries: Dramatiq's `Retries` middleware (exponential backoff from 0.5 s), `max_retries` =
  the task's tries - 1. Results and final errors: Dramatiq's `Results` middleware.
- Job ids are `<task>.<message id>`: the result key needs the actor name.
- Dramatiq does not track whether one message is waiting or running, so a job's status is
  `pending` until its result is stored; per queue counts come from the broker's keys (queue list,
  delay queue, and each worker's ack set = messages taken by a worker).
- Graceful shutdown: on SIGTERM/SIGINT the worker stops fetching, lets running messages finish for
  up to WORKER_SHUTDOWN_WAIT seconds and puts prefetched ones back. A message still running then
  (or whose worker was killed) stays in that worker's ack set and is **re-queued** by Dramatiq once
  the worker's broker heartbeat is older than 3 x WORKER_HEARTBEAT_INTERVAL (any live process of
  the project performs this maintenance), so it runs again on the next worker.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.message import Message
from dramatiq.middleware import AsyncIO, CurrentMessage
from dramatiq.results import ResultFailure, ResultMissing, Results
from dramatiq.results.backends.redis import RedisBackend

from ...settings import settings
from .common import QUEUES, Heartbeat, JobInfo, async_redis, execute, max_tries, namespace, timeout
from .tasks import TASKS

LIBRARY = "dramatiq"

# One in 20 broker commands also re-queues the messages of dead workers (Dramatiq's default is 1 in
# 1000, which can leave a killed worker's job waiting for minutes on a quiet queue).
_MAINTENANCE_CHANCE = 50_000

result_backend = RedisBackend(url=settings.redis_url, namespace=f"{settings.worker_namespace}-results")
broker = RedisBroker(
    url=settings.redis_url,
    namespace=settings.worker_namespace,
    heartbeat_timeout=int(settings.worker_heartbeat_interval * 3000),
    maintenance_chance=_MAINTENANCE_CHANCE,
)
broker.add_middleware(Results(backend=result_backend, result_ttl=settings.worker_result_ttl * 1000))
broker.add_middleware(CurrentMessage())
broker.add_middleware(AsyncIO())
dramatiq.set_broker(broker)


def _actor(name: str) -> dramatiq.Actor:
    def run(**kwargs: Any) -> Any:
        message = CurrentMessage.get_current_message()
        try_no = (message.options.get("retries", 0) if message else 0) + 1
        return get_event_loop_thread().run_coroutine(execute(name, kwargs, try_no))

    run.__name__ = name
    return dramatiq.actor(
        run,
        actor_name=name,
        queue_name=TASKS[name].queue,
        broker=broker,
        max_retries=max_tries(name) - 1,
        min_backoff=500,
        max_backoff=30_000,
        time_limit=int(timeout(name) * 1000),
        store_results=True,
    )


ACTORS: dict[str, dramatiq.Actor] = {name: _actor(name) for name in TASKS}


async def startup() -> None:
    "Nothing to open: the broker connects on first use."


async def shutdown() -> None:
    "Nothing to close: the broker's pool lives as long as the process."


# --- producer side ----------------------------------------------------------------------------


async def enqueue(name: str, kwargs: dict[str, Any]) -> str:
    message = await asyncio.to_thread(ACTORS[name].send_with_options, kwargs=kwargs)
    return f"{name}.{message.message_id}"


def _result(name: str, message_id: str) -> JobInfo:
    job_id, queue = f"{name}.{message_id}", TASKS[name].queue
    probe = Message(queue_name=queue, actor_name=name, args=(), kwargs={}, options={}, message_id=message_id)
    try:
        value = result_backend.get_result(probe, block=False)
    except ResultMissing:
        return JobInfo(id=job_id, status="pending", task=name, queue=queue)
    except ResultFailure as e:
        return JobInfo(
            id=job_id, status="failed", task=name, queue=queue, error=f"{e.orig_exc_type}: {e.orig_exc_msg}"
        )
    return JobInfo(id=job_id, status="complete", task=name, queue=queue, result=value)


async def status(job_id: str) -> JobInfo:
    name, _, message_id = job_id.partition(".")
    if name not in TASKS or not message_id:
        return JobInfo(id=job_id, status="not_found")
    return await asyncio.to_thread(_result, name, message_id)


async def queue_stats() -> dict[str, dict[str, int]]:
    client, ns = async_redis(), namespace()
    out = {}
    for q in QUEUES:
        waiting = await client.llen(f"{ns}:{q}") + await client.llen(f"{ns}:{q}.DQ")
        taken = delayed = 0
        async for key in client.scan_iter(match=f"{ns}:__acks__.*.{q}*", count=500):
            n = await client.scard(key)
            if key.endswith(".DQ"):
                delayed += n  # retries waiting for their time, held by a worker
            elif key.endswith(f".{q}"):
                taken += n
        out[q] = {"queued": waiting + delayed, "in_progress": taken}
    return out


# --- worker side ------------------------------------------------------------------------------


def run_worker(queues: list[str], concurrency: int) -> None:
    "Block running a Dramatiq worker for `queues` until a signal."
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker = dramatiq.Worker(broker, queues=set(queues), worker_threads=concurrency * len(queues))
    with Heartbeat(queues, LIBRARY):
        worker.start()
        while not stop.wait(1):
            pass
        worker.stop(timeout=int(settings.worker_shutdown_wait * 1000))
