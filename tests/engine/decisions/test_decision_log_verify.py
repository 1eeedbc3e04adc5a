"""Verification finds the first bad position for every kind of tampering done by raw SQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.decisions import DecisionLog, VerifyResult, verify
from engine.decisions.canonical import record_hash
from engine.store import db
from engine.store.tables import DECISION_TABLE
from tests.engine.decisions.test_decision_log import make_draft

LENGTH = 12


@pytest.fixture
def chain(engine: Engine) -> Engine:
    """A database holding an intact chain of LENGTH decisions, some with hits."""
    with DecisionLog(engine) as log:
        for i in range(LENGTH):
            log.append(make_draft(i, hits=["djd-procurement"] if i % 3 == 0 else []))
    assert verify(engine) == VerifyResult(ok=True, length=LENGTH, first_bad_seq=None)
    return engine


def _row(engine: Engine, seq: int) -> dict[str, Any]:
    with engine.connect() as connection:
        row = connection.execute(sa.select(DECISION_TABLE).where(DECISION_TABLE.c.seq == seq))
        return dict(row.one()._mapping)


def _update(engine: Engine, seq: int, **values: Any) -> None:
    """A plain UPDATE of one row, bypassing the writer (typed columns encode the values)."""
    with engine.begin() as connection:
        connection.execute(
            DECISION_TABLE.update().where(DECISION_TABLE.c.seq == seq).values(**values)
        )


def _sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def test_empty_log_is_intact(engine: Engine) -> None:
    assert verify(engine) == VerifyResult(ok=True, length=0, first_bad_seq=None)


@pytest.mark.parametrize(
    "change",
    [
        {"caller": "某市税务局"},
        {"department": "tax"},
        {"subject_id": "11010519491231002X"},
        {"matter": "subsidy"},
        {"policy_version": "b" * 64},
        {"decision_id": "00000000-0000-4000-8000-000000000000"},
        {"event_seq": 999},
        {"decided_at": dt.datetime(2026, 5, 1, 2, 0, 5, 1, tzinfo=dt.UTC)},
        {"request": {"subject_id": "91110000600037341L", "matter": "other", "reference": "r-5"}},
        {"response": {"outcome": "clear", "hits": []}},
        {"hash": "0" * 64},
        {"prev_hash": "1" * 64},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_modified_field_is_caught_at_its_record(chain: Engine, change: dict[str, Any]) -> None:
    _update(chain, 6, **change)
    assert verify(chain) == VerifyResult(ok=False, length=LENGTH, first_bad_seq=6)


def test_a_nested_json_value_changed_in_place_is_caught(chain: Engine) -> None:
    response = _row(chain, 4)["response"]
    response["hits"][0]["mandatory"] = False  # a mandatory hit made merely recommended
    _update(chain, 4, response=response)
    assert verify(chain).first_bad_seq == 4


def test_a_deleted_middle_record_is_caught_at_its_position(chain: Engine) -> None:
    _sql(chain, "DELETE FROM decision WHERE seq = 5")
    assert verify(chain) == VerifyResult(ok=False, length=LENGTH - 1, first_bad_seq=5)


def test_a_deleted_first_record_is_caught(chain: Engine) -> None:
    _sql(chain, "DELETE FROM decision WHERE seq = 1")
    assert verify(chain).first_bad_seq == 1


def test_deleting_the_last_record_is_beyond_what_a_chain_can_see(chain: Engine) -> None:
    """Documented limit: the truncated chain is itself a valid chain (verify's docstring)."""
    _sql(chain, "DELETE FROM decision WHERE seq = :seq", seq=LENGTH)
    assert verify(chain) == VerifyResult(ok=True, length=LENGTH - 1, first_bad_seq=None)


def test_a_forged_record_appended_with_a_bad_hash_is_caught(chain: Engine) -> None:
    forged = _row(chain, LENGTH) | {"seq": LENGTH + 1, "decision_id": "forged-id"}
    with chain.begin() as connection:
        connection.execute(DECISION_TABLE.insert().values(**forged))
    assert verify(chain) == VerifyResult(ok=False, length=LENGTH + 1, first_bad_seq=LENGTH + 1)


def test_a_record_inserted_past_a_gap_is_caught_at_the_gap(chain: Engine) -> None:
    forged = _row(chain, LENGTH) | {"seq": LENGTH + 3, "decision_id": "forged-id"}
    with chain.begin() as connection:
        connection.execute(DECISION_TABLE.insert().values(**forged))
    assert verify(chain).first_bad_seq == LENGTH + 1


def _make_room_at(engine: Engine, seq: int) -> None:
    # Two steps, so no intermediate state collides with the primary key on either database.
    _sql(engine, "UPDATE decision SET seq = -seq - 1000 WHERE seq >= :seq", seq=seq)
    _sql(engine, "UPDATE decision SET seq = -seq - 1000 + 1 WHERE seq < 0")


def test_a_record_inserted_in_the_middle_is_caught(chain: Engine) -> None:
    _make_room_at(chain, 5)
    forged = _row(chain, 4) | {"seq": 5, "decision_id": "forged-id", "prev_hash": "x" * 64}
    with chain.begin() as connection:
        connection.execute(DECISION_TABLE.insert().values(**forged))
    assert verify(chain) == VerifyResult(ok=False, length=LENGTH + 1, first_bad_seq=5)


def test_a_correctly_hashed_insertion_is_caught_at_the_record_after_it(chain: Engine) -> None:
    """A forger who knows the algorithm can hash the insert, but not re-hash what follows."""
    _make_room_at(chain, 5)
    previous = _row(chain, 4)
    forged = previous | {"seq": 5, "decision_id": "forged-id", "prev_hash": previous["hash"]}
    forged["hash"] = record_hash(forged)
    with chain.begin() as connection:
        connection.execute(DECISION_TABLE.insert().values(**forged))
    assert verify(chain) == VerifyResult(ok=False, length=LENGTH + 1, first_bad_seq=6)


def test_two_records_swapped_are_caught_at_the_first(chain: Engine) -> None:
    """Swap every column but seq between two rows: the order of events is rewritten."""
    first, second = _row(chain, 3), _row(chain, 8)
    contents = {name: value for name, value in first.items() if name != "seq"}
    other = {name: value for name, value in second.items() if name != "seq"}
    _update(chain, 8, decision_id="swap-in-progress")
    _update(chain, 3, **other)
    _update(chain, 8, **contents)
    assert verify(chain) == VerifyResult(ok=False, length=LENGTH, first_bad_seq=3)


def test_only_the_first_break_is_reported_and_every_record_is_counted(chain: Engine) -> None:
    _update(chain, 9, caller="x")
    _update(chain, 4, caller="y")
    _sql(chain, "DELETE FROM decision WHERE seq = 11")
    assert verify(chain, batch_size=3) == VerifyResult(ok=False, length=LENGTH - 1, first_bad_seq=4)


def test_batches_cover_the_whole_chain(chain: Engine) -> None:
    for size in (1, 5, LENGTH, LENGTH + 1):
        assert verify(chain, batch_size=size) == VerifyResult(
            ok=True, length=LENGTH, first_bad_seq=None
        )
    _update(chain, LENGTH, matter="x")
    assert verify(chain, batch_size=5).first_bad_seq == LENGTH


def test_a_row_that_does_not_even_decode_is_reported_not_raised(tmp_path: Path) -> None:
    """SQLite stores any text: garbage JSON or times written by hand must not crash verify."""
    engine = db.create_db_engine(f"sqlite:///{tmp_path / 'hand-edited.db'}")
    db.migrate(engine)
    try:
        with DecisionLog(engine) as log:
            for i in range(6):
                log.append(make_draft(i))
        _sql(engine, "UPDATE decision SET request = '{not json' WHERE seq = 4")
        assert verify(engine, batch_size=10) == VerifyResult(ok=False, length=6, first_bad_seq=4)
        _sql(engine, "UPDATE decision SET decided_at = 'yesterday' WHERE seq = 2")
        assert verify(engine, batch_size=3) == VerifyResult(ok=False, length=6, first_bad_seq=2)
    finally:
        engine.dispose()
