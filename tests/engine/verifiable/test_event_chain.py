"""The event chain: computed on append (both databases), and by migration 0005 for old events."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from engine.store import db
from engine.store.events import EVENT_TABLE, EventType, NewEvent, append
from engine.verifiable.event_chain import GENESIS_HASH, stored_event_hash
from engine.verifiable.verify import verify_logs


def _events(engine: Engine, count: int) -> None:
    with db.session_scope(engine) as session:
        append(session, [NewEvent(EventType.policy_loaded, {"version": f"v{i}", "x": 1.0})
                         for i in range(count)])  # fmt: skip
        session.commit()


def test_append_chains_events_in_one_pass(engine: Engine) -> None:
    _events(engine, 3)
    _events(engine, 2)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(EVENT_TABLE).order_by(EVENT_TABLE.c.seq)).all()
    prev = GENESIS_HASH
    for row in rows:
        assert row.prev_hash == prev
        record = {
            "seq": row.seq, "type": row.type, "subject_id": row.subject_id,
            "payload": {"version": row.payload["version"], "x": 1}, "actor": None,
            "department": None,
            "recorded_at": row.recorded_at.isoformat(timespec="microseconds"),
            "prev_hash": prev,
        }  # fmt: skip
        text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert row.hash == hashlib.sha256(prev.encode() + text.encode()).hexdigest()
        assert stored_event_hash(row) == row.hash
        prev = row.hash
    assert len(rows) == 5


def test_migration_chains_existing_events(engine: Engine) -> None:
    _events(engine, 4)
    config = db.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004_state_snapshot")
    with engine.connect() as connection:
        assert "hash" not in {c["name"] for c in sa.inspect(connection).get_columns("event")}
    db.migrate(engine)
    reports = verify_logs(engine)
    assert reports[1].length == 4 and reports[1].ok, reports[1].problems
