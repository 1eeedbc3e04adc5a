"""双公示 timeliness: how many working days after ``decided_on`` each entry was registered.

An entry is registered on the China date of its ``entry.registered`` event; it is late when
more than ``settings.publication_working_days`` (default 7) working days of the official
calendar (engine/calendar.py) lie between its ``decided_on`` and that date. Entries the
service derived itself (``derivation_id``) are left out: they are not an administrative
decision a department publishes.
"""

from __future__ import annotations

import datetime as dt
from statistics import median
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from engine.calendar import is_working_day
from engine.errors import InvalidRequest
from engine.service import Service
from engine.store.events import EVENT_TABLE, EventType
from engine.timing import CHINA

_E = EVENT_TABLE.c


class WorkingDayCounter:
    """Working days between two dates from a prefix sum over the days one answer needs."""

    def __init__(self, first: dt.date, last: dt.date) -> None:
        self.first = first
        self.estimated = False
        self._prefix = [0]
        day = first
        while day < last:
            day += dt.timedelta(days=1)
            working, guessed = is_working_day(day)
            self.estimated = self.estimated or guessed
            self._prefix.append(self._prefix[-1] + working)

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days d with start < d <= end (0 when end <= start)."""
        if end <= start:
            return 0
        return self._prefix[(end - self.first).days] - self._prefix[(start - self.first).days]


def _summary(delays: list[int], limit: int) -> dict[str, Any]:
    return {
        "registered": len(delays),
        "late": sum(delay > limit for delay in delays),
        "median_delay_working_days": median(delays) if delays else None,
    }


def publication_stats(
    service: Service, *, since: dt.date | None = None, until: dt.date | None = None
) -> dict[str, Any]:
    """``GET /v1/stats/publication``: per department, and per month of registration within it.

    ``since``/``until`` bound the registration date (China), both days included.
    """
    if since is not None and until is not None and until < since:
        raise InvalidRequest(
            "until is before since",
            details=[{"field": "until", "message": "must not be before since"}],
        )
    query = sa.select(_E.seq, _E.recorded_at).where(_E.type == EventType.entry_registered.value)
    if since is not None:
        start = dt.datetime.combine(since, dt.time(), CHINA)
        query = query.where(_E.recorded_at >= start.astimezone(dt.UTC))
    if until is not None and until < dt.date.max:
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), CHINA)
        query = query.where(_E.recorded_at < end.astimezone(dt.UTC))
    with Session(service.engine) as session:
        registered = {int(seq): at for seq, at in session.execute(query.order_by(_E.seq))}
    service.catch_up()
    with service.state.lock:
        policy = service.policy.bundle.vocabulary
        entries = [
            (entry, registered[entry.registered_seq].astimezone(CHINA).date())
            for entry in service.state.entries.values()
            if entry.registered_seq in registered and entry.derivation_id is None
        ]
    limit = policy.settings.publication_working_days
    answer: dict[str, Any] = {
        "since": None if since is None else since.isoformat(),
        "until": None if until is None else until.isoformat(),
        "publication_working_days": limit,
        "departments": [],
    }
    if not entries:
        return answer
    first = min(min(entry.decided_on, on) for entry, on in entries)
    last = max(max(entry.decided_on, on) for entry, on in entries)
    counter = WorkingDayCounter(first, last)
    by_department: dict[str, dict[str, list[int]]] = {}
    for entry, on in entries:
        delay = counter.between(entry.decided_on, on)
        months = by_department.setdefault(entry.department, {})
        months.setdefault(f"{on:%Y-%m}", []).append(delay)
    for department in sorted(by_department):
        months = by_department[department]
        delays = [delay for month in months.values() for delay in month]
        answer["departments"].append(
            {
                "department": department,
                "name": policy.departments.get(department, department),
                **_summary(delays, limit),
                "months": [
                    {"month": month, **_summary(months[month], limit)} for month in sorted(months)
                ],
            }
        )
    if counter.estimated:
        answer["note"] = (
            "部分日期所在年度的法定节假日安排尚未公布,按周一至周五计算工作日"
            " (some years are not in the official calendar: Monday-Friday counted)"
        )
    return answer
