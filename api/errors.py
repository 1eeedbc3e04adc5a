"""The one error envelope: ``{"error": {"code", "message", "details"}}`` for every 4xx/5xx."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import HTTP_STATUS_CODES, Code, JrpError, RateLimited, validation_details

log = structlog.get_logger(__name__)


def envelope(status: int, code: str, message: str, details: Sequence[Any] = ()) -> JSONResponse:
    """A JSON error response in the contract's envelope."""
    body = {"error": {"code": code, "message": message, "details": list(details)}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(status_code=status, content=body, headers=headers)


async def _jrp_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JrpError)
    if exc.status >= 500:
        log.error("request.failed", code=exc.code, error=exc.message)
    response = envelope(exc.status, exc.code, exc.message, exc.details)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    return envelope(422, Code.invalid_request, "request validation failed", details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_STATUS_CODES.get(exc.status_code, "http_error")
    return envelope(exc.status_code, code, str(exc.detail))


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.crashed", error_type=type(exc).__name__)
    return envelope(500, Code.internal_error, "internal error; the incident is logged")


def install(app: FastAPI) -> None:
    """Map every error to the envelope; the table of mappings lives here and nowhere else."""
    app.add_exception_handler(JrpError, _jrp_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
