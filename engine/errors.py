"""One error hierarchy for the whole service; the API maps it to the wire envelope in one place.

Every error has a stable snake_case ``code``, a human ``message`` and optional ``details``
(a list of JSON-able dicts, e.g. ``{"field": "items[3].id", "message": "..."}``).
"""

from __future__ import annotations

from typing import Any

from measures.yaml_positions import InvalidBundle


class JrpError(Exception):
    """Base of every error the service raises on purpose."""

    code: str = "internal_error"
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

    code = "invalid_request"
    status = 422


class InvalidPolicy(JrpError):
    """A policy bundle is invalid; ``details`` hold one ``{"path", "line", "message"}`` each."""

    code = "invalid_policy"
    status = 422

    @classmethod
    def of(cls, invalid: InvalidBundle) -> InvalidPolicy:
        """The service's error for a bundle ``measures`` found problems in."""
        return cls(str(invalid), details=[problem.as_detail() for problem in invalid.problems])


class Unauthorized(JrpError):
    code = "unauthorized"
    status = 401


class Forbidden(JrpError):
    code = "forbidden"
    status = 403


class NotFound(JrpError):
    code = "not_found"
    status = 404


class Conflict(JrpError):
    """The request conflicts with the current state (409); subclasses or ``code=`` name which."""

    code = "conflict"
    status = 409


class NotReady(JrpError):
    code = "not_ready"
    status = 503


class ConfigurationError(JrpError):
    """Settings or a file named by them are unusable; raised at start-up, never per request."""

    code = "invalid_configuration"
    status = 500


class RuleEngineError(JrpError):
    """The rule engine failed or refused a ruleset/message; never swallowed."""

    code = "rule_engine_error"
    status = 500
