"""Limits on what a client sends, applied before any route reads it (docs/api.md, Limits).

- A body over ``JRP_MAX_BODY_BYTES``: 413 ``body_too_large``, refused from its
  ``Content-Length`` before a byte is read, or as soon as the bytes read pass the limit.
- A body that stops arriving (no bytes for ``JRP_BODY_TIMEOUT`` seconds): 408
  ``request_timeout``.
- NUL in the path or the query string: 422 naming the parameter. No database compares text
  with NUL (PostgreSQL refuses it), and no identifier of the service holds one.

Pure ASGI (no per-request task, no body copy). Errors raised while a route reads the body are
``JrpError``s: the one error table (``api/errors.py``) answers them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import envelope
from engine.errors import BodyTooLarge, Code, RequestTimeout
from engine.settings import Settings


@dataclass(frozen=True)
class Limits:
    """What a client may send: ``JRP_MAX_BODY_BYTES``, ``JRP_BODY_TIMEOUT``."""

    max_body_bytes: int = 8 * 1024 * 1024
    body_timeout: float = 30.0

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits ``settings`` set."""
        return cls(max_body_bytes=settings.max_body_bytes, body_timeout=settings.body_timeout)


class InputGuard:
    """Refuses oversized, stalled and NUL-carrying requests (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, limits: Limits) -> None:
        self.app = app
        self.max_body_bytes = limits.max_body_bytes
        self.body_timeout = limits.body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        limit, timeout = self.max_body_bytes, self.body_timeout
        received = 0
        complete = False

        async def guarded() -> Message:
            nonlocal received, complete
            if complete:  # the body is in: what follows is a wait for a disconnect
                return await receive()
            try:
                # A timeout scope, not ``asyncio.wait_for``: on Python 3.11 that wraps the
                # receive in a task of its own, ~13 µs a body part against ~4 (each check
                # reads one; docs/performance.md).
                async with asyncio.timeout(timeout):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"no part of the request body arrived for {timeout:g} s (JRP_BODY_TIMEOUT)"
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
                complete = not message.get("more_body", False)
            return message

        await self.app(scope, guarded, send)

    def _refusal(self, scope: Scope) -> Any:
        length = _content_length(scope)
        if length is not None and length > self.max_body_bytes:
            error = BodyTooLarge(self.max_body_bytes)
            return envelope(error.status, error.code, error.message, error.details)
        fields = list(_fields_with_nul(scope))
        if fields:
            details = [{"field": field, "message": "must not contain NUL"} for field in fields]
            return envelope(422, Code.invalid_request, "request validation failed", details)
        return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else None
    return None


def _fields_with_nul(scope: Scope) -> Iterator[str]:
    """The path parameters, query parameters and headers whose text holds NUL."""
    for name, value in scope.get("headers", ()):
        if b"\x00" in value or b"\x00" in name:
            yield name.decode("latin-1").replace("\x00", "") or "headers"
    path: str = scope.get("path", "")
    if "\x00" in path:
        yield from _path_parameters_with_nul(scope, path)
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        text = query.decode("latin-1")
        seen = set()
        for name, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8"):
            if "\x00" in name or "\x00" in value:
                field = name if "\x00" not in name else "query"
                if field not in seen:
                    seen.add(field)
                    yield field


def _path_parameters_with_nul(scope: Scope, path: str) -> Iterator[str]:
    app = scope.get("app")
    for route in _routes(getattr(app, "routes", [])):
        regex = getattr(route, "path_regex", None)
        match = regex.match(path) if regex is not None else None
        if match is not None:
            named = [name for name, value in match.groupdict().items() if "\x00" in value]
            yield from named or ["path"]
            return
    yield "path"


def _routes(routes: list[Any]) -> Iterator[Any]:
    # FastAPI keeps included routers as branches: walk them down to the routes, in order.
    for route in routes:
        if hasattr(route, "effective_candidates"):
            yield from _routes(route.effective_candidates())
        else:
            yield route
