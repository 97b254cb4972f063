"""The scheduler as the backend sees it: its last heartbeat, and each job's next run time."""

from __future__ import annotations

import time

from ...health.core import Health
from . import heartbeat

STALE_AFTER = 3  # heartbeats missed before the scheduler counts as down


def _job(job: dict) -> Health:
    last = job.get("last_run") or {}
    details = {
        "trigger": job.get("trigger"),
        "next_run_time": job.get("next_run_time"),
        "last_run": last or None,
    }
    if last and not last.get("ok"):
        return Health.warning(f"last run failed: {last.get('error')}", **details)
    return Health.healthy(f"next run {job.get('next_run_time') or 'not scheduled'}", **details)


def assess(beat: dict | None, now: float | None = None) -> Health:
    "The health of the scheduler from its heartbeat (`None`: never seen)."
    if beat is None:
        return Health.warning(
            "no heartbeat yet: is the scheduler process running? (scheduler start)", store=heartbeat.STORE
        )
    age = round((now or time.time()) - beat["at"], 1)
    details = {
        "store": heartbeat.STORE,
        "jobstore": beat.get("jobstore"),
        "heartbeat_age_s": age,
        "host": beat.get("host"),
        "pid": beat.get("pid"),
        "jobs": len(beat.get("jobs", [])),
    }
    children = {j["id"]: _job(j) for j in beat.get("jobs", [])}
    if beat.get("stopped"):
        status, message = "unhealthy", f"stopped {age:g}s ago"
    elif age > STALE_AFTER * beat.get("interval_s", 10):
        status, message = "unhealthy", f"no heartbeat for {age:g}s: the scheduler is down or stuck"
    else:
        status, message = "healthy", f"{len(children)} jobs, heartbeat {age:g}s ago"
    return Health(status=status, message=message, details=details, children=children)


async def check() -> Health:
    return assess(await heartbeat.read())
