"""The one error envelope: ``{"error": {"code", "message", "details"}}`` for every 4xx/5xx."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import JrpError

log = structlog.get_logger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
_LOCATION_PREFIXES = {"body", "query", "path", "header", "cookie"}


def envelope(status: int, code: str, message: str, details: Sequence[Any] = ()) -> JSONResponse:
    """A JSON error response in the contract's envelope."""
    body = {"error": {"code": code, "message": message, "details": list(details)}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(status_code=status, content=body, headers=headers)


def field_path(loc: Sequence[str | int]) -> str:
    """``("body", 3, "id")`` -> ``items[3].id``; ``("query", "limit")`` -> ``limit``."""
    parts = list(loc)
    if parts and parts[0] in _LOCATION_PREFIXES:
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]" if text else f"items[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def _validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    details = []
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            # The loc holds the character position, not a field: say it in the message.
            position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            message = f"malformed JSON: {error.get('ctx', {}).get('error', message)}"
            message += "" if position is None else f" (at character {position})"
            loc = ["body"]
        # pydantic names the union member or validator in the loc; keep only real field names
        loc = [
            p for p in loc if isinstance(p, int) or not str(p).startswith(("function-", "tagged-"))
        ]
        details.append({"field": field_path(loc), "message": message})
    return details


async def _jrp_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JrpError)
    if exc.status >= 500:
        log.error("request.failed", code=exc.code, error=exc.message)
    return envelope(exc.status, exc.code, exc.message, exc.details)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    return envelope(422, "invalid_request", "request validation failed", details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return envelope(exc.status_code, code, str(exc.detail))


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.crashed", error_type=type(exc).__name__)
    return envelope(500, "internal_error", "internal error; the incident is logged")


def install(app: FastAPI) -> None:
    """Map every error to the envelope; the table of mappings lives here and nowhere else."""
    app.add_exception_handler(JrpError, _jrp_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
