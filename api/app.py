"""The FastAPI application: thin routers over ``engine`` and ``measures``."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import console, errors, openapi
from api.auth import CallerRegistry
from api.fastpath import CheckFastPath
from api.limits import InputGuard, Limits
from api.request_log import RequestLogMiddleware
from api.routers import (
    checks,
    commitments,
    credit_office,
    decisions,
    entries,
    exchange,
    grades,
    health,
    metrics,
    policy,
    public,
    registry,
    replay,
    reports,
    verifiable,
)
from api.routers import impact as policy_impact
from engine import metrics as process_metrics
from engine import publication
from engine.service import Service

DESCRIPTION = """
联合奖惩 decision service. Initiating departments register list entries, implementing
departments check a subject before an approval and report what they did, auditors replay
decisions. Every `/v1` call needs `Authorization: Bearer <key>`; errors come as
`{"error": {"code", "message", "details"}}`.
"""


def create_app(
    service: Service, callers: CallerRegistry, *, limits: Limits | None = None
) -> FastAPI:
    """An app serving ``service`` to ``callers`` within ``limits`` (default: the settings'
    defaults); the caller owns the service's lifetime."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.verifiable.start()  # Merkle trees and checkpoints, off the check path
        if service.puller is not None:
            service.puller.start()  # jrp serve --pull-every (docs/exchange.md)
        # The public feed's index (seconds at city scale), off the request path: a feed
        # request that comes before it is built waits for it (engine/publication/feed.py).
        warming = threading.Thread(target=publication.warm, args=(service,), daemon=True)
        warming.start()
        yield
        warming.join()  # before the service closes under it
        service.close()
        process_metrics.process_stopped()  # its per-worker gauges leave later scrapes

    app = FastAPI(
        title="jrp",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by the console with the project's own copies: no CDN (offline networks).
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.state.callers = callers
    errors.install(app)
    # Added first, so innermost: the input guard and the request log (added next) still wrap
    # every check; the guard sits inside the request log, which logs what it refuses too.
    app.add_middleware(CheckFastPath, fastapi_app=app, route=checks.route(), handler=checks.check)
    app.add_middleware(InputGuard, limits=limits or Limits())
    app.add_middleware(RequestLogMiddleware)
    # Checks first: routes are matched in order, and checks are most of the traffic.
    first = (checks, decisions, health, metrics, policy, policy_impact, registry, grades, entries,
             replay)  # fmt: skip
    then = (credit_office, verifiable, public, reports, commitments, exchange)
    for module in first:
        app.include_router(module.router)
    console.install(app)
    for module in then:
        app.include_router(module.router)
    openapi.install(app, [module.router for module in (*first, *then)])
    return app
