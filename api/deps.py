"""Shared ``Annotated`` dependencies: the service, the authenticated caller, role checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Caller, CallerRegistry, Role
from engine.errors import Forbidden, Unauthorized
from engine.service import Service

_bearer = HTTPBearer(auto_error=False, description="API key issued to the calling department")


def get_service(request: Request) -> Service:
    """The running service."""
    service: Service = request.app.state.service
    return service


def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller named by the bearer key; 401 when missing or unknown."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    registry: CallerRegistry = request.app.state.callers
    caller = registry.authenticate(credentials.credentials)
    if caller is None:
        raise Unauthorized("unknown API key")
    # Read by the request-log middleware.
    request.state.caller_department = caller.department
    request.state.caller_name = caller.name
    return caller


def require(*roles: Role) -> Callable[..., Caller]:
    """A dependency admitting callers that hold any of ``roles`` (403 otherwise)."""

    def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if not any(caller.has(role) for role in roles):
            needed = " or ".join(role.value for role in roles)
            raise Forbidden(f"this call needs the role {needed}")
        return caller

    return check


ServiceDep = Annotated[Service, Depends(get_service)]
AnyCaller = Annotated[Caller, Depends(get_caller)]
PolicyAdmin = Annotated[Caller, Depends(require(Role.policy_admin))]
PolicyReader = Annotated[Caller, Depends(require(Role.auditor, Role.policy_admin))]
Registrar = Annotated[Caller, Depends(require(Role.registrar))]
Initiator = Annotated[Caller, Depends(require(Role.initiator))]
Implementer = Annotated[Caller, Depends(require(Role.implementer))]
CreditOffice = Annotated[Caller, Depends(require(Role.credit_office))]
Auditor = Annotated[Caller, Depends(require(Role.auditor))]
