"""The health model and its runner.

Every check is an `async def check() -> Health`. The runner runs the checks concurrently, gives
each one a timeout, measures its latency and turns exceptions into `unhealthy`. Results are kept
for a short time per process (`HEALTH_CACHE_TTL`), and concurrent callers share one run, so Docker
healthchecks, load balancers and dashboards can poll as often as they like.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal["healthy", "warning", "unhealthy"]
_RANK = {"healthy": 0, "warning": 1, "unhealthy": 2}


def worst(statuses: Iterable[Status]) -> Status:
    "The worst of `statuses` (healthy when there are none)."
    return max(statuses, key=_RANK.__getitem__, default="healthy")


class Health(BaseModel):
    "What a check returns: its status, a one-line message, details, and optional sub-checks."

    status: Status = "healthy"
    message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    children: dict[str, Health] = Field(default_factory=dict)

    # Shortcuts: keyword arguments other than `children` become details.
    @classmethod
    def healthy(cls, message: str = "ok", children: dict | None = None, **details: Any) -> Health:
        return cls(status="healthy", message=message, details=details, children=children or {})

    @classmethod
    def warning(cls, message: str, children: dict | None = None, **details: Any) -> Health:
        return cls(status="warning", message=message, details=details, children=children or {})

    @classmethod
    def unhealthy(cls, message: str, children: dict | None = None, **details: Any) -> Health:
        return cls(status="unhealthy", message=message, details=details, children=children or {})


class ComponentHealth(BaseModel):
    "One node of the health tree as served by `/health`."

    status: Status
    message: str = ""
    latency_ms: float | None = None
    critical: bool = False
    details: dict[str, Any] = Field(default_factory=dict)
    components: dict[str, ComponentHealth] = Field(default_factory=dict)


class HealthReport(BaseModel):
    "The whole tree: the overall status is the worst status of its components."

    status: Status
    service: str
    version: str
    checked_at: float = Field(description="Unix time the checks ran")
    duration_ms: float
    components: dict[str, ComponentHealth]

    @property
    def http_status(self) -> int:
        "200 while the service is healthy (warnings included), 503 when something is unhealthy."
        return 503 if self.status == "unhealthy" else 200


CheckFunc = Callable[[], Awaitable[Health]] | Callable[[], Health]


@dataclass(frozen=True)
class Check:
    "A named check; `critical` ones make up `/health/ready`."

    name: str
    func: CheckFunc
    critical: bool = False


def _node(h: Health, latency_ms: float | None = None, critical: bool = False) -> ComponentHealth:
    kids = {k: _node(v) for k, v in h.children.items()}
    status = worst([h.status, *(k.status for k in kids.values())])
    return ComponentHealth(
        status=status,
        message=h.message,
        latency_ms=latency_ms,
        critical=critical,
        details=h.details,
        components=kids,
    )


class HealthRunner:
    "Runs checks concurrently with a per-check timeout; keeps results `ttl` seconds."

    def __init__(
        self,
        checks: Iterable[Check],
        timeout: float = 2.0,
        ttl: float = 1.0,
        service: str = "",
        version: str = "",
    ):
        self.checks = list(checks)
        self.timeout, self.ttl = timeout, ttl
        self.service, self.version = service, version
        self._cache: dict[bool, tuple[float, HealthReport, bytes]] = {}
        self._running: dict[bool, asyncio.Task] = {}

    async def run_check(self, check: Check) -> ComponentHealth:
        "Run one check: exceptions and timeouts become `unhealthy`; sync checks run in a thread."
        start = time.perf_counter()
        try:
            if inspect.iscoroutinefunction(check.func):
                result = await asyncio.wait_for(check.func(), self.timeout)
            else:  # a plain function may block: keep it off the event loop
                result = await asyncio.wait_for(asyncio.to_thread(check.func), self.timeout)
            if not isinstance(result, Health):
                result = Health.unhealthy(f"check returned {type(result).__name__}, not Health")
        except TimeoutError:
            result = Health.unhealthy(f"timed out after {self.timeout:g}s")
        except Exception as e:  # a failing check is a finding, not a crash
            result = Health.unhealthy(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
        latency = round((time.perf_counter() - start) * 1000, 2)
        return _node(result, latency, check.critical)

    async def _run(self, critical_only: bool) -> tuple[HealthReport, bytes]:
        checks = [c for c in self.checks if c.critical or not critical_only]
        start, now = time.perf_counter(), time.time()
        nodes = await asyncio.gather(*(self.run_check(c) for c in checks))
        report = HealthReport(
            status=worst(n.status for n in nodes),
            service=self.service,
            version=self.version,
            checked_at=round(now, 3),
            duration_ms=round((time.perf_counter() - start) * 1000, 2),
            components={c.name: n for c, n in zip(checks, nodes, strict=True)},
        )
        return report, report.model_dump_json().encode()

    async def _cached(self, critical_only: bool) -> tuple[HealthReport, bytes]:
        hit = self._cache.get(critical_only)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1], hit[2]
        task = self._running.get(critical_only)
        # callers arriving while a run is in progress share it (one run per loop at a time)
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(self._run(critical_only))
            self._running[critical_only] = task
        report, body = await asyncio.shield(task)
        if self.ttl > 0:
            self._cache[critical_only] = (time.monotonic(), report, body)
        return report, body

    async def report(self, critical_only: bool = False) -> HealthReport:
        "The health tree (only the critical checks when `critical_only`)."
        return (await self._cached(critical_only))[0]

    async def response(self, critical_only: bool = False) -> tuple[int, bytes]:
        "HTTP status and JSON body, both cached: what the endpoints serve."
        report, body = await self._cached(critical_only)
        return report.http_status, body

    def clear(self) -> None:
        "Forget cached results (the next call runs the checks)."
        self._cache.clear()
