"""The group-committing writer: one transaction per batch, one unbroken chain across processes."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import queue
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from engine.db import is_postgresql
from engine.decisions.canonical import (
    GENESIS_HASH,
    canonical_record,
    chain_hash,
    encode_json,
)
from engine.decisions.records import (
    CALLER_LEN,
    CODE_LEN,
    DECISION_TABLE,
    DecisionDraft,
    StoredDecision,
)
from engine.errors import NotReady

log = structlog.get_logger(__name__)

# pg_advisory_xact_lock key of the decision chain (engine/db.py keeps the other keys).
DECISION_APPEND_LOCK_KEY = 0x6A72_7D01


@contextmanager
def chain_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the chain's append lock, committed on success.

    PostgreSQL: a transaction-scoped advisory lock, so every process appending to one database
    waits its turn and reads the head the previous holder committed. SQLite: ``BEGIN
    IMMEDIATE`` takes the database's single write lock up front (a deferred transaction
    would read the head first and could find another process ahead of it at its first write).
    """
    with engine.connect() as connection:
        if is_postgresql(engine):
            with connection.begin():
                connection.execute(
                    sa.select(sa.func.pg_advisory_xact_lock(DECISION_APPEND_LOCK_KEY))
                )
                yield connection
            return
        # The driver must not open transactions of its own; this one is ours to begin and end.
        connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.exec_driver_sql("COMMIT")
        except BaseException:
            _rollback_quietly(connection)
            raise


def _rollback_quietly(connection: Connection) -> None:
    # Nothing left to roll back (e.g. COMMIT failed after ending it): the original error counts.
    with contextlib.suppress(sa.exc.SQLAlchemyError):
        connection.exec_driver_sql("ROLLBACK")


def chain_head(connection: Connection) -> tuple[int, str]:
    """The last ``(seq, hash)`` of the chain, ``(0, GENESIS_HASH)`` when empty."""
    seq = DECISION_TABLE.c.seq
    row = connection.execute(
        sa.select(seq, DECISION_TABLE.c.hash).order_by(seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


@dataclass(slots=True)
class _Pending:
    draft: DecisionDraft
    request_json: str
    response_json: str
    future: Future[StoredDecision]


class DecisionLog:
    """Thread-safe appender that commits decisions in groups from one background thread.

    ``append`` blocks until its decision is committed. The writer takes whatever is queued
    (up to ``max_batch``), waiting up to ``max_wait`` seconds after the first item for more,
    and commits it in one transaction under ``chain_lock``; a future is resolved only after
    its batch committed, and a failed batch fails every future in it with the same exception
    and leaves no row behind. Drafts are validated before they are queued, so one bad draft
    fails only its own append.
    """

    def __init__(self, engine: Engine, *, max_batch: int = 256, max_wait: float = 0.0) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if max_wait < 0:
            raise ValueError("max_wait must not be negative")
        self._engine = engine
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._pending = 0
        self._batches_committed = 0
        self._batches_failed = 0
        self._decisions_committed = 0
        self._largest_batch = 0
        self._thread = threading.Thread(target=self._run, name="jrp-decision-log", daemon=True)
        self._thread.start()

    # -- appending ---------------------------------------------------------------------------

    def append(self, draft: DecisionDraft) -> StoredDecision:
        """Log ``draft``; returns it with seq and hashes once its batch is committed."""
        return self._submit(draft).result()

    async def append_async(self, draft: DecisionDraft) -> StoredDecision:
        """``append`` for async code: awaits the commit without blocking the event loop."""
        # Shielded: a cancelled request (client gone) must not un-log an answer it may have
        # seen; the decision is still written, only the wait is abandoned.
        waiting = asyncio.wrap_future(self._submit(draft))
        waiting.add_done_callback(_observe)
        return await asyncio.shield(waiting)

    def _submit(self, draft: DecisionDraft) -> Future[StoredDecision]:
        pending = _prepare(draft)
        with self._lock:
            if self._closed:
                raise NotReady("the decision log is closed")
            self._pending += 1
            self._queue.put(pending)
        return pending.future

    def close(self) -> None:
        """Commit everything queued, then stop the writer; later appends raise NotReady."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join()

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- metrics -----------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Appends submitted and not yet resolved (queued or in the batch being committed)."""
        return self._pending

    @property
    def batches_committed(self) -> int:
        """Transactions committed so far (one per batch)."""
        return self._batches_committed

    @property
    def batches_failed(self) -> int:
        """Batches whose transaction failed (their appends raised)."""
        return self._batches_failed

    @property
    def decisions_committed(self) -> int:
        """Decisions committed so far."""
        return self._decisions_committed

    @property
    def largest_batch(self) -> int:
        """The most decisions committed in one transaction so far."""
        return self._largest_batch

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            stopping = False
            while not stopping:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
                stopping = self._gather(batch)
                self._flush(batch)
        finally:
            # Only reached early if the thread itself broke: nobody may wait forever.
            with self._lock:
                self._closed = True
            self._fail_queued()

    def _gather(self, batch: list[_Pending]) -> bool:
        """Add queued appends to ``batch``; True when the stop marker was reached."""
        deadline = time.monotonic() + self._max_wait
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    return False
            if item is None:
                return True
            batch.append(item)
        return False

    def _flush(self, batch: list[_Pending]) -> None:
        live = [p for p in batch if p.future.set_running_or_notify_cancel()]
        self._resolved(len(batch) - len(live))
        if not live:
            return
        try:
            stored = self._commit_batch(live)
        except Exception as exc:
            # If the connection died during COMMIT the batch may in fact be stored; its callers
            # still see an error, so the log can hold an answer nobody received, never the
            # reverse. That is the safe side for an audit trail.
            with self._lock:
                self._batches_failed += 1
            log.error(
                "decision_log.batch_failed",
                size=len(live),
                error_type=type(exc).__name__,
                # The driver's message, not SQLAlchemy's: that one lists the bound parameters,
                # personal ids among them.
                error=_first_line(getattr(exc, "orig", None) or exc),
            )
            for pending in live:
                pending.future.set_exception(exc)
            self._resolved(len(live))
            return
        with self._lock:
            self._batches_committed += 1
            self._decisions_committed += len(stored)
            self._largest_batch = max(self._largest_batch, len(stored))
        for pending, record in zip(live, stored, strict=True):
            pending.future.set_result(record)
        self._resolved(len(live))

    def _commit_batch(self, batch: Sequence[_Pending]) -> list[StoredDecision]:
        """Write one batch in one transaction; the records in ``batch`` order."""
        with chain_lock(self._engine) as connection:
            seq, prev_hash = chain_head(connection)
            records: list[StoredDecision] = []
            for pending in batch:
                seq += 1
                records.append(_chained(pending, seq=seq, prev_hash=prev_hash))
                prev_hash = records[-1].hash
            connection.execute(
                DECISION_TABLE.insert(),
                [{field: getattr(record, field) for field in _COLUMNS} for record in records],
            )
        return records

    def _resolved(self, count: int) -> None:
        if count:
            with self._lock:
                self._pending -= count

    def _fail_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None and item.future.set_running_or_notify_cancel():
                item.future.set_exception(NotReady("the decision log stopped"))
                self._resolved(1)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:500] if lines else type(error).__name__


def _observe(waiting: asyncio.Future[StoredDecision]) -> None:
    # Marks the outcome as seen when nobody awaits it any more (a cancelled request), so
    # asyncio does not report "exception never retrieved"; the writer has logged failures.
    if not waiting.cancelled():
        waiting.exception()


_COLUMNS = tuple(column.name for column in DECISION_TABLE.columns)


def _chained(pending: _Pending, *, seq: int, prev_hash: str) -> StoredDecision:
    draft = pending.draft
    record = canonical_record(
        seq=seq,
        decision_id=draft.decision_id,
        decided_at=draft.decided_at,
        caller=draft.caller,
        department=draft.department,
        subject_id=draft.subject_id,
        matter=draft.matter,
        request_json=pending.request_json,
        response_json=pending.response_json,
        policy_version=draft.policy_version,
        event_seq=draft.event_seq,
        prev_hash=prev_hash,
    )
    return StoredDecision(
        seq=seq,
        decision_id=draft.decision_id,
        decided_at=draft.decided_at,
        caller=draft.caller,
        department=draft.department,
        subject_id=draft.subject_id,
        matter=draft.matter,
        request=draft.request,
        response=draft.response,
        policy_version=draft.policy_version,
        event_seq=draft.event_seq,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, record),
    )


def _prepare(draft: DecisionDraft) -> _Pending:
    """Validate and pre-encode a draft in the caller's thread; ValueError/TypeError if unfit."""
    try:
        canonical_id = str(uuid.UUID(draft.decision_id))
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"decision_id {draft.decision_id!r} is not a UUID") from exc
    if canonical_id != draft.decision_id:
        raise ValueError(f"decision_id {draft.decision_id!r} is not a lower-case hyphenated UUID")
    if not isinstance(draft.decided_at, dt.datetime) or draft.decided_at.tzinfo is None:
        raise ValueError("decided_at must be a timezone-aware datetime")
    for name, limit in _TEXT_LIMITS:
        value = getattr(draft, name)
        if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
            raise ValueError(f"{name} must be a non-empty string of at most {limit} characters")
    if isinstance(draft.event_seq, bool) or not isinstance(draft.event_seq, int):
        raise TypeError("event_seq must be an int")
    if draft.event_seq < 0:
        raise ValueError("event_seq must not be negative")
    if not isinstance(draft.request, dict) or not isinstance(draft.response, dict):
        raise TypeError("request and response must be JSON objects (dicts)")
    return _Pending(
        draft=draft,
        request_json=encode_json(draft.request),
        response_json=encode_json(draft.response),
        future=Future(),
    )


_TEXT_LIMITS = (
    ("caller", CALLER_LEN),
    ("department", CODE_LEN),
    ("subject_id", CODE_LEN),
    ("matter", CODE_LEN),
    ("policy_version", CODE_LEN),
)
