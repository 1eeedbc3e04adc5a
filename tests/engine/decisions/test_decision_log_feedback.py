"""Feedback on hits: who may give it, on what, and the per-department statistics."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy.engine import Engine

from engine.decisions import (
    DecisionLog,
    StoredDecision,
    feedback_item,
    feedback_stats,
    record_feedback,
)
from engine.errors import Forbidden, InvalidRequest
from engine.store import db
from tests.engine.decisions.test_decision_log import make_draft


def _decide(engine: Engine, hits: Sequence[str], department: str = "finance") -> StoredDecision:
    with DecisionLog(engine) as log:
        return log.append(make_draft(0, hits=hits, department=department))


def _feedback(engine: Engine, decision: StoredDecision, measure_id: str, executed: bool) -> None:
    with db.session_scope(engine) as session:
        record_feedback(
            session,
            decision=decision,
            measure_id=measure_id,
            executed=executed,
            note=None,
            caller="某市财政局",
            department=decision.department,
        )


def test_feedback_is_recorded(engine: Engine) -> None:
    decision = _decide(engine, ["djd-procurement"])
    with db.session_scope(engine) as session:
        row = record_feedback(
            session,
            decision=decision,
            measure_id="djd-procurement",
            executed=True,
            note="已限制其参加本次采购",
            caller="某市财政局",
            department="finance",
        )
        item = feedback_item(row)
    assert item["id"] is not None
    assert item["decision_id"] == decision.decision_id
    assert (item["measure_id"], item["executed"], item["note"]) == (
        "djd-procurement",
        True,
        "已限制其参加本次采购",
    )
    assert item["recorded_at"].endswith("+00:00")


@pytest.mark.parametrize("hits", [["djd-procurement"], []])
def test_a_measure_not_among_the_hits_is_refused(engine: Engine, hits: list[str]) -> None:
    decision = _decide(engine, hits)
    with db.session_scope(engine) as session, pytest.raises(InvalidRequest) as raised:
        record_feedback(
            session,
            decision=decision,
            measure_id="djd-flights",
            executed=True,
            note=None,
            caller="某市财政局",
            department="finance",
        )
    assert raised.value.details[0]["field"] == "measure_id"


def test_only_the_deciding_department_gives_feedback(engine: Engine) -> None:
    decision = _decide(engine, ["djd-procurement"])
    for measure in ("djd-procurement", "not-a-hit"):  # refused before the measure is examined
        with db.session_scope(engine) as session, pytest.raises(Forbidden):
            record_feedback(
                session,
                decision=decision,
                measure_id=measure,
                executed=True,
                note=None,
                caller="某市税务局",
                department="tax",
            )


def test_a_note_with_a_nul_character_is_refused(engine: Engine) -> None:
    decision = _decide(engine, ["djd-procurement"])
    with db.session_scope(engine) as session, pytest.raises(InvalidRequest) as raised:
        record_feedback(
            session,
            decision=decision,
            measure_id="djd-procurement",
            executed=True,
            note="bad\x00note",
            caller="某市财政局",
            department="finance",
        )
    assert raised.value.details[0]["field"] == "note"


def test_stats_on_a_known_data_set(engine: Engine) -> None:
    with DecisionLog(engine) as log:
        d1 = log.append(make_draft(1, hits=["m1", "m2"]))
        d2 = log.append(make_draft(2, hits=["m1"]))
        d3 = log.append(make_draft(3, hits=["m1", "m1", "m2"]))  # m1 through two entries
        log.append(make_draft(4))
        log.append(make_draft(5, hits=["m3"]))
        log.append(make_draft(6, department="tax"))
        log.append(make_draft(7, department="tax", hits=["m1"]))
    _feedback(engine, d1, "m1", True)
    _feedback(engine, d1, "m2", False)
    _feedback(engine, d2, "m1", False)
    _feedback(engine, d2, "m1", True)  # corrected: the latest counts
    _feedback(engine, d3, "m1", True)
    with db.session_scope(engine) as session:
        stats = feedback_stats(session)
    assert stats == [
        {
            "department": "finance",
            "checks": 5,
            "checks_with_hits": 4,
            "feedback_received": 3,
            "fed_back": 2,
            "hits": 6,
            "hits_with_feedback": 4,
            "executed": 3,
            "execution_rate": 0.75,
        },
        {
            "department": "tax",
            "checks": 2,
            "checks_with_hits": 1,
            "feedback_received": 0,
            "fed_back": 0,
            "hits": 1,
            "hits_with_feedback": 0,
            "executed": 0,
            "execution_rate": None,
        },
    ]


def test_the_latest_feedback_counts_even_when_it_withdraws_execution(engine: Engine) -> None:
    decision = _decide(engine, ["m1"])
    _feedback(engine, decision, "m1", True)
    _feedback(engine, decision, "m1", False)
    with db.session_scope(engine) as session:
        (stats,) = feedback_stats(session)
    assert (stats["fed_back"], stats["executed"], stats["execution_rate"]) == (1, 0, 0.0)


def test_stats_of_an_empty_log(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        assert feedback_stats(session) == []
