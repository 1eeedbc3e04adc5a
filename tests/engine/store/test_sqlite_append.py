"""SQLite: the decision writer's WAL is copied into the database, and restarted, by a thread
of its own (sqlite_append)."""

from __future__ import annotations

import concurrent.futures
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.decisions import DecisionLog, verify
from engine.store import sqlite_append
from tests.engine.decisions.test_decision_log import all_seqs, make_draft, wait_until

pytestmark = pytest.mark.sqlite_only

BULKY = "某" * 10_000  # a request of ~30 KB: each decision fills ~8 WAL pages


def _database(engine: Engine) -> Path:
    assert engine.url.database is not None
    return Path(engine.url.database)


def test_the_thread_copies_the_wal_into_the_database_outside_the_commits(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_append, "CHECKPOINT_INTERVAL", 0.01)
    database = _database(engine)
    with DecisionLog(engine) as log:
        log.append(make_draft(0))
        before = os.path.getsize(database)
        for n in range(1, 61):  # ~2 MB: far below the writer's own checkpoint (256 MiB)
            log.append(make_draft(n, request={"note": BULKY, "n": n}))
        # Only a checkpoint writes pages into the database file; the writer's did not run.
        wait_until(lambda: os.path.getsize(database) > before + 1_000_000)
        appender = log._committer._appender
        assert isinstance(appender, sqlite_append.SqliteAppender)
        assert appender._checkpointer.checkpoints > 0
        writer = appender._connection.dbapi_connection
        pages = sqlite_append.AUTOCHECKPOINT_PAGES
        assert writer.execute("PRAGMA wal_autocheckpoint").fetchall() == [(pages,)]
    assert all_seqs(engine) == list(range(1, 62))
    assert verify(engine).ok


def test_the_thread_restarts_the_wal_while_the_writer_never_pauses(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A WAL starts over only when a write begins with every frame copied: the thread's
    # RESTART (here past 200 frames, ~800 KB) sees to it although no write ever waits for it.
    monkeypatch.setattr(sqlite_append, "CHECKPOINT_INTERVAL", 0.01)
    monkeypatch.setattr(sqlite_append, "RESTART_FRAMES", 200)
    with DecisionLog(engine) as log:
        for n in range(300):  # ~9 MB, ~2,400 frames
            log.append(make_draft(n, request={"note": BULKY, "n": n}))
        appender = log._committer._appender
        assert isinstance(appender, sqlite_append.SqliteAppender)
        wait_until(lambda: appender._checkpointer.restarts > 0)
        log.append(make_draft(300))
        # The WAL started over: it now holds what came after the last restart, not 9 MB.
        with engine.connect() as connection:
            driver: Any = connection.connection.driver_connection
            ((_busy, frames, _copied),) = driver.execute(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchall()
        assert frames < 1500
    assert all_seqs(engine) == list(range(1, 302))
    assert verify(engine).ok


def _hold_write_lock(engine: Engine) -> Any:
    """Another connection (as another process would) holding the database's write lock."""
    holder: Any = sqlite3.connect(_database(engine), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_batch_waits_for_another_writers_lock_then_commits(engine: Engine) -> None:
    with DecisionLog(engine) as log:
        log.append(make_draft(0))  # the writer's connection is open, busy_timeout 0
        holder = _hold_write_lock(engine)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(log.append, make_draft(1))
            time.sleep(0.2)
            assert not waiting.done()  # polling for the lock, not failed
            holder.execute("COMMIT")
            holder.close()
            assert waiting.result(timeout=5).seq == 2
    assert all_seqs(engine) == [1, 2]
    assert verify(engine).ok


def test_a_lock_held_past_the_wait_fails_the_batch_and_no_more(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_append, "LOCK_WAIT_S", 0.1)
    with DecisionLog(engine) as log:
        log.append(make_draft(0))
        holder = _hold_write_lock(engine)
        with pytest.raises(sa.exc.OperationalError, match="database is locked"):
            log.append(make_draft(1))
        holder.execute("ROLLBACK")
        holder.close()
        assert log.append(make_draft(2)).seq == 2  # the next batch takes the freed lock
    assert all_seqs(engine) == [1, 2]
    assert verify(engine).ok
