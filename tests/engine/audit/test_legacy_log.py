"""A decision log written by the code before the package move replays byte-identical today."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from engine.audit.replay import replay
from engine.checks import answer
from engine.decisions import verify
from engine.decisions.canonical import encode_json
from engine.policy.versions import PolicyVersions
from engine.state import State
from engine.verifiable.event_chain import GENESIS_HASH, event_hash
from tests.conftest import FIXTURES

LEGACY = FIXTURES / "legacy_log"
JSON_COLUMNS = {
    "event": ("payload",),
    "decision": ("request", "response"),
    "policy_version": ("files",),
}
TIME_COLUMNS = ("recorded_at", "decided_at", "first_loaded_at")


def _rows(table: str) -> list[dict[str, Any]]:
    rows = []
    for line in Path(LEGACY / f"{table}.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        for column in JSON_COLUMNS[table]:
            row[column] = json.loads(row[column])
        for column in TIME_COLUMNS:
            if column in row:  # SQLite kept UTC without an offset
                row[column] = dt.datetime.fromisoformat(row[column]).replace(tzinfo=dt.UTC)
        rows.append(row)
    return rows


def _chained(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The legacy events chained as migration 0005 chains events stored before it."""
    prev = GENESIS_HASH
    for row in sorted(events, key=lambda row: row["seq"]):
        row["prev_hash"], row["hash"] = prev, event_hash(prev, **row)
        prev = row["hash"]
    return events


def load_legacy_log(engine: Engine) -> int:
    """Insert the legacy rows; returns the number of decisions."""
    tables = SQLModel.metadata.tables
    with engine.begin() as connection:
        for name in ("policy_version", "event", "decision"):
            rows = _rows(name) if name != "event" else _chained(_rows(name))
            connection.execute(sa.insert(tables[name]), rows)
        if engine.dialect.name == "postgresql":
            connection.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence('event', 'seq'), max(seq)) FROM event"
                )
            )
    return len(_rows("decision"))


def test_legacy_log_verifies_and_replays(engine: Engine) -> None:
    count = load_legacy_log(engine)
    assert count == 351
    result = verify(engine)
    assert (result.ok, result.length) == (True, count)
    report = replay(engine)
    assert (report.replayed, report.identical, report.changed) == (count, count, [])


def test_legacy_answers_are_byte_identical(engine: Engine) -> None:
    """Each logged answer recomputed by today's check code gives the same canonical bytes."""
    load_legacy_log(engine)
    events = sorted(_rows("event"), key=lambda row: row["seq"])
    decisions = sorted(_rows("decision"), key=lambda row: (row["event_seq"], row["seq"]))
    state, versions, applied = State(), PolicyVersions(engine), 0
    try:
        for decision in decisions:
            while applied < len(events) and events[applied]["seq"] <= decision["event_seq"]:
                event = events[applied]
                state.apply(event["seq"], event["type"], event["payload"])
                applied += 1
            runtime = versions.get(decision["policy_version"]).runtime
            again = answer(state, runtime, decision["request"], decision_id=decision["decision_id"])
            assert encode_json(again) == encode_json(decision["response"]), decision["seq"]
    finally:
        versions.close()
