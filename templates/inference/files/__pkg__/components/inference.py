"""Ollama: a small async client, the health check, an example endpoint and the `inference` CLI group.

Only the parts of Ollama's HTTP API this project uses are wrapped: `/api/version`, `/api/tags`
(installed models), `/api/generate` (whole answer or streamed NDJSON) and `/api/pull`.
The server is an `ollama` container in compose, or any server named by `OLLAMA_URL` in `.env`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import typer
from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from ..health.core import Health
from ..settings import settings


class OllamaError(RuntimeError):
    "The Ollama server could not be reached or answered with an error."


class OllamaClient:
    "An async client for the Ollama endpoints this project uses: `async with OllamaClient() as c:`."

    def __init__(
        self,
        base_url: str | None = None,
        timeout: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.base_url = (base_url or settings.ollama_url).rstrip("/")
        # generation can take minutes on a CPU: only connecting is kept short
        t = timeout if timeout is not None else settings.ollama_timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url, transport=transport, timeout=httpx.Timeout(t, connect=min(t, 5.0))
        )

    async def __aenter__(self) -> OllamaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _off(self) -> None:
        if not self.base_url:
            raise OllamaError("inference is off here: OLLAMA_URL is empty")

    async def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        self._off()
        try:
            r = await self._http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise OllamaError(f"cannot reach Ollama at {self.base_url}: {type(e).__name__}: {e}") from e
        if r.status_code >= 400:
            raise OllamaError(f"Ollama {method} {path} answered {r.status_code}: {_error_text(r.text)}")
        return r

    async def _lines(self, path: str, body: dict) -> AsyncIterator[dict]:
        "POST `body` and yield the NDJSON objects of a streamed answer."
        self._off()
        try:
            async with self._http.stream("POST", path, json=body) as r:
                if r.status_code >= 400:
                    text = (await r.aread()).decode(errors="replace")
                    raise OllamaError(f"Ollama POST {path} answered {r.status_code}: {_error_text(text)}")
                async for line in r.aiter_lines():
                    if not line.strip():
                        continue
                    obj = json.loads(line)
                    if "error" in obj:
                        raise OllamaError(f"Ollama POST {path}: {obj['error']}")
                    yield obj
        except httpx.HTTPError as e:
            raise OllamaError(f"cannot reach Ollama at {self.base_url}: {type(e).__name__}: {e}") from e

    async def version(self) -> str:
        return (await self._request("GET", "/api/version")).json().get("version", "")

    async def models(self) -> list[dict]:
        "The installed models (`name`, `size`, `details`...)."
        return (await self._request("GET", "/api/tags")).json().get("models", [])

    async def generate(self, prompt: str, model: str | None = None, **options: Any) -> dict:
        "The whole answer at once (`response`, `done`, timings)."
        body = {"model": model or settings.ollama_model, "prompt": prompt, "stream": False, **_opts(options)}
        return (await self._request("POST", "/api/generate", json=body)).json()

    async def stream(self, prompt: str, model: str | None = None, **options: Any) -> AsyncIterator[str]:
        "The answer piece by piece, as the model produces it."
        body = {"model": model or settings.ollama_model, "prompt": prompt, "stream": True, **_opts(options)}
        async for obj in self._lines("/api/generate", body):
            if obj.get("response"):
                yield obj["response"]
            if obj.get("done"):
                return

    async def pull(self, model: str) -> AsyncIterator[dict]:
        "Download `model` on the server; yields its progress objects (`status`, `completed`, `total`)."
        async for obj in self._lines("/api/pull", {"model": model, "stream": True}):
            yield obj


def _opts(options: dict) -> dict:
    return {"options": options} if options else {}


def _error_text(text: str) -> str:
    try:
        return json.loads(text).get("error", text)
    except (ValueError, AttributeError):
        return text[:200]


def has_model(models: list[dict], name: str) -> bool:
    "Whether `name` is installed; `llama3.2` means `llama3.2:latest`, as in Ollama."
    want = name if ":" in name else f"{name}:latest"
    return any(m.get("name") in (name, want) or m.get("model") in (name, want) for m in models)


async def check() -> Health:
    "Healthy when the server answers and the configured model is installed; a warning when it is not."
    if not settings.ollama_url:  # switched off for this environment (e.g. the test run): say so
        return Health.healthy("not checked: OLLAMA_URL is empty", checked=False)
    async with OllamaClient(timeout=3.0) as client:
        try:
            models = await client.models()
        except OllamaError as e:
            return Health.unhealthy(str(e), url=client.base_url)
    names = [m.get("name") for m in models]
    if not has_model(models, settings.ollama_model):
        return Health.warning(
            f"model {settings.ollama_model} is not installed: pull it with "
            f"`inference pull {settings.ollama_model}`",
            url=client.base_url,
            models=names,
        )
    return Health.healthy(
        f"{len(models)} model(s), {settings.ollama_model} ready", url=client.base_url, models=names
    )


# --- the example endpoint -------------------------------------------------------------------

router = APIRouter(prefix="/inference", tags=["inference"])


class GenerateRequest(BaseModel):
    prompt: str
    model: str | None = None
    stream: bool = False


@router.get("/models", summary="Models installed on the Ollama server")
async def list_models() -> list[dict]:
    async with OllamaClient() as client:
        try:
            return await client.models()
        except OllamaError as e:
            raise HTTPException(502, str(e)) from e


@router.post("/generate", summary="Generate text with the configured (or given) model")
async def generate(req: GenerateRequest):
    if req.stream:
        client = OllamaClient()

        async def pieces() -> AsyncIterator[str]:
            try:
                async for piece in client.stream(req.prompt, req.model):
                    yield piece
            finally:
                await client.aclose()

        return StreamingResponse(pieces(), media_type="text/plain; charset=utf-8")
    async with OllamaClient() as client:
        try:
            out = await client.generate(req.prompt, req.model)
        except OllamaError as e:
            raise HTTPException(502, str(e)) from e
    return {"model": out.get("model"), "response": out.get("response", ""), "done": out.get("done", True)}


# --- the CLI group --------------------------------------------------------------------------

cli = typer.Typer(help="The Ollama server: list and pull models.", no_args_is_help=True)


@cli.command("models")
def models_cmd() -> None:
    "List the models installed on the server."

    async def run() -> list[dict]:
        async with OllamaClient() as client:
            return await client.models()

    try:
        models = asyncio.run(run())
    except OllamaError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    if not models:
        typer.echo(
            f"no models on {settings.ollama_url}; pull one with `inference pull {settings.ollama_model}`"
        )
    for m in models:
        size = m.get("size") or 0
        mark = "*" if has_model([m], settings.ollama_model) else " "
        typer.echo(f"{mark} {m.get('name')}  {size / 1e9:.2f} GB")


@cli.command("pull")
def pull_cmd(
    model: Annotated[str | None, typer.Argument(help="model to pull (default: OLLAMA_MODEL)")] = None,
) -> None:
    "Download a model on the server, showing progress."
    name = model or settings.ollama_model

    async def run() -> None:
        async with OllamaClient(timeout=3600.0) as client:
            last = ""
            async for p in client.pull(name):
                status = p.get("status", "")
                if p.get("total"):
                    status = f"{status} {100 * p.get('completed', 0) / p['total']:.0f}%"
                if status != last:
                    typer.echo(status)
                    last = status

    try:
        asyncio.run(run())
    except OllamaError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    typer.echo(f"{name} pulled")
