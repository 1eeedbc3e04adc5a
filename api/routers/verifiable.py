"""Checkpoints, public key and proofs of the verifiable logs (docs/api.md#verifiable-logs)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.auth import Role
from api.deps import AnyCaller, Auditor, ServiceDep
from engine.verifiable.service import MAX_PAGE

router = APIRouter(tags=["audit"])

LogName = Literal["decisions", "events"]


@router.get("/v1/audit/checkpoint", summary="The newest signed checkpoint of a log")
def checkpoint(service: ServiceDep, _caller: AnyCaller, log: LogName) -> dict[str, Any]:
    """``{"log", "size", "root_hash", "timestamp", "key_id", "signature"}``; 404
    ``no_checkpoint`` before the first one."""
    return service.verifiable.newest(log)


@router.get("/v1/audit/checkpoints", summary="The stored checkpoints of a log, oldest first")
def checkpoints(
    service: ServiceDep,
    _caller: Auditor,
    log: LogName,
    since: dt.datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """``since`` (inclusive) on the checkpoint's timestamp; a time without offset is China time."""
    return service.verifiable.page(log, since=since, cursor=cursor, limit=limit)


@router.get("/v1/audit/public-key", summary="The key checkpoints are signed with (open)")
def public_key(service: ServiceDep) -> dict[str, str]:
    """``{"key_id", "public_key_pem"}``; 404 ``no_signing_key`` when the service is unsigned."""
    return service.verifiable.public_key()


@router.get("/v1/decisions/{decision_id}/proof", summary="Inclusion proof of a decision")
def decision_proof(
    decision_id: str,
    service: ServiceDep,
    caller: AnyCaller,
    size: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """RFC 9162 §2.1.3 audit path of the decision's leaf in the decision log's tree of
    ``size`` leaves (default: the newest checkpoint, which must contain it; 409
    ``not_checkpointed`` otherwise). Auditors, and implementers of the deciding department."""
    return service.verifiable.decision_proof(
        decision_id,
        size=size,
        auditor=caller.has(Role.auditor),
        department=caller.department if caller.has(Role.implementer) else None,
    )


@router.get("/v1/audit/consistency", summary="Consistency proof between two tree sizes")
def consistency(
    service: ServiceDep,
    _caller: Auditor,
    log: LogName,
    first: Annotated[int, Query(ge=1)],
    second: Annotated[int, Query(ge=1)],
) -> dict[str, Any]:
    """RFC 9162 §2.1.4: the tree of ``first`` leaves is a prefix of the tree of ``second``."""
    return service.verifiable.consistency(log, first, second)
