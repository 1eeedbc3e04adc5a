"""Working days on the official calendar (engine/calendar.py), across 国庆 and 春节."""

from __future__ import annotations

import datetime as dt

import pytest
import structlog

from engine import calendar
from engine.calendar import add_working_days, count_working_days, is_working_day

D = dt.date


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        # 国庆/中秋 2025: 10-01..10-08 holidays; Sunday 09-28 and Saturday 10-11 are workdays.
        (D(2025, 9, 26), 1, D(2025, 9, 28)),  # Friday -> the adjusted Sunday
        (D(2025, 9, 30), 1, D(2025, 10, 9)),  # over the eight-day holiday
        (D(2025, 10, 10), 1, D(2025, 10, 11)),  # Friday -> the adjusted Saturday
        (D(2025, 9, 26), 10, D(2025, 10, 16)),  # 09-28,29,30, 10-09,10,11,13,14,15,16
        # 春节 2025: 01-28..02-04 holidays; Sunday 01-26 and Saturday 02-08 are workdays.
        (D(2025, 1, 24), 1, D(2025, 1, 26)),
        (D(2025, 1, 27), 1, D(2025, 2, 5)),
        (D(2025, 2, 7), 1, D(2025, 2, 8)),
        # 01-26, 01-27, 02-05, 02-06, 02-07, 02-08, 02-10, 02-11, 02-12, 02-13
        (D(2025, 1, 24), 10, D(2025, 2, 13)),
    ],
)
def test_add_working_days_follows_the_official_calendar(day: D, n: int, expected: D) -> None:
    answer = add_working_days(day, n)
    assert (answer.day, answer.estimated) == (expected, False)


def test_holidays_and_adjusted_weekend_workdays() -> None:
    assert is_working_day(D(2025, 9, 28)) == (True, False)  # Sunday, adjusted workday
    assert is_working_day(D(2025, 10, 1)) == (False, False)  # 国庆
    assert is_working_day(D(2025, 10, 8)) == (False, False)
    assert is_working_day(D(2025, 1, 29)) == (False, False)  # 春节 (正月初一)
    assert is_working_day(D(2025, 2, 8)) == (True, False)  # Saturday, adjusted workday
    assert count_working_days(D(2025, 9, 30), D(2025, 10, 9)) == (1, False)


def test_a_year_the_calendar_does_not_know_counts_monday_to_friday_and_says_so() -> None:
    calendar._WARNED.discard(2100)
    with structlog.testing.capture_logs() as logs:
        answer = add_working_days(D(2099, 12, 31), 2)  # Thursday
    assert answer.day == D(2100, 1, 4)  # Friday 01-01, then Monday 01-04 (no holidays known)
    assert answer.estimated is True
    assert answer.note is not None and "Monday-Friday" in answer.note
    assert [log["year"] for log in logs if log["event"] == "calendar.year_unknown"] == [2100]
    assert add_working_days(D(9999, 12, 30), 5).day == D.max  # past the calendar: no crash


def test_zero_days_is_the_day_itself() -> None:
    assert add_working_days(D(2025, 10, 1), 0).day == D(2025, 10, 1)
