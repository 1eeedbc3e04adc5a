"""The decision writer's batch appenders (engine/store/pg_append.py, sqlite_append.py): a batch
goes from the head the writer last committed, the ``seq`` key arbitrating between writers."""

from __future__ import annotations

import asyncio
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.decisions import DecisionLog, verify
from engine.store import db, pg_append
from tests.engine.decisions.test_decision_log import all_seqs, make_draft


def test_a_writer_whose_head_is_stale_chains_again_from_the_new_head(engine: Engine) -> None:
    with DecisionLog(engine) as first, DecisionLog(engine) as second:
        for i in range(0, 12, 2):
            # Each writer's cached head is one batch behind: every append misses once.
            assert first.append(make_draft(i)).seq == i + 1
            assert second.append(make_draft(i + 1)).seq == i + 2
    assert all_seqs(engine) == list(range(1, 13))
    assert verify(engine).ok


@pytest.mark.postgresql_only
def test_after_too_many_misses_the_locking_path_stores_the_batch(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_append, "OPTIMISTIC_ATTEMPTS", 0)
    with DecisionLog(engine) as log:
        assert [log.append(make_draft(i)).seq for i in range(3)] == [1, 2, 3]
    assert verify(engine).ok


def test_the_connection_is_usable_after_a_failed_batch(engine: Engine) -> None:
    with DecisionLog(engine) as log:
        taken = log.append(make_draft(0)).decision_id
        with pytest.raises(Exception, match="decision_id"):
            log.append(make_draft(1, decision_id=taken))
        assert log.append(make_draft(2)).seq == 2
    assert verify(engine).ok


@pytest.mark.postgresql_only
def test_optimistic_and_locking_writers_share_one_chain_without_colliding(
    engine: Engine,
) -> None:
    # The locking path reads the head under the chain lock; every optimistic statement takes
    # that lock too, so the locking path never chains from a head an optimistic batch is
    # about to pass. Without the lock in the statement, the locking writer's batches fail.
    with DecisionLog(engine) as optimistic, DecisionLog(engine) as locking:
        locking._committer._appender = None  # always the locking path (after too many misses)
        failures: list[BaseException] = []

        def appends(log: DecisionLog, offset: int) -> None:
            for i in range(40):
                try:
                    log.append(make_draft(offset + i))
                except BaseException as exc:  # collected, asserted below
                    failures.append(exc)

        threads = [
            threading.Thread(target=appends, args=(log, 1000 * k))
            for k, log in enumerate([optimistic, locking] * 4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert all_seqs(engine) == list(range(1, 321))
    assert verify(engine).ok


def test_deleting_the_newest_records_behind_a_writer_is_not_healed(engine: Engine) -> None:
    with DecisionLog(engine) as log:
        for i in range(3):
            log.append(make_draft(i))
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM decision WHERE seq = 3"))
        log.append(make_draft(3))  # chained to the deleted record, as its cached head says
    assert all_seqs(engine) == [1, 2, 4]
    result = verify(engine)
    assert not result.ok and result.first_bad_seq == 3  # where the sequence breaks


def _coroutine_appends(log: DecisionLog, offset: int) -> None:
    """Five passes of ten coroutine appends each, on an event loop of this thread."""

    async def run() -> None:
        for r in range(5):
            drafts = [make_draft(offset + r * 10 + k) for k in range(10)]
            await asyncio.gather(*(log.append_async(draft) for draft in drafts))

    asyncio.run(run())


def test_coroutines_on_two_loops_and_threads_share_one_chain(engine: Engine, db_url: str) -> None:
    # Two writers (one per engine, as two processes have), each fed by the coroutines of
    # a loop of its own, the first also by a thread's appends: one chain.
    other_engine = db.create_db_engine(db_url)
    try:
        with DecisionLog(engine) as first, DecisionLog(other_engine) as second:
            work = [
                threading.Thread(target=_coroutine_appends, args=(first, 0)),
                threading.Thread(target=_coroutine_appends, args=(second, 1000)),
                threading.Thread(
                    target=lambda: [first.append(make_draft(2000 + i)) for i in range(20)]
                ),
            ]
            for thread in work:
                thread.start()
            for thread in work:
                thread.join()
            committed = first.decisions_committed + second.decisions_committed
    finally:
        other_engine.dispose()
    assert committed == 120
    assert all_seqs(engine) == list(range(1, 121))
    assert verify(engine).ok
