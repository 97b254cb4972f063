"""Background jobs: the task registry (`tasks`), what all backends share (`common`), the library
chosen at generation (`backend`), the HTTP API (`api`), the CLI groups (`cli`) and the container's
healthcheck (`alive`, standard library only).

The names below are imported on first use: `python -m <package>.components.worker.alive` and the CLI
start without loading Redis clients.
"""

import importlib

_EXPORTS = {"QUEUES": ".common", "JobInfo": ".common", "check": ".common"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
