"""Objections (异议) on a working-day clock, their resolution, corrections (docs/api.md).

- ``raise_objection`` (credit office): only on an entry active today; ``received_on``
  (default today in China, never in the future) starts the clock: ``verify_by`` is
  ``received_on`` + ``objection_verify_working_days`` working days of the official calendar
  (``engine.calendar``). While under objection the entry yields no hits (联合惩戒措施在信息核实
  期间暂不执行).
- ``resolve_objection`` (the credit office, or an initiator of the entry's department: 信息提供
  单位核实): ``upheld`` revokes the entry (and the derived entries that fall with it,
  ``engine.entries.cascades``); ``rejected`` makes it active again; ``corrected`` makes it
  active again with corrected ``attributes`` (merged into the stored ones: the keys given
  replace theirs) and/or ``effective_to``. A corrected attribute must be one the triggers of
  the entry's list read (a ``field`` of a trigger condition of a memorandum on that list):
  another is a 422 naming ``attributes.<key>``, since correcting it would change nothing the
  service decides. What the entry triggers is evaluated afresh (``PolicyRuntime`` keeps
  triggers per entry with the attributes they were computed for).
- ``objections_page``: ``GET /v1/objections``, from the state (each entry's latest objection).

Every step is one event (``entry.objection_raised``, ``entry.objection_resolved``); payloads
logged before these fields existed still apply (``engine.state.projection``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import structlog
from sqlmodel import Session

from engine.calendar import add_working_days
from engine.entries.cascades import cascade_events
from engine.entries.lifecycle import _invalid_state, local_entry
from engine.entries.schemas import ResolutionBody
from engine.entries.views import entry_view
from engine.errors import Forbidden, InvalidRequest
from engine.paging import decode_position, encode_position
from engine.service import Service
from engine.state import Entry, EntryStatus, State
from engine.store.events import EventType, NewEvent
from engine.timing import china_today
from measures.bundle import Bundle
from measures.schema import AllOf, AnyOf, Comparison, Condition

log = structlog.get_logger(__name__)

MAX_LIMIT = 1000


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: {message}", details=[{"field": field, "message": message}])


def raise_objection(
    service: Service,
    entry_id: str,
    reason: str,
    *,
    received_on: dt.date | None = None,
    actor: str,
    department: str,
) -> dict[str, Any]:
    """Suspend an active entry while the objection is verified; the clock starts."""
    today = china_today()
    received = received_on or today
    if received > today:
        raise _invalid("received_on", f"is after today ({today.isoformat()}, China)")

    def build(_session: Session, state: State) -> list[NewEvent]:
        entry = local_entry(state, entry_id)
        if entry.status_on(today) is not EntryStatus.active:
            raise _invalid_state(entry, "raise an objection on", "active")
        days = service.policy.bundle.vocabulary.settings.objection_verify_working_days
        deadline = add_working_days(received, days)
        if deadline.estimated:
            log.warning("objection.deadline_estimated", entry_id=entry_id)
        payload = {
            "entry_id": entry_id,
            "reason": reason,
            "received_on": received.isoformat(),
            "verify_by": deadline.day.isoformat(),
            "verify_by_estimated": deadline.estimated,
        }
        return [
            NewEvent(
                EventType.objection_raised,
                payload,
                subject_id=entry.subject_id,
                actor=actor,
                department=department,
            )
        ]

    service.write(build)
    return entry_view(service.state.entries[entry_id])


def readable_fields(bundle: Bundle, list_code: str) -> set[str]:
    """The attributes the triggers of ``list_code`` read (fields of their conditions)."""
    fields: set[str] = set()
    for memo in bundle.memoranda.values():
        for trigger in memo.triggers:
            if trigger.list == list_code and trigger.when is not None:
                fields.update(_fields(trigger.when))
    return fields


def _fields(condition: Condition) -> Iterator[str]:
    if isinstance(condition, Comparison):
        yield condition.field
    elif isinstance(condition, AllOf):
        for part in condition.all:
            yield from _fields(part)
    elif isinstance(condition, AnyOf):
        for part in condition.any:
            yield from _fields(part)


def _correction(body: ResolutionBody, entry: Entry, bundle: Bundle) -> dict[str, Any]:
    """The payload fields of a correction, or 422 naming the field."""
    given = body.model_fields_set
    if body.outcome != "corrected":
        for field in ("attributes", "effective_to"):
            if field in given:
                raise _invalid(field, "only a 'corrected' outcome takes corrected values")
        return {}
    if "attributes" not in given and "effective_to" not in given:
        raise _invalid("outcome", "'corrected' needs 'attributes' and/or 'effective_to'")
    payload: dict[str, Any] = {}
    if "attributes" in given:
        attributes = body.attributes or {}
        readable = readable_fields(bundle, entry.list)
        for key in attributes:
            if key not in readable:
                known = ", ".join(sorted(readable)) or "none"
                raise _invalid(
                    f"attributes.{key}",
                    f"no trigger of the list {entry.list} reads it (triggers read: {known})",
                )
        payload["attributes"] = {**entry.attributes, **attributes}
    if "effective_to" in given:
        end = body.effective_to
        if end is not None and end <= entry.effective_from:
            raise _invalid(
                "effective_to", f"must be after effective_from ({entry.effective_from.isoformat()})"
            )
        payload["effective_to"] = None if end is None else end.isoformat()
    return payload


def resolve_objection(
    service: Service,
    entry_id: str,
    resolution: ResolutionBody | str,
    note: str | None = None,
    *,
    actor: str,
    department: str,
    credit_office: bool = True,
) -> dict[str, Any]:
    """Resolve the entry's open objection (credit office, or its own department).

    ``resolution`` is the request body, or just an outcome (with ``note``)."""
    today = china_today()
    body = (
        resolution
        if isinstance(resolution, ResolutionBody)
        else ResolutionBody.model_validate({"outcome": resolution, "note": note})
    )

    def build(_session: Session, state: State) -> list[NewEvent]:
        entry = local_entry(state, entry_id)
        if not credit_office and entry.department != department:
            raise Forbidden(
                f"entry {entry_id} belongs to department {entry.department}: only the credit "
                "office or that department resolves its objection"
            )
        if entry.status is not EntryStatus.under_objection:
            raise _invalid_state(entry, "resolve an objection on", "under_objection")
        bundle = service.policy.bundle
        payload = {
            "entry_id": entry_id,
            "outcome": body.outcome,
            "note": body.note,
            "resolved_on": today.isoformat(),
            **_correction(body, entry, bundle),
        }
        step = NewEvent(
            EventType.objection_resolved,
            payload,
            subject_id=entry.subject_id,
            actor=actor,
            department=department,
        )
        if body.outcome != "upheld":
            return [step]
        cascade = cascade_events(state, bundle, entry, "objection_upheld", on=today, actor=actor)
        return [step, *cascade]

    service.write(build)
    return entry_view(service.state.entries[entry_id])


# --- GET /v1/objections ----------------------------------------------------------------------

_CURSOR_PREFIX = "objection:"


def objection_item(entry: Entry, today: dt.date) -> dict[str, Any]:
    """One item of ``GET /v1/objections``."""
    objection = entry.objection
    assert objection is not None
    return {
        "entry_id": entry.id,
        "list": entry.list,
        "subject_id": entry.subject_id,
        "department": entry.department,
        "reason": objection.reason,
        "received_on": _iso(objection.received_on),
        "verify_by": _iso(objection.verify_by),
        "overdue": objection.overdue(today),
        "outcome": objection.outcome,
        "resolved_on": _iso(objection.resolved_on),
    }


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def objections_page(
    service: Service,
    *,
    department: str | None,
    status: str | None = None,
    overdue: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The latest objection of each entry (of ``department``; None: all), oldest raised first.

    ``status``: ``open`` or ``resolved``; ``overdue``: true keeps the open ones past
    ``verify_by``, false the others. The cursor is opaque; pass it back with the same filters.
    """
    if status not in (None, "open", "resolved"):
        raise _invalid("status", "must be open or resolved")
    if not 1 <= limit <= MAX_LIMIT:
        raise _invalid("limit", f"must be between 1 and {MAX_LIMIT}")
    after = 0 if cursor is None else decode_position(_CURSOR_PREFIX, cursor)
    today = china_today()
    service.catch_up()
    items: list[dict[str, Any]] = []
    more = False
    last = after
    with service.state.lock:
        state = service.state
        for entry_id, raised_seq in state.objections.items():
            if raised_seq <= after:
                continue
            entry = state.entries[entry_id]
            objection = entry.objection
            if objection is None:
                continue
            if department is not None and entry.department != department:
                continue
            if status is not None and objection.open != (status == "open"):
                continue
            if overdue is not None and objection.overdue(today) != overdue:
                continue
            if len(items) == limit:
                more = True
                break
            items.append(objection_item(entry, today))
            last = raised_seq
    next_cursor = encode_position(_CURSOR_PREFIX, last) if more else None
    return {"items": items, "next_cursor": next_cursor}
