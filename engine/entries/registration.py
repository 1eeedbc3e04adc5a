"""List entries and their life: registration, revocation, objection, repair (contract/api.md).

Every change is one or more events appended through ``Service.write``; what an entry triggers
comes from the policy in force; derived entries are registered in the same transaction as
the entry that completes their qualifying set (``engine.derivations``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from sqlmodel import Session

from engine.entries.derivations import derive
from engine.entries.idempotency import request_digest
from engine.errors import Conflict, Forbidden, InvalidRequest, NotFound
from engine.policy.runtime import PolicyRuntime
from engine.registry.identifiers import china_today, normalize_subject_id
from engine.service import Service
from engine.state import Entry, EntryStatus, State, StateView
from engine.store.events import EventType, NewEvent
from engine.store.portable import PortableObject, refuse_nul
from engine.store.tables import IdempotencyRecord
from measures.bundle import Bundle
from measures.schema import SubjectKind

NonEmpty = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, strip_whitespace=True),
    AfterValidator(refuse_nul),
]


class EntryCreate(BaseModel):
    """``POST /v1/entries`` body."""

    model_config = ConfigDict(extra="forbid")

    list: NonEmpty
    subject_id: NonEmpty
    subject_kind: SubjectKind
    subject_name: NonEmpty | None = None
    decided_on: dt.date
    effective_from: dt.date | None = None
    effective_to: dt.date | None = Field(
        default=None,
        description="first day the entry no longer holds; omitted: effective_from + the list's "
        "default_duration_days; null: no end",
    )
    doc_no: NonEmpty
    reason: (
        Annotated[str, StringConstraints(max_length=2000), AfterValidator(refuse_nul)] | None
    ) = None
    attributes: PortableObject = Field(default_factory=dict)


def entry_view(entry: Entry, *, today: dt.date | None = None) -> dict[str, Any]:
    """The contract's Entry object."""
    return {
        "id": entry.id,
        "list": entry.list,
        "subject_id": entry.subject_id,
        "department": entry.department,
        "decided_on": entry.decided_on.isoformat(),
        "effective_from": entry.effective_from.isoformat(),
        "effective_to": None if entry.effective_to is None else entry.effective_to.isoformat(),
        "doc_no": entry.doc_no,
        "reason": entry.reason,
        "attributes": dict(entry.attributes),
        "status": entry.status_on(today or china_today()).value,
    }


def triggered_view(runtime: PolicyRuntime, entry: Entry) -> list[dict[str, Any]]:
    """``[{"memorandum_id", "measure_ids"}]`` for the memoranda the entry triggers."""
    return [
        {"memorandum_id": memo.id, "measure_ids": [m.id for m in memo.measures]}
        for memo in runtime.memoranda_for(entry)
    ]


def build_entry(
    request: EntryCreate, *, bundle: Bundle, department: str, entry_id: str | None = None
) -> Entry:
    """Validate a request against the vocabulary and fill in the defaults (no ownership check)."""
    definition = bundle.vocabulary.lists.get(request.list)
    if definition is None:
        raise InvalidRequest(
            f"unknown list {request.list!r}",
            details=[{"field": "list", "message": f"not a list of the policy: {request.list}"}],
        )
    subject_id = normalize_subject_id(
        request.subject_kind.value, request.subject_id, field="subject_id"
    )
    effective_from = request.effective_from or request.decided_on
    if "effective_to" in request.model_fields_set:
        effective_to = request.effective_to
    elif definition.default_duration_days is not None:
        effective_to = effective_from + dt.timedelta(days=definition.default_duration_days)
    else:
        effective_to = None
    if effective_to is not None and effective_to <= effective_from:
        raise InvalidRequest(
            "effective_to must be after effective_from",
            details=[{"field": "effective_to", "message": "must be after effective_from"}],
        )
    return Entry(
        id=entry_id or str(uuid.uuid4()),
        list=request.list,
        subject_id=subject_id,
        subject_kind=request.subject_kind,
        department=department,
        decided_on=request.decided_on,
        effective_from=effective_from,
        effective_to=effective_to,
        doc_no=request.doc_no,
        reason=request.reason,
        attributes=request.attributes,
        status=EntryStatus.active,
        registered_seq=0,
    )


def registration_events(
    state: StateView,
    bundle: Bundle,
    runtime: PolicyRuntime,
    entry: Entry,
    *,
    subject_name: str | None,
) -> list[NewEvent]:
    """The events registering ``entry`` (and its subject when unknown, and what it derives)."""
    known = state.subjects.get(entry.subject_id)
    if known is not None and known.kind is not entry.subject_kind:
        raise InvalidRequest(
            f"subject {entry.subject_id} is registered as {known.kind.value}",
            details=[{"field": "subject_kind", "message": f"the subject is a {known.kind.value}"}],
        )
    new: list[NewEvent] = []
    if known is None:
        subject = {
            "id": entry.subject_id,
            "kind": entry.subject_kind.value,
            "name": subject_name,
            "region": None,
        }
        new.append(NewEvent(EventType.subject_upserted, subject, subject_id=entry.subject_id))
    new.append(_registered(entry, runtime))
    for derived in derive(state, bundle, runtime, entry):
        new.append(_registered(derived, runtime))
    return new


def _registered(entry: Entry, runtime: PolicyRuntime) -> NewEvent:
    payload = {"entry": entry.to_payload(), "triggered": triggered_view(runtime, entry)}
    return NewEvent(
        EventType.entry_registered,
        payload,
        subject_id=entry.subject_id,
        department=entry.department,
    )


def register(
    service: Service,
    request: EntryCreate,
    *,
    caller_name: str,
    department: str,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Register an entry for a caller of ``department``; the 201 body of ``POST /v1/entries``."""
    digest = request_digest(request.model_dump(mode="json", exclude_unset=True))
    answer: dict[str, Any] = {}

    def build(session: Session, state: State) -> list[NewEvent]:
        if idempotency_key is not None:
            stored = _stored_answer(session, caller_name, idempotency_key, digest)
            if stored is not None:
                answer.update(stored)
                return []
        policy = service.policy
        bundle, runtime = policy.bundle, policy.runtime
        entry = build_entry(request, bundle=bundle, department=department)
        if department not in bundle.vocabulary.lists[entry.list].owners:
            raise Forbidden(
                f"department {department} does not own the list {entry.list}",
                details=[{"field": "list", "message": "not a list your department owns"}],
            )
        new = registration_events(state, bundle, runtime, entry, subject_name=request.subject_name)
        answer.update(_registration_answer(runtime, new))
        if idempotency_key is not None:
            session.add(
                IdempotencyRecord(
                    caller=caller_name, key=idempotency_key, request_sha256=digest, response=answer
                )
            )
        return new

    service.write(build)
    return answer


def _registration_answer(runtime: PolicyRuntime, new: list[NewEvent]) -> dict[str, Any]:
    registered = [
        Entry.from_payload(event.payload["entry"], seq=0)
        for event in new
        if event.type is EventType.entry_registered
    ]
    first, *derived = registered
    body: dict[str, Any] = {"entry": entry_view(first), "triggered": triggered_view(runtime, first)}
    body["derived"] = [
        {"entry": entry_view(entry), "triggered": triggered_view(runtime, entry)}
        for entry in derived
    ]
    return body


def _stored_answer(session: Session, caller: str, key: str, digest: str) -> dict[str, Any] | None:
    record = session.get(IdempotencyRecord, (caller, key))
    if record is None:
        return None
    if record.request_sha256 != digest:
        raise Conflict(
            "this Idempotency-Key was used with another request body",
            code="idempotency_conflict",
            details=[{"field": "Idempotency-Key", "message": "already used with another body"}],
        )
    return dict(record.response)


# --- lifecycle -----------------------------------------------------------------------------


def get_entry(state: State, entry_id: str) -> Entry:
    """The entry, or 404 ``unknown_entry``."""
    entry = state.entries.get(entry_id)
    if entry is None:
        raise NotFound(f"no entry {entry_id}", code="unknown_entry")
    return entry


def _invalid_state(entry: Entry, action: str, allowed: str) -> Conflict:
    status = entry.status_on(china_today()).value
    return Conflict(
        f"cannot {action} an entry that is {status} (only {allowed})",
        code="invalid_state",
        details=[{"status": status}],
    )


def _transition(
    service: Service,
    entry_id: str,
    check: Any,
    event_type: EventType,
    payload: dict[str, Any],
    *,
    actor: str,
    department: str,
) -> dict[str, Any]:
    def build(_session: Session, state: State) -> list[NewEvent]:
        entry = get_entry(state, entry_id)
        check(entry, state)
        return [
            NewEvent(
                event_type,
                {"entry_id": entry_id, **payload},
                subject_id=entry.subject_id,
                actor=actor,
                department=department,
            )
        ]

    service.write(build)
    return entry_view(service.state.entries[entry_id])


def revoke(service: Service, entry_id: str, *, actor: str, department: str) -> dict[str, Any]:
    """The owning department withdraws its entry (active or under objection, even if expired)."""

    def check(entry: Entry, _state: State) -> None:
        if entry.department != department:
            raise Forbidden(f"entry {entry_id} belongs to department {entry.department}")
        if entry.status not in (EntryStatus.active, EntryStatus.under_objection):
            raise _invalid_state(entry, "revoke", "active or under_objection")

    return _transition(
        service, entry_id, check, EventType.entry_revoked, {}, actor=actor, department=department
    )


def raise_objection(
    service: Service, entry_id: str, reason: str, *, actor: str, department: str
) -> dict[str, Any]:
    """Suspend an active entry while the objection is verified (异议期间暂停执行)."""

    def check(entry: Entry, _state: State) -> None:
        if entry.status_on(china_today()) is not EntryStatus.active:
            raise _invalid_state(entry, "raise an objection on", "active")

    return _transition(
        service,
        entry_id,
        check,
        EventType.objection_raised,
        {"reason": reason},
        actor=actor,
        department=department,
    )


def resolve_objection(
    service: Service, entry_id: str, outcome: str, note: str | None, *, actor: str, department: str
) -> dict[str, Any]:
    """Upheld: the entry is revoked; rejected: it is active again."""

    def check(entry: Entry, _state: State) -> None:
        if entry.status is not EntryStatus.under_objection:
            raise _invalid_state(entry, "resolve an objection on", "under_objection")

    return _transition(
        service,
        entry_id,
        check,
        EventType.objection_resolved,
        {"outcome": outcome, "note": note},
        actor=actor,
        department=department,
    )


def repair(
    service: Service, entry_id: str, note: str | None, *, actor: str, department: str
) -> dict[str, Any]:
    """信用修复 once the minimum publicity period is over."""

    def check(entry: Entry, _state: State) -> None:
        definition = service.policy.bundle.vocabulary.lists[entry.list]
        if not definition.repairable:
            raise Conflict(f"entries on {entry.list} are not repairable", code="not_repairable")
        today = china_today()
        if entry.status_on(today) is not EntryStatus.active:
            raise _invalid_state(entry, "repair", "active")
        earliest = entry.effective_from + dt.timedelta(days=definition.min_publicity_days)
        if today < earliest:
            raise Conflict(
                f"repair is possible from {earliest.isoformat()}",
                code="repair_too_early",
                details=[{"earliest": earliest.isoformat()}],
            )

    return _transition(
        service,
        entry_id,
        check,
        EventType.entry_repaired,
        {"note": note},
        actor=actor,
        department=department,
    )
