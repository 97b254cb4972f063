"""The database: SQLModel models, async sessions, Alembic migrations, backups and the health check.

- `engine.py`: one async engine per process (pool sized for the engine in use) and sessions.
- `migrate.py`: the Alembic setup, where the schema stands, the startup guard.
- `models.py` / `items.py`: the example resource (a model and its CRUD endpoints).
- `backup.py`: SQLite's online backup API or `pg_dump`, keeping the newest N files.
- `cli.py`: the project CLI's `db` group: `upgrade | current | revision -m MSG | backup`.

The names below are imported on first use, so the CLI starts without loading SQLAlchemy.
"""

import importlib

_EXPORTS = {
    "check": ".health",
    "dispose_engine": ".engine",
    "get_engine": ".engine",
    "get_session": ".engine",
    "lifespan": ".migrate",
    "session": ".engine",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
