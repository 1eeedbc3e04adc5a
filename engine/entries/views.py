"""An entry as the contract shows it, and what it triggers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.calendar import WorkingDays
from engine.policy.runtime import PolicyRuntime
from engine.state import Entry, Objection
from engine.timing import china_today


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
        "objection": objection_view(entry.objection),
        "derived_from": list(entry.derived_from),
    } | ({} if entry.origin is None else {"origin": dict(entry.origin)})


def objection_view(objection: Objection | None) -> dict[str, Any] | None:
    """The Entry's ``objection`` (the latest one), None when none was raised."""
    if objection is None:
        return None
    view: dict[str, Any] = {
        "reason": objection.reason,
        "received_on": _iso(objection.received_on),
        "verify_by": _iso(objection.verify_by),
        "outcome": objection.outcome,
        "resolved_on": _iso(objection.resolved_on),
        "note": objection.note,
    }
    if objection.estimated:
        view["verify_by_note"] = WorkingDays(objection.verify_by or dt.date.max, True).note
    return view


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def triggered_view(runtime: PolicyRuntime, entry: Entry) -> list[dict[str, Any]]:
    """``[{"memorandum_id", "measure_ids"}]`` for the memoranda the entry triggers."""
    return [
        {"memorandum_id": memo.id, "measure_ids": [m.id for m in memo.measures]}
        for memo in runtime.memoranda_for(entry)
    ]
