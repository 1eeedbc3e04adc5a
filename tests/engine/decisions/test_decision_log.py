"""The decision log writer: chained appends, group commit, one chain across writers, failures.

Also home of ``make_draft``, the draft factory the other decision log tests share.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.decisions import (
    GENESIS_HASH,
    DecisionDraft,
    DecisionLog,
    StoredDecision,
    VerifyResult,
    chain_lock,
    get_decision,
    verify,
)
from engine.decisions.canonical import record_hash
from engine.decisions.commit import WriterKind
from engine.decisions.writer import MAX_BATCH
from engine.decisions.writer_process import CommitFailed
from engine.errors import NotReady
from engine.store import db

T0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
ORG = "91110000600037341L"
PERSON = "11010519491231002X"


def make_draft(
    n: int = 0,
    *,
    subject_id: str = ORG,
    department: str = "finance",
    matter: str = "government_procurement",
    decided_at: dt.datetime | None = None,
    hits: Sequence[str] = (),
    decision_id: str | None = None,
    request: dict[str, Any] | None = None,
) -> DecisionDraft:
    """A check's answer shaped like the contract's, with hits on ``hits`` (measure ids)."""
    decision_id = decision_id or str(uuid.uuid4())
    hit_items = [
        {
            "memorandum_id": "dishonest-judgment-debtors",
            "measure_id": measure,
            "measure_text": "限制参加政府采购活动",
            "effect": "prohibit",
            "mandatory": True,
            "via": None,
            "until": "2029-01-01",
        }
        for measure in hits
    ]
    return DecisionDraft(
        decision_id=decision_id,
        decided_at=decided_at or T0 + dt.timedelta(seconds=n),
        caller="某市财政局",
        department=department,
        subject_id=subject_id,
        matter=matter,
        request=request or {"subject_id": subject_id, "matter": matter, "reference": f"r-{n}"},
        response={
            "decision_id": decision_id,
            "subject_id": subject_id,
            "known_subject": True,
            "outcome": "prohibit" if hits else "clear",
            "hits": hit_items,
            "policy_version": "a" * 64,
        },
        policy_version="a" * 64,
        event_seq=n,
    )


def expected_hash(stored: StoredDecision) -> str:
    """The record's hash recomputed from its fields, as an auditor would."""
    return record_hash(stored)


def count_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM decision")).scalar_one())


def all_seqs(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(sa.text("SELECT seq FROM decision ORDER BY seq")).scalars())


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def run_threads(count: int, target: Callable[[int], None]) -> list[threading.Thread]:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads


def _append(decision_log: DecisionLog, n: int) -> None:
    decision_log.append(make_draft(n))


@pytest.fixture(params=["thread", "process"])
def writer(request: pytest.FixtureRequest) -> WriterKind:
    """Each test of a writer's behaviour runs with both (``DecisionLog(writer=...)``)."""
    kind: WriterKind = request.param
    return kind


@pytest.fixture
def log(engine: Engine, writer: WriterKind) -> Iterator[DecisionLog]:
    with DecisionLog(engine, writer=writer) as decision_log:
        yield decision_log


def test_appends_are_chained_from_genesis(engine: Engine, log: DecisionLog) -> None:
    stored = [log.append(make_draft(i, hits=["djd-procurement"])) for i in range(3)]
    assert [s.seq for s in stored] == [1, 2, 3]
    assert stored[0].prev_hash == GENESIS_HASH
    assert [s.prev_hash for s in stored[1:]] == [s.hash for s in stored[:-1]]
    assert all(s.hash == expected_hash(s) for s in stored)
    assert len({s.hash for s in stored}) == 3
    with db.session_scope(engine) as session:
        read = get_decision(session, stored[1].decision_id)
    assert read == stored[1]
    assert verify(engine).ok


def test_append_async_returns_the_committed_record(engine: Engine, log: DecisionLog) -> None:
    async def check() -> list[StoredDecision]:
        return list(await asyncio.gather(*(log.append_async(make_draft(i)) for i in range(5))))

    stored = asyncio.run(check())
    assert sorted(s.seq for s in stored) == [1, 2, 3, 4, 5]
    assert count_rows(engine) == 5
    assert verify(engine).length == 5


async def one_pass(log: DecisionLog, count: int) -> list[StoredDecision]:
    """``count`` appends made before the loop's next pass: one hand-over to the writer."""
    return list(await asyncio.gather(*(log.append_async(make_draft(i)) for i in range(count))))


def test_the_appends_of_one_loop_pass_reach_the_writer_together(
    writer: WriterKind, engine: Engine
) -> None:
    with DecisionLog(engine, writer=writer, max_batch=100) as log:
        assert sorted(s.seq for s in asyncio.run(one_pass(log, 40))) == list(range(1, 41))
        assert log.batches_committed == 1 and log.largest_batch == 40
    assert verify(engine).ok


def test_a_hand_over_past_max_batch_commits_in_order_in_parts(
    writer: WriterKind, engine: Engine
) -> None:
    with DecisionLog(engine, writer=writer, max_batch=25) as log:
        stored = asyncio.run(one_pass(log, 60))
        # Appended in this order: the first 25 commit first (their answers can go out while
        # the rest commits), then 25, then 10.
        assert [s.seq for s in stored] == list(range(1, 61))
        assert log.batches_committed == 3 and log.largest_batch == 25
    assert verify(engine).ok


def test_the_default_batch_splits_hand_overs_on_postgresql_only(
    writer: WriterKind, engine: Engine
) -> None:
    expected = 25 if engine.dialect.name == "postgresql" else 256
    assert MAX_BATCH[engine.dialect.name] == expected
    with DecisionLog(engine, writer=writer) as log:
        stored = asyncio.run(one_pass(log, 60))
        assert [s.seq for s in stored] == list(range(1, 61))
        assert log.largest_batch == min(60, expected)
    assert verify(engine).ok


def test_close_commits_the_rest_of_a_split_hand_over(writer: WriterKind, engine: Engine) -> None:
    log = DecisionLog(engine, writer=writer, max_batch=25)
    stored: list[StoredDecision] = []
    with chain_lock(engine):  # the writer's first part waits here; 35 are carried over
        appending = threading.Thread(target=lambda: stored.extend(asyncio.run(one_pass(log, 60))))
        appending.start()
        wait_until(lambda: log.pending == 60)
        closing = threading.Thread(target=log.close)
        closing.start()
    closing.join()
    appending.join()
    assert [s.seq for s in stored] == list(range(1, 61))
    assert log.batches_committed == 3 and log.pending == 0
    assert verify(engine).length == 60


def test_appends_handed_over_after_close_fail_as_not_ready(
    writer: WriterKind, engine: Engine
) -> None:
    log = DecisionLog(engine, writer=writer)

    async def append_then_close() -> None:
        waiting = asyncio.ensure_future(log.append_async(make_draft(1)))
        await asyncio.sleep(0)  # the append is made; its hand-over waits for the next pass
        log.close()
        with pytest.raises(NotReady):
            await waiting

    asyncio.run(append_then_close())
    assert log.pending == 0 and count_rows(engine) == 0


def test_a_cancelled_async_wait_still_logs_the_decision(engine: Engine, log: DecisionLog) -> None:
    """The answer may have reached the client; abandoning the wait must not un-log it."""

    async def abandon() -> None:
        task = asyncio.ensure_future(log.append_async(make_draft(1)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with chain_lock(engine):
        # Keep the writer busy so the abandoned append is still queued when it is cancelled.
        blocker = run_threads(1, lambda i: _append(log, 0))
        wait_until(lambda: log.pending == 1)
        time.sleep(0.1)
        asyncio.run(abandon())
        assert log.pending == 2
    blocker[0].join()
    # (The writer process's reply for the abandoned append is read by the next loop that
    # appends, or at close: its loop is gone. The decision is stored all the same.)
    wait_until(lambda: count_rows(engine) == 2)


def test_eight_threads_share_one_unbroken_chain(engine: Engine, log: DecisionLog) -> None:
    results: dict[str, StoredDecision] = {}
    drafts = {i: [make_draft(i * 100 + k) for k in range(50)] for i in range(8)}

    def work(worker: int) -> None:
        for draft in drafts[worker]:
            results[draft.decision_id] = log.append(draft)

    for thread in run_threads(8, work):
        thread.join()
    assert len(results) == 400
    # Every caller got the record of its own draft, and the records tile 1..400.
    for drafts_of_worker in drafts.values():
        for draft in drafts_of_worker:
            assert results[draft.decision_id].event_seq == draft.event_seq
    assert sorted(s.seq for s in results.values()) == list(range(1, 401))
    assert all_seqs(engine) == list(range(1, 401))
    assert verify(engine) == VerifyResult(ok=True, length=400, first_bad_seq=None)
    assert log.decisions_committed == 400
    assert log.batches_committed <= 400


def test_two_writers_on_one_database_keep_one_chain(
    writer: WriterKind, engine: Engine, db_url: str
) -> None:
    """Two logs on two engines (as two server processes would be) append concurrently."""
    other_engine = db.create_db_engine(db_url)
    logs = [DecisionLog(engine, writer=writer), DecisionLog(other_engine)]
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for k in range(50):
                logs[worker % 2].append(make_draft(worker * 100 + k))
        except BaseException as exc:
            errors.append(exc)

    try:
        for thread in run_threads(8, work):
            thread.join()
    finally:
        for decision_log in logs:
            decision_log.close()
        other_engine.dispose()
    assert not errors
    assert all(decision_log.decisions_committed == 200 for decision_log in logs)
    assert all_seqs(engine) == list(range(1, 401))
    assert verify(engine).ok


def _append_in_own_process(db_url: str, worker: int, count: int) -> int:
    engine = db.create_db_engine(db_url)
    try:
        with DecisionLog(engine) as decision_log:
            threads = run_threads(
                4,
                lambda t: [
                    _append(decision_log, worker * 1000 + t * 100 + k) for k in range(count)
                ],
            )
            for thread in threads:
                thread.join()
            return decision_log.decisions_committed
    finally:
        engine.dispose()


def test_two_processes_keep_one_chain(engine: Engine, db_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        committed = list(pool.map(_append_in_own_process, [db_url] * 2, [1, 2], [25, 25]))
    assert committed == [100, 100]
    assert all_seqs(engine) == list(range(1, 201))
    assert verify(engine).ok


def test_waiting_appends_commit_as_one_group(engine: Engine, log: DecisionLog) -> None:
    """While the chain lock is held elsewhere, appends queue up; then they commit together."""
    threads: list[threading.Thread] = []
    with chain_lock(engine):
        threads = run_threads(20, lambda i: _append(log, i))
        wait_until(lambda: log.pending == 20)
        time.sleep(0.2)
        assert log.decisions_committed == 0  # the writer waits for the lock like another process
    for thread in threads:
        thread.join()
    assert log.decisions_committed == 20
    # The writer had taken at most a few appends before it blocked; the rest came as one group.
    assert log.batches_committed <= 2
    assert log.largest_batch >= 10
    assert verify(engine).ok


def test_max_batch_bounds_each_transaction(writer: WriterKind, engine: Engine) -> None:
    with DecisionLog(engine, writer=writer, max_batch=4) as decision_log:
        with chain_lock(engine):
            threads = run_threads(20, lambda i: _append(decision_log, i))
            wait_until(lambda: decision_log.pending == 20)
        for thread in threads:
            thread.join()
        assert decision_log.largest_batch == 4
        assert decision_log.batches_committed >= 5
    assert all_seqs(engine) == list(range(1, 21))
    assert verify(engine).ok


def test_failed_batch_fails_every_append_in_it_and_writes_nothing(
    writer: WriterKind, engine: Engine
) -> None:
    with DecisionLog(engine, writer=writer) as first:
        taken = first.append(make_draft(0)).decision_id
    # max_wait holds the batch open until all four are queued; the duplicate id comes last, so
    # the three valid rows are inserted before the failure and must be rolled back.
    with DecisionLog(engine, writer=writer, max_batch=4, max_wait=10.0) as decision_log:

        async def submit() -> list[StoredDecision | BaseException]:
            drafts = [make_draft(i) for i in (1, 2, 3)] + [make_draft(4, decision_id=taken)]
            coroutines = [decision_log.append_async(draft) for draft in drafts]
            return list(await asyncio.gather(*coroutines, return_exceptions=True))

        outcomes = asyncio.run(submit())
        # The thread raises the driver's error; the process, its class name and message.
        assert all(
            isinstance(outcome, sa.exc.IntegrityError)
            or (isinstance(outcome, CommitFailed) and outcome.error_type == "IntegrityError")
            for outcome in outcomes
        )
        assert len({id(outcome) for outcome in outcomes}) == 1  # the batch's one exception
        assert decision_log.batches_failed == 1
        assert count_rows(engine) == 1

        # The writer goes on: the next batch continues the chain where it was.
        async def again() -> list[StoredDecision]:
            return list(
                await asyncio.gather(
                    *(decision_log.append_async(make_draft(i)) for i in range(5, 9))
                )
            )

        assert sorted(s.seq for s in asyncio.run(again())) == [2, 3, 4, 5]
    assert verify(engine).ok


@pytest.mark.parametrize(
    "change",
    [
        {"decision_id": "not-a-uuid"},
        {"decision_id": str(uuid.uuid4()).upper()},
        {"decided_at": dt.datetime(2026, 5, 1, 2, 0)},
        {"caller": "某" * 201},
        {"department": ""},
        {"subject_id": "9111\x00"},
        {"event_seq": -1},
        {"event_seq": True},
        {"request": {"amount": float("nan")}},
        {"request": {"when": dt.date(2026, 5, 1)}},
        {"request": {1: "non-string key"}},
        {"response": {"note": "lone \ud800 surrogate"}},
        {"response": {"note": "NUL \x00"}},
    ],
    ids=lambda change: next(iter(change)),
)
def test_an_unfit_draft_fails_only_its_own_append(engine: Engine, change: dict[str, Any]) -> None:
    good = make_draft(1)
    bad = dataclasses.replace(good, **change)
    with DecisionLog(engine) as log:  # refused before any writer sees it (``_prepare``)
        with pytest.raises((ValueError, TypeError)):
            log.append(bad)
        assert log.append(good).seq == 1
    assert count_rows(engine) == 1


def test_close_commits_what_is_queued_without_waiting_out_max_wait(
    writer: WriterKind, engine: Engine
) -> None:
    decision_log = DecisionLog(engine, writer=writer, max_batch=100, max_wait=30.0)
    results: list[StoredDecision] = []
    threads = run_threads(5, lambda i: results.append(decision_log.append(make_draft(i))))
    wait_until(lambda: decision_log.pending == 5)
    started = time.monotonic()
    decision_log.close()
    assert time.monotonic() - started < 10
    for thread in threads:
        thread.join()
    assert sorted(s.seq for s in results) == [1, 2, 3, 4, 5]
    assert decision_log.batches_committed == 1
    with pytest.raises(NotReady):
        decision_log.append(make_draft(6))
    decision_log.close()  # a second close is harmless
    assert count_rows(engine) == 5


def test_settings_are_checked(engine: Engine) -> None:
    with pytest.raises(ValueError, match="max_batch"):
        DecisionLog(engine, max_batch=0)
    with pytest.raises(ValueError, match="max_wait"):
        DecisionLog(engine, max_wait=-1)
