"""What a commitment shows (docs/commitments.md#commitment-object)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from engine.calendar import working_days_between
from engine.state import Entry
from engine.state.commitments import Commitment, CommitmentStatus

STATUS_NAMES: dict[str, str] = {
    CommitmentStatus.active: "有效",
    CommitmentStatus.overdue: "逾期待核实",
    CommitmentStatus.fulfilled: "已履行",
    CommitmentStatus.breached: "已违诺",
}

DUE_NOTE = (
    "该日期所在年度的法定节假日安排尚未公布,按周一至周五计算工作日"
    " (the official calendar of that year is not known: Monday-Friday counted)"
)


def commitment_view(
    commitment: Commitment, *, today: dt.date, entries: Mapping[str, Entry]
) -> dict[str, Any]:
    """The Commitment object; ``entries`` resolves the breach entry (its status today)."""
    status = commitment.status_on(today)
    left = None
    if commitment.open and commitment.due_on is not None:
        left = working_days_between(today, commitment.due_on)
    fulfilment = commitment.fulfilment
    breach = commitment.breach
    breach_view = None
    if breach is not None:
        entry = entries.get(breach.entry_id)
        breach_view = {
            "decided_on": breach.decided_on.isoformat(),
            "doc_no": breach.doc_no,
            "reason": breach.reason,
            "entry_id": breach.entry_id,
            "entry_status": None if entry is None else entry.status_on(today).value,
        }
    return {
        "id": commitment.id,
        "subject_id": commitment.subject_id,
        "subject_kind": commitment.subject_kind.value,
        "department": commitment.department,
        "matter": commitment.matter,
        "content": commitment.content,
        "doc_no": commitment.doc_no,
        "made_on": commitment.made_on.isoformat(),
        "due_on": None if commitment.due_on is None else commitment.due_on.isoformat(),
        "due_on_note": DUE_NOTE if commitment.due_estimated else None,
        "status": status.value,
        "working_days_left": left,
        "fulfilment": None
        if fulfilment is None
        else {"fulfilled_on": fulfilment.fulfilled_on.isoformat(), "note": fulfilment.note},
        "breach": breach_view,
    }
