"""An entry's history from the event log: registered, objection, resolution, repair, revocation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from engine.decisions.canonical import canonical_time
from engine.service import Service
from engine.store.events import EVENT_TABLE, EventType
from engine.timing import CHINA

_E = EVENT_TABLE.c

STEP_NAMES = {
    EventType.entry_registered.value: "registered",
    EventType.objection_raised.value: "objection",
    EventType.objection_resolved.value: "resolution",
    EventType.entry_repaired.value: "repair",
    EventType.entry_revoked.value: "revocation",
}
_IMPORTED = (EventType.entry_imported.value, EventType.entry_import_updated.value)
"""An imported entry's steps (docs/exchange.md): named as the origin's steps they follow."""


def _step(event_type: str, payload: dict[str, Any], recorded_at: dt.datetime) -> dict[str, Any]:
    step = STEP_NAMES[event_type]
    day = recorded_at.astimezone(CHINA).date().isoformat()
    if step == "objection":
        on, detail = payload.get("received_on") or day, payload.get("reason")
    elif step == "resolution":
        on, detail = payload.get("resolved_on") or day, payload.get("outcome")
    elif step == "registered":
        on, detail = day, None
    else:
        on, detail = payload.get("on") or day, payload.get("note") or payload.get("reason")
    return {
        "step": step,
        "on": on,
        "recorded_at": canonical_time(recorded_at),
        "detail": detail,
        "note": payload.get("note") if step == "resolution" else None,
    }


def histories(
    service: Service, subject_id: str, entry_ids: Collection[str], *, from_seq: int
) -> dict[str, list[dict[str, Any]]]:
    """Each of ``entry_ids`` (entries of ``subject_id``) -> its steps, oldest first."""
    found: dict[str, list[dict[str, Any]]] = {entry_id: [] for entry_id in entry_ids}
    if not found:
        return found
    query = (
        sa.select(_E.type, _E.payload, _E.recorded_at)
        .where(_E.subject_id == subject_id)
        .where(_E.type.in_([*STEP_NAMES, *_IMPORTED]))
        .where(_E.seq >= from_seq)
        .order_by(_E.seq)
    )
    with Session(service.engine) as session:
        for stored_type, payload, recorded_at in session.execute(query):
            event_type = stored_type
            if stored_type == EventType.entry_imported.value:
                event_type = EventType.entry_registered.value
            elif stored_type == EventType.entry_import_updated.value:
                event_type = payload["origin"]["type"]
            entry_id = (
                payload["entry"]["id"]
                if event_type == EventType.entry_registered.value
                else payload.get("entry_id")
            )
            if entry_id in found:
                found[entry_id].append(_step(event_type, payload, recorded_at))
    return found
