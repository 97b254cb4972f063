"""Is a worker alive on this host? The compose healthcheck: `python -m <package>.components.worker.alive`.

Each heartbeat that reaches Redis also writes, to a file in the temporary folder, the time until
which that beat holds (three intervals). This check reads only that file: no Redis client, no
settings, no app, so it costs a few milliseconds every 15 s instead of a second of imports.
It answers "a worker on this host reached Redis within its last three heartbeats".
Exit 0 alive, 1 not. `WORKER_ALIVE_FILE` moves the file (the tests give each run its own).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def alive_file() -> Path:
    default = Path(tempfile.gettempdir()) / f"{__package__ or 'worker'}.alive"
    return Path(os.environ.get("WORKER_ALIVE_FILE") or default)


def mark_alive(until: float) -> None:
    "Record a heartbeat that holds until `until` (write then rename: a reader never sees half a file)."
    path = alive_file()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{until:.3f}\n")
    os.replace(tmp, path)


def clear_alive() -> None:
    alive_file().unlink(missing_ok=True)


def seconds_left() -> float:
    "How long the last heartbeat on this host still holds (0 or less: none alive)."
    try:
        return float(alive_file().read_text()) - time.time()
    except (OSError, ValueError):
        return 0.0


def main() -> int:
    left = seconds_left()
    if left <= 0:
        print(f"no live worker heartbeat on this host ({alive_file()})")
        return 1
    print(f"a worker heartbeat on this host holds for {left:.1f} s more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
