"""Background jobs: the task registry (`tasks`), what all backends share (`common`), the library
chosen at generation (`backend`), the HTTP API (`api`) and the CLI groups (`cli`)."""

from .common import QUEUES, JobInfo, check

__all__ = ["QUEUES", "JobInfo", "check"]
