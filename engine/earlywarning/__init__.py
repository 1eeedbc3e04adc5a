"""Early warning (诚信预警): what is about to happen, for the credit office (docs/commitments.md).

Computed from the state on each request (one pass over the entries and commitments):
subjects one entry short of a derivation, entries about to expire or to leave the public
feed, open objections near or past ``verify_by``, open commitments near or past ``due_on``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from engine.calendar import add_working_days, working_days_between
from engine.entries.derivations import SYSTEM_DEPARTMENT
from engine.errors import InvalidRequest
from engine.paging import decode_position, encode_position
from engine.publication.feed import in_publicity
from engine.service import Service
from engine.state import Entry, EntryStatus, State
from engine.timing import add_days, china_today, days_before
from measures.bundle import Bundle

KINDS = (
    "derivation_threshold",
    "entry_expiring",
    "publicity_ending",
    "objection_due",
    "commitment_due",
)
MAX_LIMIT = 1000
MAX_WITHIN = 60
_CURSOR_PREFIX = "warning:"


@dataclass(frozen=True, slots=True)
class EarlyWarning:
    kind: str
    due_on: dt.date
    subject_id: str
    department: str
    reason: str
    numbers: dict[str, Any]
    entry_id: str | None = None
    commitment_id: str | None = None
    list: str | None = None

    def key(self) -> tuple[Any, ...]:
        return (
            self.due_on,
            KINDS.index(self.kind),
            self.subject_id,
            self.entry_id or self.commitment_id or str(self.numbers.get("derivation_id", "")),
        )

    def view(self, today: dt.date) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "due_on": self.due_on.isoformat(),
            "working_days_left": working_days_between(today, self.due_on),
            "subject_id": self.subject_id,
            "department": self.department,
            "entry_id": self.entry_id,
            "commitment_id": self.commitment_id,
            "list": self.list,
            "reason": self.reason,
            "numbers": self.numbers,
        }


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: {message}", details=[{"field": field, "message": message}])


def warnings_page(
    service: Service,
    *,
    kind: str | None = None,
    department: str | None = None,
    subject_id: str | None = None,
    within: int = 5,
    cursor: str | None = None,
    limit: int = 100,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """``GET /v1/warnings``: the page of warnings after ``cursor``, ordered by due date."""
    if kind is not None and kind not in KINDS:
        raise _invalid("kind", f"must be one of {', '.join(KINDS)}")
    if not 1 <= within <= MAX_WITHIN:
        raise _invalid("within", f"must be between 1 and {MAX_WITHIN}")
    if not 1 <= limit <= MAX_LIMIT:
        raise _invalid("limit", f"must be between 1 and {MAX_LIMIT}")
    offset = 0 if cursor is None else decode_position(_CURSOR_PREFIX, cursor)
    today = today or china_today()
    horizon = add_working_days(today, within).day
    service.catch_up()
    with service.state.lock:
        found = all_warnings(service.state, service.policy.bundle, today, horizon)
    wanted_subject = None if subject_id is None else subject_id.strip().upper()
    selected = [
        w
        for w in found
        if (kind is None or w.kind == kind)
        and (department is None or w.department == department)
        and (wanted_subject is None or w.subject_id == wanted_subject)
    ]
    selected.sort(key=EarlyWarning.key)
    page = selected[offset : offset + limit]
    more = offset + limit < len(selected)
    return {
        "as_of": today.isoformat(),
        "within": within,
        "horizon": horizon.isoformat(),
        "items": [w.view(today) for w in page],
        "next_cursor": encode_position(_CURSOR_PREFIX, offset + limit) if more else None,
    }


def all_warnings(
    state: State, bundle: Bundle, today: dt.date, horizon: dt.date
) -> list[EarlyWarning]:
    """Every warning on ``today`` with dates up to ``horizon`` (hold the state's lock)."""
    found = [*_derivation_warnings(state, bundle, today)]
    lists = bundle.vocabulary.lists
    for entry in state.entries.values():
        definition = lists.get(entry.list)
        name = definition.name if definition is not None else entry.list
        expiring = entry.effective_to is not None and entry.effective_to <= horizon
        if expiring and entry.in_force(today):
            found.append(_expiring(entry, name, today))
        if definition is not None and definition.published and entry.status is EntryStatus.active:
            leaving = _publicity_end(entry, definition.max_publicity_days, today)
            if (
                leaving is not None
                and leaving <= horizon
                and in_publicity(entry, definition, today)
            ):
                found.append(_publicity(entry, name, leaving, today))
        objection = entry.objection
        verify_by = None if objection is None or not objection.open else objection.verify_by
        if verify_by is not None and verify_by <= horizon:
            found.append(_objection(entry, verify_by, today))
    for commitment in state.commitments.values():
        if commitment.open and commitment.due_on is not None and commitment.due_on <= horizon:
            left = working_days_between(today, commitment.due_on)
            found.append(
                EarlyWarning(
                    kind="commitment_due",
                    due_on=commitment.due_on,
                    subject_id=commitment.subject_id,
                    department=commitment.department,
                    commitment_id=commitment.id,
                    reason=f"信用承诺({commitment.doc_no})履行期限 {commitment.due_on},"
                    + _left_text(left)
                    + ",尚未登记履行或违诺",
                    numbers={"due_on": commitment.due_on.isoformat(), "working_days_left": left},
                )
            )
    return found


def _left_text(left: int) -> str:
    return f"剩余 {left} 个工作日" if left >= 0 else f"已逾期 {-left} 个工作日"


def _expiring(entry: Entry, name: str, today: dt.date) -> EarlyWarning:
    assert entry.effective_to is not None
    left = working_days_between(today, entry.effective_to)
    last = days_before(entry.effective_to, 1)
    return EarlyWarning(
        kind="entry_expiring",
        due_on=entry.effective_to,
        subject_id=entry.subject_id,
        department=entry.department,
        entry_id=entry.id,
        list=entry.list,
        reason=f"{name}条目有效期至 {last}(自 {entry.effective_to} 起不再有效),{_left_text(left)}",
        numbers={"effective_to": entry.effective_to.isoformat(), "working_days_left": left},
    )


def _publicity_end(entry: Entry, max_days: int | None, today: dt.date) -> dt.date | None:
    """The first day the entry is off the public feed when that comes before its expiry."""
    if max_days is None:
        return None
    leaving = add_days(entry.effective_from, max_days + 1)
    if leaving is None or leaving <= today:
        return None
    if entry.effective_to is not None and entry.effective_to <= leaving:
        return None  # it expires first (an entry_expiring warning says so)
    return leaving


def _publicity(entry: Entry, name: str, leaving: dt.date, today: dt.date) -> EarlyWarning:
    left = working_days_between(today, leaving)
    return EarlyWarning(
        kind="publicity_ending",
        due_on=leaving,
        subject_id=entry.subject_id,
        department=entry.department,
        entry_id=entry.id,
        list=entry.list,
        reason=f"{name}条目公示期满,自 {leaving} 起不再公示(条目仍有效),{_left_text(left)}",
        numbers={"leaves_publicity_on": leaving.isoformat(), "working_days_left": left},
    )


def _objection(entry: Entry, verify_by: dt.date, today: dt.date) -> EarlyWarning:
    left = working_days_between(today, verify_by)
    return EarlyWarning(
        kind="objection_due",
        due_on=verify_by,
        subject_id=entry.subject_id,
        department=entry.department,
        entry_id=entry.id,
        list=entry.list,
        reason=f"异议核实期限 {verify_by},{_left_text(left)}",
        numbers={"verify_by": verify_by.isoformat(), "working_days_left": left},
    )


def _derivation_warnings(state: State, bundle: Bundle, today: dt.date) -> list[EarlyWarning]:
    """Subjects with ``at_least - 1`` entries that would qualify for a derivation today."""
    found: list[EarlyWarning] = []
    derivations = [d for d in bundle.derivations if d.at_least >= 2]
    if not derivations:
        return found
    from_lists = {d.from_list for d in derivations}
    by_subject: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for entry in state.entries.values():
        if entry.list in from_lists and entry.in_force(today):
            by_subject[(entry.subject_id, entry.list)].append(entry)
    lists = bundle.vocabulary.lists
    for derivation in derivations:
        window_start = days_before(today, derivation.within_days - 1)
        for (subject_id, list_code), entries in by_subject.items():
            if list_code != derivation.from_list:
                continue
            used = {
                source
                for other in state.entries_of(subject_id)
                if other.derivation_id == derivation.id and other.status is not EntryStatus.revoked
                for source in other.derived_from
            }
            qualifying = [
                e for e in entries if e.id not in used and window_start <= e.effective_from <= today
            ]
            if len(qualifying) != derivation.at_least - 1:
                continue
            drops = [add_days(e.effective_from, derivation.within_days) for e in qualifying]
            drops += [e.effective_to for e in qualifying]
            known = [day for day in drops if day is not None]
            if not known:
                continue
            due = min(known)
            from_name = lists[list_code].name if list_code in lists else list_code
            derive_list = derivation.derive_list
            to_name = lists[derive_list].name if derive_list in lists else derive_list
            count = len(qualifying)
            found.append(
                EarlyWarning(
                    kind="derivation_threshold",
                    due_on=due,
                    subject_id=subject_id,
                    department=SYSTEM_DEPARTMENT,
                    list=derive_list,
                    reason=(
                        f"{derivation.within_days} 天内已有 {count} 条{from_name},"
                        f"再有 1 条即达到 {derivation.at_least} 条,将列入{to_name}"
                        f"(按现有条目,计数自 {due} 起减少)"
                    ),
                    numbers={
                        "derivation_id": derivation.id,
                        "from_list": list_code,
                        "derive_list": derive_list,
                        "count": count,
                        "at_least": derivation.at_least,
                        "within_days": derivation.within_days,
                        "entry_ids": sorted(e.id for e in qualifying),
                    },
                )
            )
    return found
