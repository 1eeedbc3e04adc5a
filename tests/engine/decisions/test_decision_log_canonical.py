"""The canonical encoding: documented form, database round trips, values refused up front."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.decisions import GENESIS_HASH, DecisionLog, get_decision, verify
from engine.decisions.canonical import (
    canonical_record,
    canonical_time,
    chain_hash,
    encode_json,
    normalise_json,
)
from engine.store import db
from engine.store.dialect import is_postgresql
from tests.engine.decisions.test_decision_log import expected_hash, make_draft

# What a check's request and response may carry, and what JSON round trips disturb:
# Chinese and astral text, escapes, nesting, nulls, and floats PostgreSQL JSONB rewrites.
AWKWARD: dict[str, Any] = {
    "名称": "某某建设工程有限公司",
    "reference": "采购〔2026〕12号 𠮷😀",
    "escapes": 'quote" back\\slash\nnewline\ttab\u2028\x01',
    "nested": {
        "z": [1, 2.5, None, {"金额": 1234.56, "比例": 0.1}],
        "a": {
            "flag": True,
            "none": None,
            "zero": 0.0,
            "negative_zero": -0.0,
            "one": 1.0,
            "big": 1e16,
            "huge": 1.7976931348623157e308,
            "tiny": 1.5e-7,
            "subnormal": 5e-324,
            "beyond_int64": 2**64 + 1,
            "negative": -42,
            "empty_object": {},
            "empty_list": [],
        },
    },
}


def test_record_encoding_is_json_dumps_of_the_whole_record() -> None:
    """The spliced fast path equals the documented definition, byte for byte."""
    decided_at = dt.datetime(
        2026, 5, 1, 10, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8))
    )
    fields: dict[str, Any] = {
        "seq": 7,
        "decision_id": "0b7c8f1e-2d6a-4c41-9a43-5b7e0f4d2a10",
        "caller": "某市财政局",
        "department": "finance",
        "subject_id": "91110000600037341L",
        "matter": "government_procurement",
        "policy_version": "a" * 64,
        "event_seq": 41,
        "prev_hash": "f" * 64,
    }
    record = canonical_record(
        decided_at=decided_at,
        request_json=encode_json(AWKWARD),
        response_json=encode_json({"hits": [], "outcome": "clear"}),
        **fields,
    )
    whole = {
        **fields,
        "decided_at": "2026-05-01T02:00:00.123456+00:00",
        "request": normalise_json(AWKWARD),
        "response": {"hits": [], "outcome": "clear"},
    }
    documented = json.dumps(
        whole, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
    assert record == documented
    assert chain_hash("f" * 64, record) == hashlib.sha256(b"f" * 64 + documented).hexdigest()


@pytest.mark.parametrize(
    ("given", "as_stored_by_postgresql"),
    [
        (1.0, 1),
        (1e16, 10000000000000000),
        (-0.0, 0.0),
        (1.7976931348623157e308, 17976931348623157 * 10**292),
        (2.5, 2.5),
    ],
    ids=["one", "1e16", "negative-zero", "max-float", "fraction"],
)
def test_numbers_encode_alike_whichever_form_the_database_returns(
    given: float, as_stored_by_postgresql: float
) -> None:
    assert encode_json({"n": given}) == encode_json({"n": as_stored_by_postgresql})


def test_key_order_does_not_matter_but_values_do() -> None:
    assert encode_json({"a": 1, "b": [1, 2]}) == encode_json({"b": [1, 2], "a": 1})
    assert encode_json({"a": [1, 2]}) != encode_json({"a": [2, 1]})
    assert encode_json({"a": 1}) != encode_json({"a": "1"})
    assert encode_json({"a": True}) != encode_json({"a": 1})
    assert encode_json({"a": None}) != encode_json({})


@pytest.mark.parametrize(
    "value",
    [
        {"n": float("nan")},
        {"n": float("inf")},
        {1: "x"},
        {"s": "NUL\x00"},
        {"NUL\x00": "key"},
        {"s": "\udc80"},
        {"d": dt.date(2026, 1, 1)},
        {"b": b"bytes"},
    ],
    ids=["nan", "inf", "int-key", "nul-value", "nul-key", "surrogate", "date", "bytes"],
)
def test_values_no_database_round_trips_are_refused(value: dict[Any, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        encode_json(value)


def test_time_is_hashed_in_utc_with_microseconds() -> None:
    beijing = dt.timezone(dt.timedelta(hours=8))
    assert canonical_time(dt.datetime(2026, 5, 1, 10, 0, tzinfo=beijing)) == (
        "2026-05-01T02:00:00.000000+00:00"
    )
    with pytest.raises(ValueError):
        canonical_time(dt.datetime(2026, 5, 1, 10, 0))


def test_awkward_values_survive_the_database_round_trip(engine: Engine) -> None:
    """Read back from SQLite JSON text or PostgreSQL JSONB, the record hashes the same."""
    draft = make_draft(
        1,
        request=AWKWARD,
        decided_at=dt.datetime(
            2026, 5, 1, 10, 0, 0, 999999, tzinfo=dt.timezone(dt.timedelta(hours=8))
        ),
    )
    with DecisionLog(engine) as log:
        written = log.append(draft)
        log.append(make_draft(2, request={"after": AWKWARD}))
    with db.session_scope(engine) as session:
        read = get_decision(session, written.decision_id)
    assert read is not None
    assert read.decided_at == draft.decided_at
    assert read.hash == written.hash == expected_hash(read)
    assert read.request["名称"] == "某某建设工程有限公司"
    assert read.request["nested"]["a"]["beyond_int64"] == 2**64 + 1
    assert verify(engine).ok


def test_a_database_rewriting_numbers_does_not_break_the_chain(engine: Engine) -> None:
    """Store 1.0 where 1 was hashed (what JSONB does to some numbers): still intact."""
    with DecisionLog(engine) as log:
        log.append(make_draft(1, request={"n": 1, "m": 10000000000000000}))
    table = sa.table("decision", sa.column("seq"), sa.column("request", sa.JSON()))
    with engine.begin() as connection:
        if is_postgresql(engine):
            connection.execute(sa.text("""UPDATE decision SET request = '{"m": 1e16, "n": 1.0}'"""))
        else:
            connection.execute(table.update().values(request={"m": 1e16, "n": 1.0}))
    assert verify(engine).ok


def test_genesis_is_sixty_four_zeros() -> None:
    assert GENESIS_HASH == "0" * 64
