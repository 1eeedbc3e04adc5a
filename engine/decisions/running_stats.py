"""Feedback statistics as running totals: ``feedback_stats``'s figures without a full pass.

``feedback_stats`` (engine/decisions/feedback.py) unnests every logged answer's hits on each
call, so it grows with the whole decision log. The console's overview and statistics pages
read ``FeedbackTotals.stats()`` instead, which keeps, per process:

- per department, ``checks``, ``checks_with_hits`` and ``hits`` (distinct measure ids of a
  decision's hits) over the decisions up to ``seq``. The first call reads them from
  ``decision`` (a count per department) and the decision-hit index (``decision_hit``: only
  decisions with hits, a decision's measure ids split over its entries' rows); later calls
  add only the decisions logged since (``seq`` above the last one seen: the log is a hash
  chain, appended in ``seq`` order under its lock, never updated, so nothing can appear
  below it later), reading their hits from the answers as ``feedback_stats`` does;
- the feedback figures (``feedback_received``, ``fed_back``, ``hits_with_feedback``,
  ``executed``), recomputed from the feedback table only when it changed (rows are only
  ever inserted: its row count and highest id tell). Feedback counts only on a hit of its
  decision (as the statistics' join does), so the hit measure ids of the decisions that
  have feedback are kept (they never change once logged).

The figures are ``feedback_stats``'s exactly (tests/engine/decisions/test_running_stats.py
compares them on a log with several departments, repeated and late feedback, and decisions
added between calls, on both databases).
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from engine.decisions.browse import counts_per_day, days_listed
from engine.store.tables import DECISION_HIT_TABLE, DECISION_TABLE, Feedback
from engine.timing import CHINA, china_today

_D = DECISION_TABLE.c
_H = DECISION_HIT_TABLE.c
_F: sa.Table = Feedback.__table__  # type: ignore[attr-defined]

_CHUNK = 2000
KEPT_DAYS = 62
"""Checks per day are kept from this many days before the first read on (the overview asks
for 14); a longer range is counted in SQL (``browse.checks_per_day``)."""


def hit_measures(response: Mapping[str, Any]) -> frozenset[str]:
    """The distinct measure ids of an answer's hits, as the statistics count them (hits that
    are objects with a text ``measure_id``)."""
    hits = response.get("hits")
    if not isinstance(hits, list):
        return frozenset()
    return frozenset(
        hit["measure_id"]
        for hit in hits
        if isinstance(hit, dict) and isinstance(hit.get("measure_id"), str)
    )


@dataclass
class _Department:
    checks: int = 0
    checks_with_hits: int = 0
    hits: int = 0


@dataclass
class _FeedbackFigures:
    feedback_received: int = 0
    fed_back: int = 0
    hits_with_feedback: int = 0
    executed: int = 0


@dataclass
class FeedbackTotals:
    """Running totals of one database's feedback statistics (thread-safe)."""

    engine: Engine
    _seq: int = 0
    _departments: dict[str, _Department] = field(default_factory=dict)
    _feedback_mark: tuple[int, int] | None = None
    _feedback: dict[str, _FeedbackFigures] = field(default_factory=dict)
    _hits_of: dict[str, frozenset[str]] = field(default_factory=dict)
    """decision_id -> its hit measure ids, for the decisions that have feedback."""
    _days: dict[str, list[int]] = field(default_factory=dict)
    """China day (ISO) -> [checks, checks with hits], from ``_days_from`` on."""
    _days_from: dt.date | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stats(self) -> list[dict[str, Any]]:
        """``feedback_stats``'s list: one item per deciding department, by department."""
        with self._lock, self.engine.connect() as connection:
            self._add_decisions(connection)
            self._refresh_feedback(connection)
            return self._items()

    def checks_per_day(self, *, days: int, today: dt.date) -> list[dict[str, Any]]:
        """``browse.checks_per_day``'s list (checks, and those whose outcome is not clear)."""
        first = today - dt.timedelta(days=days - 1)
        with self._lock, self.engine.connect() as connection:
            self._add_decisions(connection)
            if self._days_from is None or first < self._days_from:
                return days_listed(counts_per_day(connection, since=first), first, days)
            found = {day: (counts[0], counts[1]) for day, counts in self._days.items()}
        return days_listed(found, first, days)

    # --- decisions ------------------------------------------------------------------------

    def _add_decisions(self, connection: Connection) -> None:
        head = connection.execute(sa.select(sa.func.max(_D.seq))).scalar()
        if head is None or int(head) <= self._seq:
            return
        head = int(head)
        if self._seq == 0:
            self._load(connection, head)
        else:
            self._append(connection, head)
        self._seq = head

    def _load(self, connection: Connection, head: int) -> None:
        """Everything up to ``head``: counts per department, hits from the index."""
        for department, checks in connection.execute(
            sa.select(_D.department, sa.func.count()).where(_D.seq <= head).group_by(_D.department)
        ):
            self._department(department).checks += int(checks)
        per_decision: dict[int, tuple[str, set[str]]] = {}
        for seq, department, measure_ids in connection.execute(
            sa.select(_H.decision_seq, _H.department, _H.measure_ids).where(_H.decision_seq <= head)
        ):
            found = per_decision.setdefault(int(seq), (department, set()))
            found[1].update(m for m in measure_ids if isinstance(m, str))
        for department, measures in per_decision.values():
            self._count_hits(department, len(measures))
        self._days_from = china_today() - dt.timedelta(days=KEPT_DAYS - 1)
        per_day = counts_per_day(connection, since=self._days_from, up_to_seq=head)
        self._days = {day: [checks, hits] for day, (checks, hits) in per_day.items()}

    def _append(self, connection: Connection, head: int) -> None:
        """The decisions after the last seen, up to ``head``, in chunks of ``seq``."""
        after = self._seq
        while after < head:
            rows = connection.execute(
                sa.select(_D.seq, _D.department, _D.response, _D.decided_at)
                .where(_D.seq > after, _D.seq <= head)
                .order_by(_D.seq)
                .limit(_CHUNK)
            ).all()
            if not rows:
                break
            for _seq, department, response, decided_at in rows:
                self._department(department).checks += 1
                self._count_hits(department, len(hit_measures(response)))
                self._count_day(decided_at, response)
            after = int(rows[-1][0])

    def _count_day(self, decided_at: dt.datetime, response: Mapping[str, Any]) -> None:
        """Count a decision on its China day (as ``counts_per_day``: hits = outcome not clear)."""
        moment = decided_at if decided_at.tzinfo else decided_at.replace(tzinfo=dt.UTC)
        day = moment.astimezone(CHINA).date()
        if self._days_from is None or day < self._days_from:
            return
        counts = self._days.setdefault(day.isoformat(), [0, 0])
        counts[0] += 1
        outcome = response.get("outcome")
        counts[1] += outcome is not None and outcome != "clear"

    def _count_hits(self, department: str, hits: int) -> None:
        if hits:
            totals = self._department(department)
            totals.checks_with_hits += 1
            totals.hits += hits

    def _department(self, department: str) -> _Department:
        return self._departments.setdefault(department, _Department())

    # --- feedback -------------------------------------------------------------------------

    def _refresh_feedback(self, connection: Connection) -> None:
        count, highest = connection.execute(sa.select(sa.func.count(), sa.func.max(_F.c.id))).one()
        mark = (int(count), int(highest or 0))
        if mark == self._feedback_mark:
            return
        latest: dict[tuple[str, str], tuple[int, bool, str]] = {}
        rows = connection.execute(
            sa.select(_F.c.id, _F.c.decision_id, _F.c.measure_id, _F.c.executed, _D.department)
            .join(DECISION_TABLE, _D.decision_id == _F.c.decision_id)
            .where(_F.c.id <= mark[1])
        )
        for row_id, decision_id, measure_id, executed, department in rows:
            key = (decision_id, measure_id)
            known = latest.get(key)
            if known is None or row_id > known[0]:
                latest[key] = (int(row_id), bool(executed), department)
        self._remember_hits(connection, {decision_id for decision_id, _ in latest})
        per_decision: dict[str, tuple[str, int]] = {}
        figures: dict[str, _FeedbackFigures] = {}
        for (decision_id, measure_id), (_id, executed, department) in latest.items():
            if measure_id not in self._hits_of.get(decision_id, frozenset()):
                continue  # the statistics count feedback only on a hit of its decision
            totals = figures.setdefault(department, _FeedbackFigures())
            totals.hits_with_feedback += 1
            totals.executed += executed
            _, pairs = per_decision.get(decision_id, (department, 0))
            per_decision[decision_id] = (department, pairs + 1)
        for decision_id, (department, pairs) in per_decision.items():
            totals = figures[department]
            totals.feedback_received += 1
            if pairs == len(self._hits_of[decision_id]):
                totals.fed_back += 1
        self._feedback = figures
        self._feedback_mark = mark

    def _remember_hits(self, connection: Connection, decision_ids: Iterable[str]) -> None:
        missing = sorted(set(decision_ids) - self._hits_of.keys())
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            for decision_id, response in connection.execute(
                sa.select(_D.decision_id, _D.response).where(_D.decision_id.in_(chunk))
            ):
                self._hits_of[decision_id] = hit_measures(response)

    # --- the figures ----------------------------------------------------------------------

    def _items(self) -> list[dict[str, Any]]:
        items = []
        for department in sorted(self._departments):
            counts = self._departments[department]
            feedback = self._feedback.get(department, _FeedbackFigures())
            with_feedback = feedback.hits_with_feedback
            items.append(
                {
                    "department": department,
                    "checks": counts.checks,
                    "checks_with_hits": counts.checks_with_hits,
                    "feedback_received": feedback.feedback_received,
                    "fed_back": feedback.fed_back,
                    "hits": counts.hits,
                    "hits_with_feedback": with_feedback,
                    "executed": feedback.executed,
                    "execution_rate": feedback.executed / with_feedback if with_feedback else None,
                }
            )
        return items


_TOTALS: weakref.WeakKeyDictionary[Engine, FeedbackTotals] = weakref.WeakKeyDictionary()
_TOTALS_LOCK = threading.Lock()


def feedback_totals(engine: Engine) -> FeedbackTotals:
    """The running totals of ``engine``'s database (one per engine in this process)."""
    with _TOTALS_LOCK:
        totals = _TOTALS.get(engine)
        if totals is None:
            totals = _TOTALS[engine] = FeedbackTotals(engine)
        return totals


def fast_feedback_stats(engine: Engine) -> list[dict[str, Any]]:
    """``feedback_stats``'s figures from the running totals of ``engine``'s database."""
    return feedback_totals(engine).stats()
