"""The TaskIQ backend: one taskiq-redis stream broker per queue, results in taskiq-redis' backend.

- A queue is a Redis stream read by a consumer group (`RedisStreamBroker`): a message is
  acknowledged only after its result is saved, so a job is never lost with its worker.
- Each task of the registry is a TaskIQ task of the same name on its queue's broker; a worker runs
  one TaskIQ `Receiver` per queue in one event loop.
- Retries: TaskIQ's `SimpleRetryMiddleware` (re-sent at once, same task id), the task's tries as
  its `max_retries` label. Results and final errors: `RedisAsyncResultBackend`.
- A job's status is `pending` until its result is saved (TaskIQ does not record which messages
  run); per queue counts come from the stream's consumer group (`lag` = not yet delivered,
  `pending` = delivered and not acknowledged, i.e. running or left by a dead worker).
- Graceful shutdown: on SIGTERM/SIGINT the receivers stop fetching and wait up to
  WORKER_SHUTDOWN_WAIT seconds for running jobs. A job unfinished then, or whose worker was
  killed, stays unacknowledged and is **redelivered** (XAUTOCLAIM) to a live worker once idle for
  WORKER_JOB_TIMEOUT + 5 s.
"""

from __future__ import annotations

import asyncio
import contextvars
import signal
import weakref
from typing import Any

from taskiq import AsyncBroker, SimpleRetryMiddleware, TaskiqMessage, TaskiqMiddleware
from taskiq.kicker import AsyncKicker
from taskiq.receiver import Receiver
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from ...settings import settings
from .common import QUEUES, Heartbeat, JobInfo, async_redis, execute, max_tries, timeout
from .tasks import TASKS

LIBRARY = "taskiq"


def _result_backend() -> RedisAsyncResultBackend:
    return RedisAsyncResultBackend(
        settings.redis_url,
        result_ex_time=settings.worker_result_ttl,
        prefix_str=f"{settings.worker_namespace}-results",
    )


# Acknowledged entries stay in a stream until trimmed: keep about this many per queue (a backlog
# longer than this would lose its oldest undelivered jobs; raise it if yours can grow that far).
_MAXLEN = 100_000


def stream(queue: str) -> str:
    return f"{settings.worker_namespace}:{queue}"


_try_no: contextvars.ContextVar[int] = contextvars.ContextVar("try_no", default=1)


class _TryNumber(TaskiqMiddleware):
    "Hands the task its try number (TaskIQ counts retries in the `_retries` label)."

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        _try_no.set(int(message.labels.get("_retries", 0)) + 1)  # same asyncio task as the call
        return message


def _stream_broker(queue: str) -> RedisStreamBroker:
    longest = max(
        (timeout(n) for n, t in TASKS.items() if t.queue == queue), default=settings.worker_job_timeout
    )
    return RedisStreamBroker(
        settings.redis_url,
        queue_name=stream(queue),
        consumer_group_name="workers",
        idle_timeout=int((longest + 5) * 1000),
        maxlen=_MAXLEN,
    )


def _broker(queue: str) -> AsyncBroker:
    "The worker's broker of `queue`, with the registry's tasks, results and retries."
    return (
        _stream_broker(queue)
        .with_result_backend(_result_backend())
        .with_middlewares(
            SimpleRetryMiddleware(default_retry_count=settings.worker_max_tries, default_retry_label=True),
            _TryNumber(),
        )
    )


BROKERS: dict[str, AsyncBroker] = {q: _broker(q) for q in QUEUES}


def _task(name: str):
    async def run(kwargs: dict[str, Any]) -> Any:
        return await execute(name, kwargs, _try_no.get())

    # labels travel with every message: only those that differ from the broker's defaults
    labels: dict[str, Any] = {"timeout": timeout(name)}
    if max_tries(name) != settings.worker_max_tries:
        labels["max_retries"] = max_tries(name)
    return BROKERS[TASKS[name].queue].register_task(run, task_name=name, **labels)


KICKERS = {name: _task(name) for name in TASKS}


# --- producer side ----------------------------------------------------------------------------
#
# taskiq-redis' connection pools belong to the event loop that first used them, and the API, the CLI
# and tests may run several loops (even at once, in threads): producers get brokers of their own per
# loop (kicking needs no registered task, only its name and labels).

_producers: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[dict[str, RedisStreamBroker], RedisAsyncResultBackend]
] = weakref.WeakKeyDictionary()


async def _producer() -> tuple[dict[str, RedisStreamBroker], RedisAsyncResultBackend]:
    loop = asyncio.get_running_loop()
    if loop not in _producers:
        brokers = {q: _stream_broker(q) for q in QUEUES}
        for b in brokers.values():
            await b.startup()  # creates the consumer group before the first message
        _producers[loop] = (brokers, _result_backend())
    return _producers[loop]


async def startup() -> None:
    await _producer()


async def shutdown() -> None:
    entry = _producers.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        for b in entry[0].values():
            await b.shutdown()
        await entry[1].shutdown()


async def enqueue(name: str, kwargs: dict[str, Any]) -> str:
    brokers, _ = await _producer()
    kicker = AsyncKicker(task_name=name, broker=brokers[TASKS[name].queue], labels=dict(KICKERS[name].labels))
    return (await kicker.kiq(kwargs)).task_id


async def status(job_id: str) -> JobInfo:
    _, result_backend = await _producer()
    if not await result_backend.is_result_ready(job_id):
        # a task id taskiq never saw looks the same as one still waiting: say so honestly
        return JobInfo(id=job_id, status="pending")
    res = await result_backend.get_result(job_id)
    if res.is_err:
        return JobInfo(id=job_id, status="failed", error=f"{type(res.error).__name__}: {res.error}")
    return JobInfo(id=job_id, status="complete", result=res.return_value)


async def queue_stats() -> dict[str, dict[str, int]]:
    client, out = async_redis(), {}
    for q in QUEUES:
        out[q] = {"queued": 0, "in_progress": 0}
        if not await client.exists(stream(q)):
            continue
        group = next((g for g in await client.xinfo_groups(stream(q)) if g["name"] == "workers"), None)
        if group is None:  # no producer or worker started yet: nothing was read
            out[q]["queued"] = await client.xlen(stream(q))
        else:
            out[q] = {"queued": int(group.get("lag") or 0), "in_progress": int(group["pending"])}
    return out


# --- worker side ------------------------------------------------------------------------------


async def _run(queues: list[str], concurrency: int) -> None:
    finish = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, finish.set)
    receivers = []
    for q in queues:
        BROKERS[q].is_worker_process = True
        receivers.append(
            Receiver(
                BROKERS[q],
                max_async_tasks=concurrency,
                max_prefetch=0,
                run_startup=True,
                wait_tasks_timeout=settings.worker_shutdown_wait,
            )
        )
    with Heartbeat(queues, LIBRARY):
        try:
            await asyncio.gather(*(r.listen(finish) for r in receivers))
        finally:
            for q in queues:
                await BROKERS[q].shutdown()


def run_worker(queues: list[str], concurrency: int) -> None:
    "Block running TaskIQ receivers for `queues` until a signal."
    asyncio.run(_run(queues, concurrency))
