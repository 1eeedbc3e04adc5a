"""The one time model of the service: what "now", "today", a date and a time without offset mean.

- **China time is UTC+08:00, a fixed offset.** Not the historical ``Asia/Shanghai`` rules:
  those give +09:00 in the summers of 1986–1991 and local mean time (+08:05:43) before 1901,
  and a decision about a date must not move by an hour because of them. China has kept
  +08:00 all year since 1992, so for every date the service sees today the two agree.
- **"Today"** is the date in China now; validity (effective_from <= day < effective_to),
  expiry, publicity periods and repairs are judged on dates in China.
- **A time without an offset** (``as_of``, ``since``, ``until``, on every route and command)
  is China time. Times are stored and hashed in UTC.
- **Dates the service computes with** lie in 1900-01-01..9999-12-31 (``FIRST_DAY``,
  ``LAST_DAY``), times likewise once converted to China time. A date or time outside is a
  422 naming the field (``TimeOutOfRange``) on every route and a ``FILE:LINE`` problem in
  ``jrp import``, never a 500.
- **A period that runs past the calendar** (``effective_from`` + a policy's days beyond
  9999-12-31) has no end: ``add_days`` answers None, as an entry without ``effective_to``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from engine.errors import InvalidRequest

CHINA = dt.timezone(dt.timedelta(hours=8), "UTC+08:00")
"""China time: a fixed +08:00 offset (see the module docstring)."""

FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9999, 12, 31)
"""The dates the service accepts (see the module docstring)."""
_RANGE = f"{FIRST_DAY.isoformat()}..{LAST_DAY.isoformat()}"


class TimeOutOfRange(InvalidRequest):
    """A date or time outside what the service computes with; names the field (422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details=[{"field": field, "message": message}])
        self.field = field


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def china_now() -> dt.datetime:
    """The current time in China (+08:00)."""
    return dt.datetime.now(CHINA)


_FIXED_TODAY: ContextVar[dt.date | None] = ContextVar("jrp_fixed_today", default=None)


@contextmanager
def fixed_today(day: dt.date | None) -> Iterator[None]:
    """``china_today()`` answers ``day`` in this context (``jrp test``'s ``today``); None: real."""
    token = _FIXED_TODAY.set(day)
    try:
        yield
    finally:
        _FIXED_TODAY.reset(token)


def china_today() -> dt.date:
    """Today's date in China (or the day ``fixed_today`` set for this context)."""
    fixed = _FIXED_TODAY.get()
    return fixed if fixed is not None else dt.datetime.now(CHINA).date()


def in_china(moment: dt.datetime, *, field: str) -> dt.datetime:
    """``moment`` in China time (a time without offset is China time already); 422 naming
    ``field`` when its date in China is outside ``FIRST_DAY..LAST_DAY``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    try:
        local = moment.astimezone(CHINA)
    except OverflowError:  # year 1 or 9999 across the offset
        raise TimeOutOfRange(field, f"must be a time in {_RANGE} (China time)") from None
    check_date(local.date(), field=field, what="a time")
    return local


def in_utc(moment: dt.datetime, *, field: str) -> dt.datetime:
    """``moment`` in UTC, checked as ``in_china`` checks it."""
    return in_china(moment, field=field).astimezone(dt.UTC)


def check_date(day: dt.date, *, field: str, what: str = "a date") -> dt.date:
    """``day``, or 422 naming ``field`` when it is outside ``FIRST_DAY..LAST_DAY``."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise TimeOutOfRange(field, f"must be {what} in {_RANGE}")
    return day


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    # The contract's dates are YYYY-MM-DD; pydantic alone would also take Unix timestamps.
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("date_format", "must be a date YYYY-MM-DD, not a time")
    if isinstance(value, dt.date):
        if not FIRST_DAY <= value <= LAST_DAY:
            raise PydanticCustomError("date_range", f"must be a date in {_RANGE}")
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError(
                "date_value", "{value} is not a calendar date", {"value": value.strip()}
            ) from None
        if not FIRST_DAY <= day <= LAST_DAY:
            raise PydanticCustomError("date_range", f"must be a date in {_RANGE}")
        return day
    raise PydanticCustomError("date_format", "must be a date YYYY-MM-DD")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
"""A request's date: ``YYYY-MM-DD`` (no timestamps, no times) in ``FIRST_DAY..LAST_DAY``."""


def add_days(day: dt.date, days: int) -> dt.date | None:
    """``day + days``, or None when that is past the end of the calendar (no end)."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return None


def add_years(day: dt.date, years: int) -> dt.date | None:
    """The ``years``-th anniversary of ``day`` (29 Feb -> 28 Feb); None past the calendar."""
    year = day.year + years
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        return None
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=year, day=28)


def whole_years(start: dt.date, end: dt.date) -> int:
    """Anniversaries of ``start`` reached by ``end`` (0 when ``end`` is before the first)."""
    years = end.year - start.year
    anniversary = add_years(start, years)
    if anniversary is None or anniversary > end:
        years -= 1
    return max(years, 0)


def days_before(day: dt.date, days: int) -> dt.date:
    """``day - days``, or the calendar's first day when that is before it."""
    try:
        return day - dt.timedelta(days=days)
    except OverflowError:
        return dt.date.min
