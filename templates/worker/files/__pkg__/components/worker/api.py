"""HTTP API of the worker: enqueue a task by name, read a job's status and result, list tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, HTTPException

from . import backend
from .common import QUEUES, JobInfo, UnknownTask, task_queue
from .tasks import TASKS

router = APIRouter(prefix="/tasks", tags=["tasks"])


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    "Open the library's producer side with the app, close it at shutdown."
    await backend.startup()
    try:
        yield
    finally:
        await backend.shutdown()


@router.get("")
async def list_tasks() -> dict[str, Any]:
    "The registered tasks and their queues."
    return {
        "library": backend.LIBRARY,
        "queues": list(QUEUES),
        "tasks": {name: t.queue for name, t in TASKS.items()},
    }


@router.post("/{name}", status_code=202)
async def enqueue(name: str, kwargs: Annotated[dict[str, Any] | None, Body()] = None) -> JobInfo:
    "Enqueue task `name` with the JSON body as keyword arguments."
    try:
        queue = task_queue(name)
    except UnknownTask as e:
        raise HTTPException(404, str(e.args[0])) from None
    job_id = await backend.enqueue(name, kwargs or {})
    return JobInfo(id=job_id, status="queued", task=name, queue=queue)


@router.get("/{job_id}")
async def status(job_id: str) -> JobInfo:
    "Status of a job, with its result (or error) once finished."
    info = await backend.status(job_id)
    if info.status == "not_found":
        raise HTTPException(404, f"no job {job_id!r} (never enqueued, or its result expired)")
    return info
