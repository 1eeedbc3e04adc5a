"""Running totals of the feedback statistics give ``feedback_stats``'s figures exactly.

A log shaped like the service's (every hit names its entry, so the decision-hit index has
its rows): several departments, decisions with and without hits, a measure hit through two
entries, repeated feedback (the latest counts), feedback arriving after the totals were
first read, decisions logged between reads. Both databases.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from engine.decisions import DecisionLog, StoredDecision, feedback_stats, record_feedback
from engine.decisions.browse import checks_per_day
from engine.decisions.running_stats import FeedbackTotals, fast_feedback_stats, feedback_totals
from engine.store import db
from engine.timing import china_today
from tests.engine.decisions.test_decision_log import make_draft

DEPARTMENTS = ["finance", "tax", "housing_construction", "market_regulation"]
MEASURES = ["m1", "m2", "m3", "m4"]


def _draft(rng: random.Random, n: int) -> Any:
    """A decision of a random department with 0-3 hits, each from one of two entries."""
    hits = [] if rng.random() < 0.4 else rng.sample(MEASURES, rng.randint(1, 3))
    decided_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 20))
    draft = make_draft(n, hits=hits, department=rng.choice(DEPARTMENTS), decided_at=decided_at)
    for hit in draft.response["hits"]:
        hit["entry_id"] = rng.choice(["e-1", "e-2"])
    if hits and rng.random() < 0.3:  # the same measure through a second entry
        draft.response["hits"].append({**draft.response["hits"][0], "entry_id": "e-3"})
    return draft


def _log(engine: Engine, rng: random.Random, count: int, start: int) -> list[StoredDecision]:
    with DecisionLog(engine) as log:
        return [log.append(_draft(rng, start + i)) for i in range(count)]


def _feedback(engine: Engine, rng: random.Random, decisions: list[StoredDecision]) -> None:
    with db.session_scope(engine) as session:
        for decision in decisions:
            measures = sorted({hit["measure_id"] for hit in decision.response["hits"]})
            for measure in measures:
                for _ in range(rng.choice([0, 0, 1, 1, 2])):  # none, one, or corrected
                    record_feedback(
                        session,
                        decision=decision,
                        measure_id=measure,
                        executed=rng.random() < 0.6,
                        note=None,
                        caller="某部门",
                        department=decision.department,
                    )


def _exact(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        return feedback_stats(session)


def _same_days(totals: FeedbackTotals, engine: Engine) -> None:
    today = china_today()
    for days in (1, 14, 30, 90):  # 90: more than is kept, counted in SQL
        kept = totals.checks_per_day(days=days, today=today)
        assert kept == checks_per_day(engine, days=days, today=today), days


def test_running_totals_equal_feedback_stats_as_the_log_grows(engine: Engine) -> None:
    rng = random.Random(16)
    assert fast_feedback_stats(engine) == _exact(engine) == []
    first = _log(engine, rng, 120, 0)
    _feedback(engine, rng, first[:80])
    totals = FeedbackTotals(engine)
    assert totals.stats() == _exact(engine)  # first read: counts and the hit index
    _same_days(totals, engine)
    second = _log(engine, rng, 60, 200)
    _same_days(totals, engine)  # decisions added: counted on their days
    assert totals.stats() == _exact(engine)  # decisions added, feedback unchanged
    _feedback(engine, rng, first[80:] + second[:30])
    assert totals.stats() == _exact(engine)  # late feedback on old decisions
    _feedback(engine, rng, first[:10])  # corrections: the latest report counts
    third = _log(engine, rng, 5, 400)
    _feedback(engine, rng, third)
    stats = totals.stats()
    assert stats == _exact(engine)
    assert {item["department"] for item in stats} == set(DEPARTMENTS)
    assert all(item["fed_back"] <= item["feedback_received"] for item in stats)
    assert any(item["fed_back"] for item in stats) and any(item["executed"] for item in stats)
    _same_days(totals, engine)
    assert sum(day["checks"] for day in totals.checks_per_day(days=30, today=china_today())) == 185
    assert feedback_totals(engine) is feedback_totals(engine)
    assert fast_feedback_stats(engine) == stats
