"""Redis: one async client (one connection pool) per process, cache helpers, publish/subscribe.

- `client.py`: `get_redis()`, `key()`, JSON get/set with a TTL, the `cached` decorator.
- `pubsub.py`: `publish()`, `subscribe()`, and the health watcher that publishes status changes.
- `routes.py`: an example of a cached response (`GET /cache/example`).
- `cli.py`: `ping`, `listen` (a subscriber that prints messages).
"""

from .client import cache_get, cache_set, cached, close_redis, get_redis, key
from .health import check
from .pubsub import lifespan, publish, subscribe

__all__ = ["cache_get", "cache_set", "cached", "check", "close_redis", "get_redis", "key", "lifespan",
           "publish", "subscribe"]
