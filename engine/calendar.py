"""Working days (工作日) on the official Chinese calendar (docs/domain.md#working-days).

The State Council publishes each year's holidays and adjusted weekend workdays (调休) around
November of the year before; the ``chinesecalendar`` package (PyPI) carries those schedules.
A working day is a day the calendar marks as one: Monday–Friday except statutory holidays,
plus the adjusted weekend workdays (e.g. Sunday 2025-09-28 before 国庆). A day of a year the
package does not know yet (after its last known year, or before 2004) is counted Monday–Friday
and reported: a warning in the log (``calendar.year_unknown``) and ``estimated=True`` in the
answer, so that a deadline computed past the calendar says so instead of crashing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar
import structlog

log = structlog.get_logger(__name__)

_WARNED: set[int] = set()


@dataclass(frozen=True, slots=True)
class WorkingDays:
    """``day`` plus some working days, and whether a day of an unknown year was counted."""

    day: dt.date
    estimated: bool

    @property
    def note(self) -> str | None:
        """What the answer says when the date is an estimate, None otherwise."""
        if not self.estimated:
            return None
        return (
            "该日期所在年度的法定节假日安排尚未公布,按周一至周五计算工作日"
            " (the official calendar of that year is not known: Monday-Friday counted)"
        )


def is_working_day(day: dt.date) -> tuple[bool, bool]:
    """``(working, estimated)``: the official answer, or Monday–Friday for an unknown year."""
    try:
        return bool(chinese_calendar.is_workday(day)), False
    except NotImplementedError:
        if day.year not in _WARNED:
            _WARNED.add(day.year)
            log.warning("calendar.year_unknown", year=day.year, counted="monday_to_friday")
        return day.weekday() < 5, True


def add_working_days(day: dt.date, n: int) -> WorkingDays:
    """The ``n``-th working day after ``day`` (``day`` itself never counts; n >= 0).

    ``add_working_days(2025-09-26, 1)`` is Sunday 2025-09-28 (an adjusted workday);
    ``add_working_days(2025-09-30, 1)`` is 2025-10-09 (10-01..10-08 are 国庆/中秋 holidays).
    Past 9999-12-31 the answer stays at the last day of the calendar (estimated).
    """
    if n < 0:
        raise ValueError("n must not be negative")
    estimated = False
    current = day
    counted = 0
    while counted < n:
        try:
            current = current + dt.timedelta(days=1)
        except OverflowError:
            return WorkingDays(dt.date.max, True)
        working, guessed = is_working_day(current)
        estimated = estimated or guessed
        if working:
            counted += 1
    return WorkingDays(current, estimated)


def count_working_days(start: dt.date, end: dt.date) -> tuple[int, bool]:
    """``(count, estimated)``: the working days d with start < d <= end (0 when end <= start)."""
    count = 0
    estimated = False
    current = start
    while current < end:
        current = current + dt.timedelta(days=1)
        working, guessed = is_working_day(current)
        estimated = estimated or guessed
        count += working
    return count, estimated


def working_days_between(today: dt.date, day: dt.date) -> int:
    """Working days from ``today`` to ``day`` (today not counted); negative, the working days
    since, when ``day`` is past."""
    if day >= today:
        return count_working_days(today, day)[0]
    return -count_working_days(day, today)[0]
