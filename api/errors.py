"""The one error envelope: ``{"error": {"code", "message", "details"}}`` for every 4xx/5xx."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from api.request_log import logged_path
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


CLIENT_CLOSED_REQUEST = 499
"""The status logged for a request whose client went away (nginx's convention); never sent."""


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.__cause__ is not None:
        # FastAPI turns any failure while reading a body into a bare 400: answer the cause.
        return await _body_unreadable(request, exc.__cause__)
    code = HTTP_STATUS_CODES.get(exc.status_code, "http_error")
    return envelope(exc.status_code, code, str(exc.detail))


async def _body_unreadable(request: Request, cause: BaseException) -> JSONResponse:
    """The answer to a body that could not be read or parsed as JSON, by what went wrong."""
    if isinstance(cause, JrpError):  # over the size limit, too slow (api/limits.py)
        return await _jrp_error(request, cause)
    if isinstance(cause, ClientDisconnect):
        return await _disconnected(request, cause)
    return envelope(
        422,
        Code.invalid_request,
        "request validation failed",
        [{"field": "body", "message": unparsable_json(cause)}],
    )


def unparsable_json(cause: BaseException) -> str:
    """What is wrong with a body Python's JSON parser refused without a ``JSONDecodeError``."""
    if isinstance(cause, UnicodeDecodeError):
        return f"malformed JSON: not UTF-8 text (at byte {cause.start})"
    if isinstance(cause, RecursionError):
        return "malformed JSON: nested too deeply"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "malformed JSON: a number with too many digits (at most 4300)"
    return f"malformed JSON: {type(cause).__name__}"


async def _disconnected(request: Request, _exc: BaseException) -> JSONResponse:
    # Not a server error: the client went away while its request was read or answered.
    log.info("client_disconnected", method=request.method, path=logged_path(request.scope))
    return envelope(CLIENT_CLOSED_REQUEST, Code.client_disconnected, "the client went away")


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.crashed", error_type=type(exc).__name__)
    return envelope(500, Code.internal_error, "internal error; the incident is logged")


def install(app: FastAPI) -> None:
    """Map every error to the envelope; the table of mappings lives here and nowhere else."""
    app.add_exception_handler(JrpError, _jrp_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _disconnected)
    app.add_exception_handler(Exception, _unexpected)
