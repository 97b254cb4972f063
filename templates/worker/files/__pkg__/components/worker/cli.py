"""CLI groups of the worker: `worker start` runs a worker; `tasks enqueue|status|list` talk to the queues."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Any

import typer

from .tasks import TASKS

# `.common` and `.backend` load the Redis clients: imported inside the commands that use them, so
# the project's CLI (and `--help`) starts without them.

worker_app = typer.Typer(help="Run background workers.", no_args_is_help=True)
tasks_app = typer.Typer(help="Enqueue tasks and read their results.", no_args_is_help=True)


@worker_app.command("start")
def start(
    queue: Annotated[
        list[str] | None, typer.Option("--queue", "-q", help="Queue to consume (repeat; default: all).")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Jobs at once per queue (default: WORKER_CONCURRENCY).")
    ] = None,
) -> None:
    """Run a worker until SIGTERM/SIGINT; running jobs get WORKER_SHUTDOWN_WAIT seconds to finish."""
    from ...settings import settings
    from .. import start_process
    from . import backend
    from .common import QUEUES

    queues = list(queue or QUEUES)
    unknown = [q for q in queues if q not in QUEUES]
    if unknown:
        typer.echo(f"unknown queue {unknown[0]!r}: choose from {', '.join(QUEUES)}", err=True)
        raise typer.Exit(2)
    start_process()
    backend.run_worker(queues, concurrency or settings.worker_concurrency)


@worker_app.command("alive")
def alive() -> None:
    """Exit 0 if a worker on this host has a live heartbeat (the compose healthcheck)."""
    import socket

    from .common import alive_workers

    host = socket.gethostname()
    mine = [w for w in asyncio.run(alive_workers()) if w.get("host") == host]
    typer.echo(f"{len(mine)} worker(s) alive on {host}")
    raise typer.Exit(0 if mine else 1)


def _kwargs(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            typer.echo(f"cannot read argument {pair!r}: write it as key=value (JSON or text)", err=True)
            raise typer.Exit(2)
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


@tasks_app.command("enqueue")
def enqueue(
    name: Annotated[str, typer.Argument(help="Task name (see `tasks list`).")],
    args: Annotated[list[str] | None, typer.Argument(help="Keyword arguments as key=value.")] = None,
    wait: Annotated[float, typer.Option(min=0, help="Seconds to wait for the result (0: no wait).")] = 0.0,
) -> None:
    """Enqueue a task; print its job id (and its result with --wait)."""
    from . import backend
    from .common import UnknownTask, task_queue

    try:
        task_queue(name)
    except UnknownTask as e:
        typer.echo(str(e.args[0]), err=True)
        raise typer.Exit(2) from None
    kwargs = _kwargs(args or [])

    async def go() -> None:
        await backend.startup()
        try:
            job_id = await backend.enqueue(name, kwargs)
            typer.echo(job_id)
            deadline = time.monotonic() + wait
            while wait and time.monotonic() < deadline:
                info = await backend.status(job_id)
                if info.status in ("complete", "failed"):
                    typer.echo(info.model_dump_json())
                    if info.status == "failed":
                        raise typer.Exit(1)
                    return
                await asyncio.sleep(0.1)
            if wait:
                typer.echo(f"no result after {wait:g}s; ask again with `tasks status {job_id}`", err=True)
                raise typer.Exit(1)
        finally:
            await backend.shutdown()

    asyncio.run(go())


@tasks_app.command("status")
def status(job_id: Annotated[str, typer.Argument(help="A job id printed by `tasks enqueue`.")]) -> None:
    """Print a job's status and result as JSON (exit 1 if unknown or failed)."""
    from . import backend

    async def go():
        await backend.startup()
        try:
            return await backend.status(job_id)
        finally:
            await backend.shutdown()

    info = asyncio.run(go())
    typer.echo(info.model_dump_json())
    if info.status in ("not_found", "failed"):
        raise typer.Exit(1)


@tasks_app.command("list")
def list_tasks() -> None:
    """The registered tasks and their queues."""
    for name, t in TASKS.items():
        typer.echo(f"{name}\t{t.queue}")
