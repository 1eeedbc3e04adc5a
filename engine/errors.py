"""One error hierarchy for the whole service and the catalogue of its stable error codes.

Every error has a stable snake_case ``code`` (a constant of ``Code``), a human ``message``
and optional ``details`` (a list of JSON-able dicts, e.g. ``{"field": "items[3].id",
"message": "..."}``). The API maps the hierarchy to the wire envelope in one place
(``api/errors.py``); docs/api.md#errors lists every code with its status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from measures.yaml_positions import InvalidBundle


class Code(StrEnum):
    """Every error code the service answers with, by HTTP status."""

    # 400/401/403/404/405/406/408/413/415: the HTTP layer's own refusals
    bad_request = "bad_request"
    unauthorized = "unauthorized"
    forbidden = "forbidden"
    not_found = "not_found"
    method_not_allowed = "method_not_allowed"
    not_acceptable = "not_acceptable"
    request_timeout = "request_timeout"
    body_too_large = "body_too_large"
    unsupported_media_type = "unsupported_media_type"
    # 404: a named thing does not exist
    unknown_entry = "unknown_entry"
    unknown_commitment = "unknown_commitment"
    unknown_subject = "unknown_subject"
    unknown_list = "unknown_list"
    unknown_decision = "unknown_decision"
    unknown_policy_version = "unknown_policy_version"
    no_checkpoint = "no_checkpoint"
    no_signing_key = "no_signing_key"
    no_grade_model = "no_grade_model"
    # 409: the request conflicts with the current state
    conflict = "conflict"
    invalid_state = "invalid_state"
    not_repairable = "not_repairable"
    repair_too_early = "repair_too_early"
    idempotency_conflict = "idempotency_conflict"
    duplicate_entry = "duplicate_entry"
    duplicate_commitment = "duplicate_commitment"
    not_checkpointed = "not_checkpointed"
    imported_entry = "imported_entry"
    # 422: the request or a policy bundle breaks a rule of the contract
    invalid_request = "invalid_request"
    invalid_policy = "invalid_policy"
    # 429: too many requests from one client address (the public feed)
    rate_limited = "rate_limited"
    # 499: logged (the client went away), never sent
    client_disconnected = "client_disconnected"
    # 500/503
    internal_error = "internal_error"
    invalid_configuration = "invalid_configuration"
    rule_engine_error = "rule_engine_error"
    not_ready = "not_ready"


HTTP_STATUS_CODES: Mapping[int, Code] = {
    400: Code.bad_request,
    401: Code.unauthorized,
    403: Code.forbidden,
    404: Code.not_found,
    405: Code.method_not_allowed,
    406: Code.not_acceptable,
    408: Code.request_timeout,
    413: Code.body_too_large,
    415: Code.unsupported_media_type,
}
"""The code of an HTTP refusal that no ``JrpError`` raised (routing, content negotiation)."""


class JrpError(Exception):
    """Base of every error the service raises on purpose."""

    code: str = Code.internal_error
    status: int = 500

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        """The body of the wire envelope: ``{"code", "message", "details"}``."""
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidRequest(JrpError):
    """The request is well-formed JSON but breaks a rule of the contract (422)."""

    code = Code.invalid_request
    status = 422


class InvalidPolicy(JrpError):
    """A policy bundle is invalid; ``details`` hold one ``{"path", "line", "message"}`` each."""

    code = Code.invalid_policy
    status = 422

    @classmethod
    def of(cls, invalid: InvalidBundle) -> InvalidPolicy:
        """The service's error for a bundle ``measures`` found problems in."""
        return cls(str(invalid), details=[problem.as_detail() for problem in invalid.problems])


class Unauthorized(JrpError):
    code = Code.unauthorized
    status = 401


class Forbidden(JrpError):
    code = Code.forbidden
    status = 403


class NotFound(JrpError):
    code = Code.not_found
    status = 404


class Conflict(JrpError):
    """The request conflicts with the current state (409); subclasses or ``code=`` name which."""

    code = Code.conflict
    status = 409


class RateLimited(JrpError):
    """Too many requests from one client address (429); ``retry_after`` seconds to wait."""

    code = Code.rate_limited
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details=[{"retry_after": retry_after}])
        self.retry_after = retry_after


class BodyTooLarge(JrpError):
    """The request body is over ``JRP_MAX_BODY_BYTES`` (413); ``details`` give the limit."""

    code = Code.body_too_large
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"request body over {limit} bytes (JRP_MAX_BODY_BYTES)",
            details=[{"field": "body", "message": f"at most {limit} bytes"}],
        )


class RequestTimeout(JrpError):
    """The client sent its body too slowly (408): no byte for ``JRP_BODY_TIMEOUT`` seconds."""

    code = Code.request_timeout
    status = 408


class NotReady(JrpError):
    code = Code.not_ready
    status = 503


class ConfigurationError(JrpError):
    """Settings or a file named by them are unusable; raised at start-up, never per request."""

    code = Code.invalid_configuration
    status = 500


class RuleEngineError(JrpError):
    """The rule engine failed or refused a ruleset/message; never swallowed."""

    code = Code.rule_engine_error
    status = 500


_LOCATION_PREFIXES = frozenset({"body", "query", "path", "header", "cookie"})


def field_path(loc: Sequence[str | int], *, whole: str = "body") -> str:
    """A validation error's location as the API names fields.

    ``("body", 3, "id")`` -> ``items[3].id``; ``("query", "limit")`` -> ``limit``;
    ``("attributes", "x")`` -> ``attributes.x``; ``("roles", 0)`` -> ``roles[0]``; an
    empty location (the whole value) -> ``whole``.
    """
    parts = list(loc)
    if parts and parts[0] in _LOCATION_PREFIXES:
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]" if text else f"items[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or whole


def validation_details(
    errors: Iterable[Mapping[str, Any]], *, whole: str = "body"
) -> list[dict[str, str]]:
    """pydantic's errors as ``{"field", "message"}`` details (the one conversion).

    A malformed JSON body names ``body`` with the character position in the message;
    pydantic's union-member and validator names in a location are dropped; an error of the
    whole value names ``whole``.
    """
    details = []
    for error in errors:
        loc = list(error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            # The loc holds the character position, not a field: say it in the message.
            position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            message = f"malformed JSON: {error.get('ctx', {}).get('error', message)}"
            message += "" if position is None else f" (at character {position})"
            loc = ["body"]
        loc = [
            p for p in loc if isinstance(p, int) or not str(p).startswith(("function-", "tagged-"))
        ]
        details.append({"field": field_path(loc, whole=whole), "message": message})
    return details
