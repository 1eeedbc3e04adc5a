"""Shared ``Annotated`` dependencies: the service, the authenticated caller, role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from api.auth import Caller, CallerRegistry, Role
from engine.errors import Forbidden, Unauthorized
from engine.service import Service

_bearer = HTTPBearer(auto_error=False, description="API key issued to the calling department")


# Dependencies are ``async def``: they do no I/O, and FastAPI would run a plain ``def`` one in
# the thread pool, one hop per dependency per request.


async def get_service(request: Request) -> Service:
    """The running service."""
    service: Service = request.app.state.service
    return service


async def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller named by the bearer key; 401 when missing or unknown."""
    return _authenticated(request, _token(credentials))


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    return "" if credentials is None else credentials.credentials


def _authenticated(request: Request, token: str) -> Caller:
    """The caller whose bearer key ``token`` is ("" when none was sent); 401 otherwise."""
    if not token:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    registry: CallerRegistry = request.app.state.callers
    caller = registry.authenticate(token)
    if caller is None:
        raise Unauthorized("unknown API key")
    # Read by the request-log middleware (scope["state"] is what request.state wraps).
    state = request.scope.setdefault("state", {})
    state["caller_department"] = caller.department
    state["caller_name"] = caller.name
    return caller


def authorize(request: Request, *roles: Role) -> Caller:
    """What ``require(*roles)`` checks, as a plain call (401, or 403 without any of ``roles``).

    For the hot path (``POST /v1/checks``): resolving the dependencies of ``require`` costs
    FastAPI tens of µs a request (docs/performance.md). The header is read as
    ``HTTPBearer(auto_error=False)`` reads it: scheme ``Bearer`` in any case, then the key.
    """
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    return _admitted(request, token if scheme.lower() == "bearer" else "", roles)


def _admitted(request: Request, token: str, roles: tuple[Role, ...]) -> Caller:
    """The caller of ``token`` when it holds any of ``roles``: 401, or 403 otherwise."""
    return admit(_authenticated(request, token), roles)


def admit(caller: Caller, roles: tuple[Role, ...]) -> Caller:
    """``caller`` when it holds any of ``roles``, else 403: the one role check of every surface
    (``/v1`` through ``require``/``authorize``, the console through its session)."""
    if not any(caller.has(role) for role in roles):
        needed = " or ".join(role.value for role in roles)
        raise Forbidden(f"this call needs the role {needed}")
    return caller


PERSONAL_DATA_ROLES = (Role.registrar, Role.credit_office, Role.auditor)
"""Roles that see personal ids and names whole; every other caller sees them masked."""


def sees_personal_data(caller: Caller) -> bool:
    """True when ``caller`` may see personal ids and names unmasked."""
    return any(caller.has(role) for role in PERSONAL_DATA_ROLES)


def require(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting callers that hold any of ``roles`` (401, or 403 otherwise).

    One dependency, not one per step (bearer, caller, role): each level of dependencies costs
    FastAPI's resolver tens of µs per request.
    """

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        return _admitted(request, _token(credentials), roles)

    check.roles = roles  # type: ignore[attr-defined]  # read by api/openapi.py (its 403s)
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
PeerInstance = Annotated[Caller, Depends(require(Role.peer))]
CreditOfficeOrInitiator = Annotated[Caller, Depends(require(Role.credit_office, Role.initiator))]
EntryReader = Annotated[Caller, Depends(require(Role.auditor, Role.credit_office, Role.initiator))]
NoticeReader = Annotated[Caller, Depends(require(Role.credit_office, Role.implementer))]
