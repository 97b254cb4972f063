"""The scheduler: APScheduler 3 in a process of its own (`scheduler start`), never in the web workers.

- `jobs.py`: the jobs (interval and cron examples, the database backup when there is a database).
- `runner.py`: the scheduler process: job stores, executors, the heartbeat job, clean shutdown.
- `heartbeat.py`: where the scheduler says it is alive (Redis, the database, or a file).
- `health.py`: the backend's view of the scheduler, with each job's next run time.
- `cli.py`: `scheduler start | jobs | run JOB | status`.
"""

import importlib

__all__ = ["check"]


def __getattr__(name: str):
    if name == "check":  # imported on first use: the CLI starts without the heartbeat store's client
        return importlib.import_module(".health", __name__).check
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
