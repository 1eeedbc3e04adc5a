"""Recording commitments, their fulfilment and breach; reading them (docs/commitments.md).

Every step is one ``Service.write``: its checks run against the state caught up under the
log lock, and its events (with, for a breach, the breach entry's registration and what it
derives) are appended in one transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from typing import Any

from sqlmodel import Session

from engine.calendar import add_working_days
from engine.commitments.schemas import BreachBody, CommitmentCreate, FulfilmentBody
from engine.commitments.views import commitment_view
from engine.entries.idempotency import idempotent_write
from engine.entries.registration import (
    build_entry,
    duplicate,
    registration_answer,
    registration_events,
    same_entry,
    subject_events,
)
from engine.entries.schemas import EntryCreate
from engine.errors import Code, Conflict, Forbidden, InvalidRequest, NotFound
from engine.paging import decode_position, encode_position
from engine.registry.identifiers import normalize_subject_id
from engine.service import Service
from engine.state import State
from engine.state.commitments import Breach, Commitment, CommitmentStatus
from engine.store.events import EventType, NewEvent
from engine.timing import add_days, china_today

BREACH_LIST = "commitment_breach"
"""The list a breach is registered on (memoranda/vocabulary.yaml)."""
MAX_DUE_DAYS = 3660
"""``due_on`` at most this many days after ``made_on`` (ten years)."""
MAX_LIMIT = 1000
_CURSOR_PREFIX = "commitment:"


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: {message}", details=[{"field": field, "message": message}])


def get_commitment(state: State, commitment_id: str) -> Commitment:
    """The commitment, or 404 ``unknown_commitment``."""
    found = state.commitments.get(commitment_id)
    if found is None:
        raise NotFound(f"no commitment {commitment_id}", code=Code.unknown_commitment)
    return found


def _readable(commitment: Commitment, department: str | None) -> Commitment:
    if department is not None and commitment.department != department:
        raise Forbidden(f"commitment {commitment.id} belongs to department {commitment.department}")
    return commitment


# --- writing -------------------------------------------------------------------------------


def _due(request: CommitmentCreate) -> tuple[dt.date | None, bool]:
    """``(due_on, estimated)`` from ``due_on`` or ``due_working_days``; 422 naming the field."""
    if request.due_on is not None and request.due_working_days is not None:
        raise _invalid("due_working_days", "give either due_on or due_working_days, not both")
    latest = add_days(request.made_on, MAX_DUE_DAYS)
    if request.due_working_days is not None:
        due = add_working_days(request.made_on, request.due_working_days)
        return due.day, due.estimated
    if request.due_on is None:
        return None, False
    if request.due_on < request.made_on:
        raise _invalid("due_on", "must not be before made_on")
    if latest is not None and request.due_on > latest:
        raise _invalid("due_on", f"must be at most {MAX_DUE_DAYS} days after made_on")
    return request.due_on, False


def record(
    service: Service,
    request: CommitmentCreate,
    *,
    caller_name: str,
    department: str,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """``POST /v1/commitments``: the 201 body ``{"commitment"}``."""
    today = china_today()
    if request.made_on > today:
        raise _invalid("made_on", f"is after today ({today.isoformat()}, China)")
    subject_id = normalize_subject_id(request.subject_kind, request.subject_id, field="subject_id")
    due_on, estimated = _due(request)

    def build(_session: Session, state: State) -> tuple[list[NewEvent], dict[str, Any]]:
        bundle = service.policy.bundle
        if request.matter not in bundle.vocabulary.matters:
            raise _invalid("matter", f"not a matter of the policy: {request.matter}")
        breach_list = bundle.vocabulary.lists.get(BREACH_LIST)
        if breach_list is None or department not in breach_list.owners:
            raise Forbidden(
                f"department {department} does not own the list {BREACH_LIST}: it cannot take "
                "commitments whose breach it could not register"
            )
        for other in state.commitments_of(subject_id):
            if (other.department, other.doc_no) == (department, request.doc_no):
                raise Conflict(
                    f"commitment {other.id} is stored with the same subject_id, department and "
                    "doc_no",
                    code=Code.duplicate_commitment,
                    details=[{"commitment_id": other.id, "message": "the stored commitment"}],
                )
        commitment = Commitment(
            id=str(uuid.uuid4()),
            subject_id=subject_id,
            subject_kind=request.subject_kind,
            department=department,
            matter=request.matter,
            content=request.content,
            doc_no=request.doc_no,
            made_on=request.made_on,
            due_on=due_on,
            recorded_seq=0,
            due_estimated=estimated,
        )
        new = subject_events(state, subject_id, request.subject_kind, request.subject_name)
        new.append(
            NewEvent(
                EventType.commitment_recorded,
                {"commitment": commitment.to_payload()},
                subject_id=subject_id,
                actor=caller_name,
                department=department,
            )
        )
        view = commitment_view(commitment, today=today, entries=state.entries)
        return new, {"commitment": view}

    body = request.model_dump(mode="json", exclude_unset=True)
    return idempotent_write(service, caller_name, idempotency_key, body, build)


def _open_for(commitment: Commitment, department: str, action: str, today: dt.date) -> None:
    if commitment.department != department:
        raise Forbidden(f"commitment {commitment.id} belongs to department {commitment.department}")
    if not commitment.open:
        status = commitment.status_on(today).value
        raise Conflict(
            f"cannot {action} a commitment that is {status} (only active or overdue)",
            code=Code.invalid_state,
            details=[{"status": status}],
        )


def _step_date(day: dt.date, commitment: Commitment, field: str, today: dt.date) -> None:
    if day > today:
        raise _invalid(field, f"is after today ({today.isoformat()}, China)")
    if day < commitment.made_on:
        raise _invalid(field, f"is before the commitment's made_on ({commitment.made_on})")


def fulfil(
    service: Service,
    commitment_id: str,
    body: FulfilmentBody,
    *,
    actor: str,
    department: str,
) -> dict[str, Any]:
    """``POST /v1/commitments/{id}/fulfilment``: the commitment, fulfilled."""
    today = china_today()
    fulfilled_on = body.fulfilled_on or today

    def build(_session: Session, state: State) -> list[NewEvent]:
        commitment = get_commitment(state, commitment_id)
        _open_for(commitment, department, "fulfil", today)
        _step_date(fulfilled_on, commitment, "fulfilled_on", today)
        payload = {
            "commitment_id": commitment_id,
            "fulfilled_on": fulfilled_on.isoformat(),
            "note": body.note,
        }
        step = NewEvent(
            EventType.commitment_fulfilled,
            payload,
            subject_id=commitment.subject_id,
            actor=actor,
            department=department,
        )
        return [step]

    service.write(build)
    state = service.state
    return commitment_view(state.commitments[commitment_id], today=today, entries=state.entries)


def breach(
    service: Service,
    commitment_id: str,
    body: BreachBody,
    *,
    caller_name: str,
    department: str,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """``POST /v1/commitments/{id}/breach``: the breach and its entry on the breach list."""
    today = china_today()
    if "commitment_id" in body.attributes or "matter" in body.attributes:
        key = "commitment_id" if "commitment_id" in body.attributes else "matter"
        raise _invalid(f"attributes.{key}", "is set by the service from the commitment")

    def build(_session: Session, state: State) -> tuple[list[NewEvent], dict[str, Any]]:
        commitment = get_commitment(state, commitment_id)
        _open_for(commitment, department, "register a breach of", today)
        _step_date(body.decided_on, commitment, "decided_on", today)
        policy = service.policy
        request: dict[str, Any] = {
            "list": BREACH_LIST,
            "subject_id": commitment.subject_id,
            "subject_kind": commitment.subject_kind,
            "decided_on": body.decided_on,
            "doc_no": body.doc_no,
            "reason": body.reason,
            "attributes": {
                **body.attributes,
                "commitment_id": commitment.id,
                "matter": commitment.matter,
            },
        }
        if "effective_to" in body.model_fields_set:
            request["effective_to"] = body.effective_to
        if BREACH_LIST not in policy.bundle.vocabulary.lists:
            raise Forbidden(f"the policy in force has no list {BREACH_LIST}")
        entry = build_entry(
            EntryCreate.model_validate(request), bundle=policy.bundle, department=department
        )
        same = same_entry(state, entry)
        if same is not None:
            raise duplicate(same)
        step = NewEvent(
            EventType.commitment_breached,
            {
                "commitment_id": commitment.id,
                "decided_on": body.decided_on.isoformat(),
                "doc_no": body.doc_no,
                "reason": body.reason,
                "entry_id": entry.id,
            },
            subject_id=commitment.subject_id,
            actor=caller_name,
            department=department,
        )
        registered = registration_events(
            state, policy.bundle, policy.runtime, entry, subject_name=None
        )
        answer = registration_answer(policy.runtime, registered)
        breached = replace(
            commitment, breach=Breach(body.decided_on, body.doc_no, body.reason, entry.id)
        )
        view = commitment_view(breached, today=today, entries={entry.id: entry})
        return [step, *registered], {"commitment": view, **answer}

    request = {"commitment_id": commitment_id, **body.model_dump(mode="json", exclude_unset=True)}
    return idempotent_write(service, caller_name, idempotency_key, request, build)


# --- reading -------------------------------------------------------------------------------


def show(service: Service, commitment_id: str, *, department: str | None) -> dict[str, Any]:
    """``GET /v1/commitments/{id}``; ``department``: the caller's when it reads only its own."""
    service.catch_up()
    with service.state.lock:
        state = service.state
        commitment = _readable(get_commitment(state, commitment_id), department)
        return commitment_view(commitment, today=china_today(), entries=state.entries)


def commitments_page(
    service: Service,
    *,
    only_department: str | None,
    department: str | None = None,
    subject_id: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """``GET /v1/commitments``, oldest recorded first. ``only_department``: the caller's when it
    reads only its own (asking for another ``department`` is 403)."""
    if status is not None and status not in CommitmentStatus.__members__:
        raise _invalid("status", "must be one of active, overdue, fulfilled, breached")
    if not 1 <= limit <= MAX_LIMIT:
        raise _invalid("limit", f"must be between 1 and {MAX_LIMIT}")
    if only_department is not None:
        if department not in (None, only_department):
            raise Forbidden(f"you read only the commitments of department {only_department}")
        department = only_department
    after = 0 if cursor is None else decode_position(_CURSOR_PREFIX, cursor)
    today = china_today()
    service.catch_up()
    items: list[dict[str, Any]] = []
    more = False
    last = after
    with service.state.lock:
        state = service.state
        if subject_id is not None:
            subject_id = subject_id.strip().upper()
            candidates = state.commitments_of(subject_id)
        else:
            candidates = list(state.commitments.values())
        for commitment in candidates:
            if commitment.recorded_seq <= after:
                continue
            if department is not None and commitment.department != department:
                continue
            if status is not None and commitment.status_on(today).value != status:
                continue
            if len(items) == limit:
                more = True
                break
            items.append(commitment_view(commitment, today=today, entries=state.entries))
            last = commitment.recorded_seq
    return {"items": items, "next_cursor": encode_position(_CURSOR_PREFIX, last) if more else None}


def commitments_of(service: Service, subject_id: str, today: dt.date) -> list[dict[str, Any]]:
    """The views of a subject's commitments (call with the state caught up and locked)."""
    state = service.state
    return [
        commitment_view(commitment, today=today, entries=state.entries)
        for commitment in state.commitments_of(subject_id)
    ]
