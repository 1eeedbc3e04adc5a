"""Registering list entries (docs/api.md#list-entries).

A registration is one ``Service.write``: the entry's subject when unknown, the entry with
what it triggers under the policy in force, and the entries it derives
(``engine.entries.derivations``), in one transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from engine.entries.derivations import derive
from engine.entries.idempotency import idempotent_write
from engine.entries.schemas import EntryCreate
from engine.entries.views import entry_view, triggered_view
from engine.errors import Code, Conflict, Forbidden, InvalidRequest
from engine.policy.runtime import PolicyRuntime
from engine.registry.identifiers import normalize_subject_id
from engine.service import Service
from engine.state import Entry, EntryStatus, State, StateView
from engine.store.events import EventType, NewEvent
from engine.timing import add_days
from measures.bundle import Bundle
from measures.schema import SubjectKind


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
    subject_id = normalize_subject_id(request.subject_kind, request.subject_id, field="subject_id")
    effective_from = request.effective_from or request.decided_on
    if "effective_to" in request.model_fields_set:
        effective_to = request.effective_to
    elif definition.default_duration_days is not None:
        effective_to = add_days(effective_from, definition.default_duration_days)
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


def same_entry(state: StateView, entry: Entry) -> Entry | None:
    """A stored entry with the same (list, subject_id, department, doc_no, decided_on)."""
    for other in state.entries_of(entry.subject_id):
        if (other.list, other.department, other.doc_no, other.decided_on) == (
            entry.list,
            entry.department,
            entry.doc_no,
            entry.decided_on,
        ):
            return other
    return None


def duplicate(stored: Entry) -> Conflict:
    """409 ``duplicate_entry`` naming the stored entry."""
    return Conflict(
        f"entry {stored.id} is stored with the same list, subject_id, department, doc_no and "
        "decided_on",
        code=Code.duplicate_entry,
        details=[{"entry_id": stored.id, "message": "the stored entry with the same key"}],
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
    new = subject_events(state, entry.subject_id, entry.subject_kind, subject_name)
    new.append(_registered(entry, runtime))
    for derived in derive(state, bundle, runtime, entry):
        new.append(_registered(derived, runtime))
    return new


def subject_events(
    state: StateView, subject_id: str, kind: SubjectKind, name: str | None
) -> list[NewEvent]:
    """The event registering an unknown subject (none when known); 422 ``subject_kind`` when
    it is known as the other kind."""
    known = state.subjects.get(subject_id)
    if known is not None and known.kind is not kind:
        raise InvalidRequest(
            f"subject {subject_id} is registered as {known.kind.value}",
            details=[{"field": "subject_kind", "message": f"the subject is a {known.kind.value}"}],
        )
    if known is not None:
        return []
    subject = {"id": subject_id, "kind": kind.value, "name": name, "region": None}
    return [NewEvent(EventType.subject_upserted, subject, subject_id=subject_id)]


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

    def build(_session: Session, state: State) -> tuple[list[NewEvent], dict[str, Any]]:
        policy = service.policy
        bundle, runtime = policy.bundle, policy.runtime
        entry = build_entry(request, bundle=bundle, department=department)
        if department not in bundle.vocabulary.lists[entry.list].owners:
            raise Forbidden(
                f"department {department} does not own the list {entry.list}",
                details=[{"field": "list", "message": "not a list your department owns"}],
            )
        same = same_entry(state, entry)
        if same is not None:
            raise duplicate(same)
        new = registration_events(state, bundle, runtime, entry, subject_name=request.subject_name)
        return new, registration_answer(runtime, new)

    body = request.model_dump(mode="json", exclude_unset=True)
    return idempotent_write(service, caller_name, idempotency_key, body, build)


def registration_answer(runtime: PolicyRuntime, new: list[NewEvent]) -> dict[str, Any]:
    """``{"entry", "triggered", "derived"}`` of the entries ``new`` registers (first: the one
    asked for, then what it derived)."""
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
