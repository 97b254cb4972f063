"""Redis: one async client (one connection pool) per process, cache helpers, publish/subscribe.

- `client.py`: `get_redis()`, `key()`, JSON get/set with a TTL, the `cached` decorator.
- `pubsub.py`: `publish()`, `subscribe()`, and the health watcher that publishes status changes.
- `routes.py`: an example of a cached response (`GET /cache/example`).
- `cli.py`: `ping`, `publish`, `listen` (a subscriber that prints messages).

The names below are imported on first use, so the CLI starts without loading the Redis client.
"""

import importlib

_EXPORTS = {
    "cache_get": ".client",
    "cache_set": ".client",
    "cached": ".client",
    "check": ".health",
    "close_redis": ".client",
    "get_redis": ".client",
    "key": ".client",
    "lifespan": ".pubsub",
    "publish": ".pubsub",
    "subscribe": ".pubsub",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
