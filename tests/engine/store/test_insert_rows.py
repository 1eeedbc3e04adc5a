"""``Dialect.insert_rows`` and ``bulk_insert`` store exactly what SQLAlchemy's insert stores
(the SQLite versions bypass SQLAlchemy's per-row processing: docs/performance.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.store.dialect import dialect_of
from engine.store.tables import DECISION_HIT_TABLE, DECISION_TABLE


def _decision(seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "decision_id": f"00000000-0000-4000-8000-{seq:012d}",
        "decided_at": dt.datetime(
            2026, 5, 1, 10, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8))
        ),
        "caller": "某市财政局",
        "department": "finance",
        "subject_id": "91440101000010014P",
        "matter": "bidding",
        "request": {"subject_id": "91440101000010014P", "n": 1},
        "response": {"hits": [], "outcome": "clear"},
        "policy_version": "v1",
        "event_seq": 7,
        "prev_hash": "0" * 64,
        "hash": f"{seq:064d}",
    }


def _raw(engine: Engine, table: sa.Table, key: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(
            f"SELECT * FROM {table.name} ORDER BY {key}"
        )]  # fmt: skip


def test_rows_are_stored_as_sqlalchemy_stores_them(engine: Engine) -> None:
    dialect = dialect_of(engine)
    with engine.begin() as connection:
        connection.execute(DECISION_TABLE.insert(), [_decision(1)])
        connection.execute(
            DECISION_HIT_TABLE.insert(),
            [{"entry_id": "e1", "decision_seq": 1, "department": "finance",
              "measure_ids": ["m1", "m2"]}],
        )  # fmt: skip
    with engine.begin() as connection:
        import json

        row = _decision(2)
        texts = {name: json.dumps(row[name]) for name in ("request", "response")}
        dialect.bulk_insert(connection, DECISION_TABLE, [{**row, **texts}], ("request", "response"))
        dialect.insert_rows(
            connection,
            DECISION_HIT_TABLE,
            [{"entry_id": "e1", "decision_seq": 2, "department": "finance",
              "measure_ids": ["m1", "m2"]}],
        )  # fmt: skip
    decisions = _raw(engine, DECISION_TABLE, "seq")
    by_hand, by_sqlalchemy = decisions[1], decisions[0]
    differing = {
        column.name
        for column, a, b in zip(DECISION_TABLE.columns, by_hand, by_sqlalchemy, strict=True)
        if a != b
    }
    assert differing == {"seq", "decision_id", "hash"}
    hits = _raw(engine, DECISION_HIT_TABLE, "decision_seq")
    assert hits[0][:1] + hits[0][2:] == hits[1][:1] + hits[1][2:]


def test_a_refused_row_raises_sqlalchemys_error(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(DECISION_TABLE.insert(), [_decision(1)])
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        dialect_of(engine).insert_rows(connection, DECISION_TABLE, [_decision(1)])
