"""The three health endpoints, each for its reader.

- `GET /health`: the whole tree, for people, monitors, the CLI and the dashboard;
  200 while healthy (warnings included), 503 when a component is unhealthy.
- `GET /health/live`: the process can serve. What the container HEALTHCHECK and restart
  policies use, so an outage of a dependency never gets a webserver killed or unrouted.
- `GET /health/ready`: only this service's critical dependencies; for load balancers that can
  send the traffic to another replica.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

_JSON = "application/json"
_NO_STORE = {"Cache-Control": "no-store"}
_LIVE = b'{"status":"alive"}'


async def health(request: Request) -> Response:
    "The whole health tree (the `HealthReport` model): 200 healthy or warning, 503 unhealthy."
    code, body = await request.app.state.health.response()
    return Response(body, status_code=code, media_type=_JSON, headers=_NO_STORE)


async def live(request: Request) -> Response:
    "The process can serve; no dependency is checked."
    return Response(_LIVE, media_type=_JSON, headers=_NO_STORE)


async def ready(request: Request) -> Response:
    "Only the critical checks (the `HealthReport` model): 200 or 503."
    code, body = await request.app.state.health.response(critical_only=True)
    return Response(body, status_code=code, media_type=_JSON, headers=_NO_STORE)


# Plain Starlette routes rather than FastAPI path operations: these are polled all the time, and
# skipping FastAPI's request parsing and validation makes each request about 3x cheaper.
# (They are not listed in /docs; the README documents them.)
router = APIRouter()
router.add_route("/health", health, methods=["GET"], name="health")
router.add_route("/health/live", live, methods=["GET"], name="health_live")
router.add_route("/health/ready", ready, methods=["GET"], name="health_ready")
