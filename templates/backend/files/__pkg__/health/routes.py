"""The three health endpoints, each for its reader.

- `GET /health`: the whole tree, for people, monitors, the CLI and the dashboard;
  200 while healthy (warnings included), 503 when a component is unhealthy.
- `GET /health/live`: the process can serve. What the container HEALTHCHECK and restart
  policies use, so an outage of a dependency never gets a webserver killed or unrouted.
- `GET /health/ready`: only this service's critical dependencies; for load balancers that can
  send the traffic to another replica.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from .core import HealthReport

_JSON = "application/json"
_NO_STORE = {"Cache-Control": "no-store"}
_LIVE = b'{"status":"alive"}'
_TREE = {
    200: {"model": HealthReport, "description": "healthy (or warnings)"},
    503: {"model": HealthReport, "description": "at least one component is unhealthy"},
}


class PlainRoute(APIRoute):
    """A path operation without FastAPI's request parsing and response validation: the endpoint takes
    the `Request` and returns a `Response`. These endpoints are polled all the time, and this makes
    each request about 3x cheaper; they are still matched like any route (and listed in /docs)."""

    def get_route_handler(self):
        return self.endpoint


router = APIRouter(prefix="/health", tags=["health"], route_class=PlainRoute)


@router.get("", responses=_TREE, summary="The whole health tree")
async def health(request: Request) -> Response:
    code, body = await request.app.state.health.response()
    return Response(body, status_code=code, media_type=_JSON, headers=_NO_STORE)


@router.get("/live", summary="The process can serve (no dependency is checked)")
async def live(request: Request) -> Response:
    return Response(_LIVE, media_type=_JSON, headers=_NO_STORE)


@router.get("/ready", responses=_TREE, summary="This service's critical dependencies")
async def ready(request: Request) -> Response:
    code, body = await request.app.state.health.response(critical_only=True)
    return Response(body, status_code=code, media_type=_JSON, headers=_NO_STORE)
