"""``GET /metrics``: the Prometheus text format (open, no key; docs/api.md#operations)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import ServiceDep
from engine import metrics
from engine.scrape import scrape

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Metrics for Prometheus (every worker's counts)",
    response_class=Response,
    responses={200: {"content": {metrics.CONTENT_TYPE: {}}}},
)
def get_metrics(service: ServiceDep) -> Response:
    """Checks by outcome and their duration, HTTP requests by route template and status, the
    decision log's batches, the event log's and this worker's position, entries in force.

    A plain ``def``: it reads the database (the log's head, a catch-up), so FastAPI runs it
    in its thread pool, off the event loop.
    """
    return Response(scrape(service), media_type=metrics.CONTENT_TYPE)
