"""``POST /v1/checks`` dispatched straight to its handler, inside the app's middleware.

Measured (docs/performance.md, issue 18): between the user middleware and a route's
function, Starlette's exception middleware, FastAPI's exit-stack middleware, the router's
route matching, the request-response wrapper and FastAPI's dependency solving (run even for a
route without dependencies) cost a check about a quarter of the event loop's time. The check
route needs none of them: it authorises, reads and validates its body by hand
(``api/routers/checks.py``). So this middleware, the innermost of the app's own, hands a
``POST`` to exactly ``/v1/checks`` to that same function, and every other request to the app
as before. What the request goes through is otherwise unchanged:

- the outer middleware (body size limit, request log with the route's template, the metrics
  count, server errors) sees it exactly as before (``scope["route"]`` is the check route);
- an exception becomes the same answer: the app's exception handlers are looked up by the
  exception's class as Starlette's exception middleware does (``api/errors.py``), and one
  with no handler propagates to the server-error handler (a 500 in the envelope);
- other methods on ``/v1/checks`` (a 405), ``/v1/checks/`` (a redirect) and every other
  path take the app's router as before.

The trivial endpoint (``GET /healthz``) and every other route keep the whole stack.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response]]
ExceptionHandler = Callable[[Request, Exception], Any]

PATH = "/v1/checks"


class CheckFastPath:
    """Pure ASGI middleware: ``POST /v1/checks`` to ``handler``, everything else to ``app``."""

    def __init__(
        self, app: ASGIApp, *, fastapi_app: FastAPI, route: APIRoute, handler: Handler
    ) -> None:
        self.app = app
        self._fastapi_app = fastapi_app
        self._route = route  # the app's own POST /v1/checks (its template names it in logs)
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or get_route_path(scope) != PATH:
            await self.app(scope, receive, send)
            return
        scope["route"] = self._route
        request = Request(scope, receive, send)
        try:
            response = await self._handler(request)
        except Exception as exc:
            handler = _handler_for(exc, self._fastapi_app.exception_handlers)
            if handler is None:
                raise  # the server-error middleware answers (500 in the envelope)
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)


def _handler_for(
    exc: Exception, handlers: Mapping[Any, ExceptionHandler]
) -> ExceptionHandler | None:
    """The handler Starlette's exception middleware would pick: by the exception's classes,
    most specific first; ``Exception`` itself is the server-error middleware's, not ours."""
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None
