"""The event log: ordered, append-only, gap-free for readers catching up by sequence number."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.store import db, events
from engine.store.events import EventType, NewEvent


def _loaded(version: str) -> NewEvent:
    return NewEvent(EventType.policy_loaded, {"version": version}, actor="tester")


def test_append_assigns_increasing_seq_and_keeps_payload(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        first = events.append(session, [_loaded("a"), _loaded("b")])
    with db.session_scope(engine) as session:
        second = events.append(session, [_loaded("c")])
    assert [e.seq for e in first + second] == [1, 2, 3]
    with db.session_scope(engine) as session:
        stored = list(events.read(session))
        assert events.last_seq(session) == 3
    assert [e.payload["version"] for e in stored] == ["a", "b", "c"]
    assert all(e.recorded_at.tzinfo is not None for e in stored)
    assert stored[0].actor == "tester"


def test_read_respects_bounds_and_batches(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        events.append(session, [_loaded(str(i)) for i in range(12)])
    with db.session_scope(engine) as session:
        window = [e.seq for e in events.read(session, after=3, upto=9, batch=4)]
    assert window == [4, 5, 6, 7, 8, 9]


def test_rolled_back_append_leaves_no_trace(engine: Engine) -> None:
    try:
        with db.session_scope(engine) as session:
            events.append(session, [_loaded("lost")])
            raise RuntimeError("handler failed after appending")
    except RuntimeError:
        pass
    with db.session_scope(engine) as session:
        assert events.last_seq(session) == 0


def test_empty_log_last_seq_is_zero(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        assert events.last_seq(session) == 0
        assert list(events.read(session)) == []


def test_concurrent_appends_become_visible_in_seq_order(engine: Engine) -> None:
    """A reader that has seen seq N must never later find a smaller seq appear."""
    writers, per_writer = 6, 15
    stop = threading.Event()
    violations: list[str] = []
    seen: list[int] = []

    def write(worker: int) -> None:
        for i in range(per_writer):
            with db.session_scope(engine) as session:
                events.append(session, [_loaded(f"{worker}-{i}")])
                time.sleep(0.005)  # hold the transaction open so commits could interleave

    def follow() -> None:
        cursor = 0
        while not stop.is_set() or cursor < writers * per_writer:
            with db.session_scope(engine) as session:
                batch = [e.seq or 0 for e in events.read(session, after=cursor)]
                visible = set(
                    session.execute(sa.text("SELECT seq FROM event WHERE seq <= :c"), {"c": cursor})
                    .scalars()
                    .all()
                )
            if len(visible) != len(seen):
                violations.append(
                    f"rows at or below {cursor} changed: {len(visible)} vs {len(seen)}"
                )
            seen.extend(batch)
            cursor = max([cursor, *batch])
            time.sleep(0.001)

    follower = threading.Thread(target=follow)
    follower.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    follower.join(timeout=30)
    assert not violations
    assert seen == list(range(1, writers * per_writer + 1))
