"""Liveness and readiness (open, no key)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServiceDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    """Always ``{"status": "ok"}`` while the process serves requests.

    ``async``: a liveness probe must answer even when the thread pool is busy (it is also the
    trivial endpoint the HTTP benchmark compares checks with, bench/README.md).
    """
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and a policy is loaded")
def readyz(service: ServiceDep) -> JSONResponse:
    """200 when ready to serve checks, 503 otherwise."""
    database = service.ready()
    body = {
        "status": "ready" if database else "not_ready",
        "database": database,
        "policy_version": service.policy.bundle.version,
        "signing": service.verifiable.signing,  # checkpoints signed (docs/api.md)
        "key_id": service.verifiable.key_id,
    }
    return JSONResponse(status_code=200 if database else 503, content=body)
