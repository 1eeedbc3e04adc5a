"""List entries and their lifecycle (docs/api.md#entries)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header

from api.auth import Role
from api.deps import AnyCaller, CreditOffice, CreditOfficeOrInitiator, Initiator, ServiceDep
from engine import entries
from engine.entries import EntryCreate, ObjectionBody, RepairBody, ResolutionBody

router = APIRouter(prefix="/v1/entries", tags=["entries"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="a repeat with the same key and body returns the first answer",
    ),
]


@router.post("", status_code=201, summary="Register a list entry")
def register_entry(
    body: EntryCreate,
    service: ServiceDep,
    caller: Initiator,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Register on a list the caller's department owns; lists the memoranda it triggers."""
    return entries.register(
        service,
        body,
        caller_name=caller.name,
        department=caller.department,
        idempotency_key=idempotency_key,
    )


@router.get("/{entry_id}", summary="One entry with its current status")
def get_entry(entry_id: str, service: ServiceDep, _caller: AnyCaller) -> dict[str, Any]:
    """The entry; 404 ``unknown_entry``."""
    return entries.show_entry(service, entry_id)


@router.post("/{entry_id}/revoke", summary="Revoke an entry of the caller's department")
def revoke_entry(entry_id: str, service: ServiceDep, caller: Initiator) -> dict[str, Any]:
    """Only the owning department; 409 ``invalid_state`` unless active or under objection."""
    return entries.revoke(service, entry_id, actor=caller.name, department=caller.department)


@router.post("/{entry_id}/objection", summary="Suspend an entry while an objection is verified")
def raise_objection(
    entry_id: str, body: ObjectionBody, service: ServiceDep, caller: CreditOffice
) -> dict[str, Any]:
    """Only from ``active`` (409 ``invalid_state``); the entry yields no hits until resolved.
    ``received_on`` defaults to today (China), a future date is 422; ``verify_by`` is
    received_on + ``objection_verify_working_days`` working days of the official calendar."""
    return entries.raise_objection(
        service,
        entry_id,
        body.reason,
        received_on=body.received_on,
        actor=caller.name,
        department=caller.department,
    )


@router.post("/{entry_id}/objection/resolution", summary="Resolve an objection")
def resolve_objection(
    entry_id: str, body: ResolutionBody, service: ServiceDep, caller: CreditOfficeOrInitiator
) -> dict[str, Any]:
    """The credit office, or an initiator of the entry's department (403 otherwise).
    ``upheld`` revokes the entry (and derived entries left without enough sources);
    ``rejected`` makes it active again; ``corrected`` with ``attributes`` and/or
    ``effective_to`` makes it active with the corrected values (422 naming the field for an
    attribute no trigger of the list reads, or an ``effective_to`` not after
    ``effective_from``)."""
    return entries.resolve_objection(
        service,
        entry_id,
        body,
        actor=caller.name,
        department=caller.department,
        credit_office=caller.has(Role.credit_office),
    )


@router.post("/{entry_id}/repair", summary="Credit repair (信用修复)")
def repair_entry(
    entry_id: str, service: ServiceDep, caller: CreditOffice, body: RepairBody | None = None
) -> dict[str, Any]:
    """409 ``not_repairable``, ``repair_too_early`` (details: earliest date), ``invalid_state``."""
    note = body.note if body is not None else None
    return entries.repair(service, entry_id, note, actor=caller.name, department=caller.department)
