"""Audit reads: one decision, pages in seq order with an opaque cursor, filters, item shape."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from engine.decisions import (
    DecisionLog,
    StoredDecision,
    get_decision,
    list_decisions,
    require_decision,
    to_item,
)
from engine.decisions.canonical import record_hash
from engine.decisions.queries import encode_cursor
from engine.errors import InvalidRequest, NotFound
from engine.store import db
from tests.engine.decisions.test_decision_log import ORG, PERSON, T0, make_draft


@pytest.fixture
def logged(engine: Engine) -> list[StoredDecision]:
    """25 decisions an hour apart from T0, alternating between an org and a person."""
    with DecisionLog(engine) as log:
        return [
            log.append(
                make_draft(
                    i,
                    subject_id=ORG if i % 2 == 0 else PERSON,
                    decided_at=T0 + dt.timedelta(hours=i),
                )
            )
            for i in range(25)
        ]


def _all_pages(engine: Engine, **filters: Any) -> tuple[list[int], int]:
    seqs: list[int] = []
    pages = 0
    cursor: str | None = None
    while True:
        with db.session_scope(engine) as session:
            page, cursor = list_decisions(session, cursor=cursor, **filters)
        pages += 1
        seqs.extend(stored.seq for stored in page)
        if cursor is None:
            return seqs, pages


def test_get_decision(engine: Engine, logged: list[StoredDecision]) -> None:
    with db.session_scope(engine) as session:
        assert get_decision(session, logged[3].decision_id) == logged[3]
        assert get_decision(session, "00000000-0000-4000-8000-000000000000") is None
        assert require_decision(session, logged[0].decision_id) == logged[0]
        with pytest.raises(NotFound) as raised:
            require_decision(session, "00000000-0000-4000-8000-000000000000")
    assert raised.value.code == "unknown_decision"


def test_pages_follow_seq_order_to_the_end(engine: Engine, logged: list[StoredDecision]) -> None:
    seqs, pages = _all_pages(engine, limit=10)
    assert seqs == list(range(1, 26))
    assert pages == 3
    with db.session_scope(engine) as session:
        first, cursor = list_decisions(session, limit=10)
        assert [s.seq for s in first] == list(range(1, 11))
        assert cursor is not None and "10" not in cursor  # opaque, not a bare number
        everything, last = list_decisions(session, limit=25)
    assert len(everything) == 25 and last is None  # an exactly full page has no next page


def test_filter_by_subject(engine: Engine, logged: list[StoredDecision]) -> None:
    seqs, pages = _all_pages(engine, subject_id=PERSON, limit=5)
    assert seqs == list(range(2, 26, 2))
    assert pages == 3
    assert _all_pages(engine, subject_id="91350100M000100Y43")[0] == []


def test_since_is_inclusive_and_until_exclusive(
    engine: Engine, logged: list[StoredDecision]
) -> None:
    since, until = T0 + dt.timedelta(hours=3), T0 + dt.timedelta(hours=9)
    seqs, _ = _all_pages(engine, since=since, until=until, limit=4)
    assert seqs == [4, 5, 6, 7, 8, 9]  # hours 3..8: seq is hour + 1
    beijing = dt.timezone(dt.timedelta(hours=8))
    seqs, _ = _all_pages(engine, since=since.astimezone(beijing), subject_id=ORG, limit=50)
    assert seqs == list(range(5, 26, 2))
    # A time without offset is China time (engine.timing), not refused and not UTC.
    naive = since.astimezone(beijing).replace(tzinfo=None)
    assert _all_pages(engine, since=naive, until=until, limit=4)[0] == [4, 5, 6, 7, 8, 9]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "c2VxOi0x"}, "cursor"),  # "seq:-1"
        ({"cursor": encode_cursor(2**63)}, "cursor"),
        ({"since": dt.datetime(1899, 12, 31)}, "since"),
        (
            {"until": dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(-dt.timedelta(hours=5)))},
            "until",
        ),  # year 10000 in China
        ({"since": dt.datetime(1, 1, 1, tzinfo=dt.UTC)}, "since"),
    ],
)
def test_bad_arguments_name_their_field(
    engine: Engine, arguments: dict[str, Any], field: str
) -> None:
    with db.session_scope(engine) as session, pytest.raises(InvalidRequest) as raised:
        list_decisions(session, **arguments)
    assert raised.value.details[0]["field"] == field


def test_item_has_the_contract_fields_and_its_hash_can_be_recomputed(
    engine: Engine, logged: list[StoredDecision]
) -> None:
    item = to_item(logged[4])
    assert {"request", "response", "caller", "seq", "policy_version", "event_seq", "hash"} <= set(
        item
    )
    assert item["prev_hash"] == logged[3].hash
    assert item["decided_at"] == "2026-05-01T06:00:00.000000+00:00"
    recomputed = record_hash({**item, "decided_at": dt.datetime.fromisoformat(item["decided_at"])})
    assert recomputed == item["hash"]
