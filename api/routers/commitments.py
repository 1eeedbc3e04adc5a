"""Credit commitments (信用承诺) and early warning (诚信预警) (docs/commitments.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.auth import Caller, Role
from api.deps import CreditOffice, Initiator, ServiceDep, require
from api.routers.entries import IdempotencyKey
from engine import commitments, earlywarning
from engine.commitments import BreachBody, CommitmentCreate, FulfilmentBody
from engine.commitments.schemas import (
    BreachAnswer,
    CommitmentAnswer,
    CommitmentOut,
    CommitmentPage,
    WarningsPage,
)

router = APIRouter(tags=["commitments"])

CommitmentReader = Annotated[
    Caller,
    Depends(
        require(Role.credit_office, Role.auditor, Role.registrar, Role.initiator, Role.implementer)
    ),
]
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=200)]
Text = Annotated[str | None, Query(max_length=64)]


def _own_department(caller: Caller) -> str | None:
    """None for callers that read every department's commitments, else the caller's."""
    if any(caller.has(role) for role in (Role.credit_office, Role.auditor, Role.registrar)):
        return None
    return caller.department


@router.post("/v1/commitments", status_code=201, summary="Record a credit commitment (信用承诺)")
def record_commitment(
    body: CommitmentCreate,
    service: ServiceDep,
    caller: Initiator,
    idempotency_key: IdempotencyKey = None,
) -> CommitmentAnswer:
    """An initiator of a department owning the breach list `commitment_breach` (403
    otherwise). `due_on` or `due_working_days` (made_on + working days), not both; 422 naming
    the field; 409 `duplicate_commitment` for the same (subject, department, doc_no)."""
    return CommitmentAnswer.model_validate(
        commitments.record(
            service,
            body,
            caller_name=caller.name,
            department=caller.department,
            idempotency_key=idempotency_key,
        )
    )


@router.get("/v1/commitments", summary="Commitments, oldest recorded first")
def list_commitments(
    service: ServiceDep,
    caller: CommitmentReader,
    subject_id: Text = None,
    department: Text = None,
    status: Literal["active", "overdue", "fulfilled", "breached"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> CommitmentPage:
    """Credit office, auditor, registrar: all; initiator, implementer: its department's (403
    for another `department`). `status` is judged today (China)."""
    return CommitmentPage.model_validate(
        commitments.commitments_page(
            service,
            only_department=_own_department(caller),
            department=department,
            subject_id=subject_id,
            status=status,
            cursor=cursor,
            limit=limit,
        )
    )


@router.get("/v1/commitments/{commitment_id}", summary="One commitment with its status today")
def get_commitment(
    commitment_id: str, service: ServiceDep, caller: CommitmentReader
) -> CommitmentOut:
    """404 `unknown_commitment`; 403 for an initiator or implementer of another department."""
    shown = commitments.show(service, commitment_id, department=_own_department(caller))
    return CommitmentOut.model_validate(shown)


@router.post("/v1/commitments/{commitment_id}/fulfilment", summary="The promise was kept (履行)")
def fulfil_commitment(
    commitment_id: str, service: ServiceDep, caller: Initiator, body: FulfilmentBody | None = None
) -> CommitmentOut:
    """The commitment's department only (403); 409 `invalid_state` unless active or overdue."""
    return CommitmentOut.model_validate(
        commitments.fulfil(
            service,
            commitment_id,
            body or FulfilmentBody(),
            actor=caller.name,
            department=caller.department,
        )
    )


@router.post(
    "/v1/commitments/{commitment_id}/breach",
    status_code=201,
    summary="The promise was broken (违诺): an entry on the breach list",
)
def breach_commitment(
    commitment_id: str,
    body: BreachBody,
    service: ServiceDep,
    caller: Initiator,
    idempotency_key: IdempotencyKey = None,
) -> BreachAnswer:
    """The commitment's department only (403). Registers an entry on `commitment_breach`
    through the ordinary registration path (derivations, triggers) in the same transaction;
    409 `invalid_state` for a second breach or a fulfilled commitment."""
    return BreachAnswer.model_validate(
        commitments.breach(
            service,
            commitment_id,
            body,
            caller_name=caller.name,
            department=caller.department,
            idempotency_key=idempotency_key,
        )
    )


@router.get("/v1/warnings", summary="Early warning (诚信预警)")
def list_warnings(
    service: ServiceDep,
    _caller: CreditOffice,
    kind: Literal[
        "derivation_threshold",
        "entry_expiring",
        "publicity_ending",
        "objection_due",
        "commitment_due",
    ]
    | None = None,
    department: Text = None,
    subject_id: Text = None,
    within: Annotated[int, Query(ge=1, le=60)] = 5,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> WarningsPage:
    """Subjects one entry short of a derivation, entries about to expire or to leave
    publicity, objections and commitments near (or past) their deadline, within `within`
    working days; each with its reason and numbers."""
    return WarningsPage.model_validate(
        earlywarning.warnings_page(
            service,
            kind=kind,
            department=department,
            subject_id=subject_id,
            within=within,
            cursor=cursor,
            limit=limit,
        )
    )
