"""`cache ...`: talk to Redis from the command line."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

app = typer.Typer(help="Redis: ping, publish, listen.", no_args_is_help=True)


@app.command()
def ping() -> None:
    """Check that Redis answers (exit 1 when it does not)."""
    from .client import close_redis
    from .health import check

    async def run():
        try:
            return await check()
        finally:
            await close_redis()

    try:
        h = asyncio.run(run())
    except Exception as e:
        typer.echo(f"Redis unreachable: {type(e).__name__}: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{h.message}: {json.dumps(h.details)}")


@app.command()
def publish(channel: str, message: Annotated[str, typer.Argument(help="A JSON object, or text.")]) -> None:
    """Publish MESSAGE on CHANNEL."""
    from .client import close_redis
    from .pubsub import publish as send

    try:
        data = json.loads(message)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {"text": message}

    async def run() -> int:
        try:
            return await send(channel, data)
        finally:
            await close_redis()

    typer.echo(f"delivered to {asyncio.run(run())} subscriber(s)")


@app.command()
def listen(
    channels: Annotated[list[str] | None, typer.Argument(help="Channels (default: health).")] = None,
    count: Annotated[int, typer.Option(min=0, help="Stop after this many messages (0 = never).")] = 0,
) -> None:
    """Print the messages published on CHANNELS, one JSON object a line (Ctrl-C to stop)."""
    from .client import close_redis
    from .pubsub import subscribe

    async def run() -> None:
        try:
            async with subscribe(*(channels or ["health"])) as messages:
                seen = 0
                async for m in messages:
                    typer.echo(json.dumps(m))
                    seen += 1
                    if count and seen >= count:
                        return
        finally:
            await close_redis()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
