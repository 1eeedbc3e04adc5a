"""One structured log line per request (method, path, status, duration, caller department),
and its count in ``jrp_http_requests_total{route,status}`` (``engine.metrics``)."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine import metrics

log = structlog.get_logger("jrp.request")

# An 18-character id in a path that matched no route (a 404) is masked like any personal id.
_ID_IN_PATH = re.compile(r"(?<![0-9A-Za-z])(\d{6})\w{8}(\w{4})(?![0-9A-Za-z])")


def route_template(scope: Scope) -> str | None:
    """The matched route's template (``/v1/subjects/{subject_id}``); None when none matched."""
    template = getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) else None


def logged_path(scope: Scope) -> str:
    """The route template (``/v1/subjects/{subject_id}``), never the ids a path carries."""
    template = route_template(scope)
    if template is not None:
        return template
    return _ID_IN_PATH.sub(r"\1********\2", str(scope["path"]))


class RequestLogMiddleware:
    """Pure ASGI middleware (no per-request task or body copy, unlike BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            metrics.get().request_handled(route_template(scope) or metrics.UNMATCHED_ROUTE, status)
            state = scope.get("state", {})
            log.info(
                "request.handled",
                method=scope["method"],
                path=logged_path(scope),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                department=state.get("caller_department"),
                caller=state.get("caller_name"),
                request_id=request_id,
            )
