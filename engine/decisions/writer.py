"""The group-committing writer: one transaction per batch, one unbroken chain across processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import queue
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future

import structlog
from sqlalchemy.engine import Engine

from engine import metrics
from engine.decisions.canonical import encode_json
from engine.decisions.commit import (
    Pending,
    ThreadCommitter,
    WriterKind,
    chain_lock,
)
from engine.decisions.records import DecisionDraft, StoredDecision
from engine.decisions.writer_process import ProcessChannel, runs_on
from engine.errors import NotReady
from engine.store.db import driver_message
from engine.store.tables import CALLER_LEN, CODE_LEN

__all__ = ["MAX_BATCH", "DecisionLog", "chain_lock"]

log = structlog.get_logger(__name__)


MAX_BATCH = {"postgresql": 25, "sqlite": 256}
"""Decisions in one transaction at most, by database (``DecisionLog``'s default).

PostgreSQL: a loop hands the writer every append of one pass at once (``append_async``),
under load the checks of one freshness round, i.e. nearly every connection's request.
Committed in one transaction, all their answers waited for that round trip and the loop had
nothing else to do meanwhile; split, the first part's answers go out, and their connections'
next requests are read and decided, while the rest commits. City scale, 50 connections
(docs/performance.md, session 11): the server busy 0.87 → 0.95 of a core, the same
throughput (the extra batches cost what the idle time gave back), the checks' p99 lower
(median of three A/B rounds 1.87 × the trivial endpoint's against 2.41 ×).

SQLite: the commit is the writer's own work on a local file, not a wait, and a batch costs
much more than a decision; split at 25 the checks fell from 0.69–0.73 of the trivial
endpoint's throughput to 0.55–0.58 (small scale, A/B). A loop's hand-over stays whole."""


class DecisionLog:
    """Thread-safe appender that commits decisions in groups from one background thread.

    ``append`` blocks until its decision is committed. The writer takes whatever is queued
    (up to ``max_batch``; an event loop's larger hand-over is split in order), waiting up
    to ``max_wait`` seconds after the first item for more, and commits it in one
    transaction: on PostgreSQL one optimistic statement (``pg_append``), else, or after
    repeated misses, under ``chain_lock``. A future is resolved only after
    its batch committed, and a failed batch fails every future in it with the same exception
    and leaves no row behind. Drafts are validated before they are queued, so one bad draft
    fails only its own append.

    ``writer`` says where a batch's commit runs (``engine.decisions.commit``): in the writer
    thread itself, or, ``"process"``, in a child process the thread pipes the batch to
    (``engine.decisions.writer_process``), off this process's GIL.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_batch: int | None = None,
        max_wait: float = 0.0,
        writer: WriterKind = "thread",
    ) -> None:
        if max_batch is None:
            max_batch = MAX_BATCH.get(engine.dialect.name, MAX_BATCH["sqlite"])
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if max_wait < 0:
            raise ValueError("max_wait must not be negative")
        self._engine = engine
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._queue: queue.SimpleQueue[Pending | list[Pending] | None] = queue.SimpleQueue()
        self._carried: list[Pending] = []  # a hand-over's appends past max_batch (writer only)
        # Coroutines' appends waiting for their loop's next pass, per loop (``append_async``).
        self._handing: dict[asyncio.AbstractEventLoop, list[Pending]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._pending = 0
        self._batches_committed = 0
        self._batches_failed = 0
        self._decisions_committed = 0
        self._largest_batch = 0
        self._committer = ThreadCommitter(engine)  # the writer thread's
        # Coroutines' batches, when a child process commits them (writer_process.py).
        self._process = writer == "process"
        self._channel = ProcessChannel(engine, self._finish) if self._process else None
        self._thread = threading.Thread(target=self._run, name="jrp-decision-log", daemon=True)
        self._thread.start()

    # -- appending ---------------------------------------------------------------------------

    def append(self, draft: DecisionDraft) -> StoredDecision:
        """Log ``draft``; returns it with seq and hashes once its batch is committed."""
        pending = _prepare(draft)
        future: Future[StoredDecision] = Future()
        pending.future = future
        self._submit(pending)
        return future.result()

    async def append_async(self, draft: DecisionDraft) -> StoredDecision:
        """``append`` for async code: awaits the commit without blocking the event loop.

        The writer settles a batch's coroutines with one call into each event loop, not one
        per decision.
        """
        pending = _prepare(draft)
        if self._closed:
            raise NotReady("the decision log is closed")
        pending.loop = loop = asyncio.get_running_loop()
        waiting: asyncio.Future[StoredDecision]
        pending.waiter = waiting = loop.create_future()
        waiting.add_done_callback(_observe)
        # Handed to the writer once per pass of the loop, with every other append of that
        # pass: checks resumed together (by one freshness round) wake the writer once, not
        # once each (each wake-up is a thread hand-off both ways; docs/performance.md).
        handing = self._handing.get(loop)
        if handing is None:
            handing = self._handing[loop] = []
            loop.call_soon(self._hand_over, loop)
        handing.append(pending)
        # A cancelled request (client gone) cancels only this wait: the decision is in the
        # batch whatever becomes of its waiter (it may have reached the client), and the
        # writer skips waiters already done.
        return await waiting

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._handing.pop(loop, [])
        if not batch:
            return
        try:
            channel = self._channel_for(loop)
            if channel is None:
                self._submit(batch)
                return
            with self._lock:
                if self._closed:
                    raise NotReady("the decision log is closed")
                self._pending += len(batch)
        except NotReady as exc:  # closed since those appends were made
            _resolve([(pending, None) for pending in batch], exc)
            return
        # Sent in order, each part as soon as the pipe takes it: the child commits them one
        # after the other, and the first part's answers go out while the rest commits.
        for start in range(0, len(batch), self._max_batch):
            channel.send(batch[start : start + self._max_batch])

    def _channel_for(self, loop: asyncio.AbstractEventLoop) -> ProcessChannel | None:
        """The writer process's channel for ``loop``'s batches; None: the writer thread's."""
        if not self._process:
            return None
        with self._lock:  # loops in two threads must not both take the channel
            channel = self._channel
            if channel is None or not channel.alive:
                if self._closed:
                    return None
                # The child died (its batches failed): a new one reads the head from the
                # database.
                try:
                    channel = self._channel = ProcessChannel(self._engine, self._finish)
                except OSError as exc:
                    log.error("decision_log.writer_process_not_started", error=str(exc))
                    raise NotReady("the decision writer process could not be started") from exc
            return channel if channel.serves(loop) else None

    def _submit(self, item: Pending | list[Pending]) -> None:
        with self._lock:
            if self._closed:
                raise NotReady("the decision log is closed")
            self._pending += 1 if isinstance(item, Pending) else len(item)
            self._queue.put(item)

    def close(self) -> None:
        """Commit everything queued, then stop the writer; later appends raise NotReady."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join()
        if self._channel is not None:
            self._channel.close()

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
                if self._carried:
                    batch, self._carried = self._carried, []
                else:
                    first = self._queue.get()
                    if first is None:
                        break
                    batch = [first] if isinstance(first, Pending) else list(first)
                # The stop marker is only read into a batch below max_batch: nothing is
                # carried over past it.
                stopping = self._gather(batch)
                # A loop's hand-over may hold more than max_batch: the rest is the next batch.
                batch, self._carried = batch[: self._max_batch], batch[self._max_batch :]
                self._flush(batch)
        finally:
            # Only reached early if the thread itself broke: nobody may wait forever.
            with self._lock:
                self._closed = True
            carried, self._carried = self._carried, []
            self._fail(carried)
            self._fail_queued()
            self._committer.close()

    def _gather(self, batch: list[Pending]) -> bool:
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
            if isinstance(item, Pending):
                batch.append(item)
            else:
                batch.extend(item)  # a loop's hand-over: past max_batch it is split (_run)
        return False

    def _flush(self, batch: list[Pending]) -> None:
        live = [p for p in batch if p.live()]
        self._resolved(len(batch) - len(live))
        if not live:
            return
        started = time.perf_counter()
        try:
            stored = self._committer.commit(live)
        except Exception as exc:
            self._finish(live, None, exc, started)
            return
        self._finish(live, stored, None, started)

    def _finish(
        self,
        batch: list[Pending],
        stored: list[StoredDecision] | None,
        error: BaseException | None,
        started: float,
    ) -> None:
        """Count a committed or failed batch and resolve its appends (the writer thread's
        batches, and the writer process's, on their loop)."""
        if stored is None:
            # If the connection died during COMMIT the batch may in fact be stored; its callers
            # still see an error, so the log can hold an answer nobody received, never the
            # reverse. That is the safe side for an audit trail.
            with self._lock:
                self._batches_failed += 1
            log.error(
                "decision_log.batch_failed",
                size=len(batch),
                error_type=getattr(error, "error_type", type(error).__name__),
                error=driver_message(error) if error is not None else "",
            )
        else:
            metrics.get().batch_committed(len(stored), time.perf_counter() - started)
            with self._lock:
                self._batches_committed += 1
                self._decisions_committed += len(stored)
                self._largest_batch = max(self._largest_batch, len(stored))
        loop = batch[0].loop
        if loop is not None and runs_on(loop):  # the writer process's, reported on the loop
            _resolve([(p, None if stored is None else stored[i]) for i, p in enumerate(batch)],
                     error)  # fmt: skip
        else:
            _settle(batch, stored, error)
        self._resolved(len(batch))

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
            self._fail([] if item is None else [item] if isinstance(item, Pending) else item)

    def _fail(self, items: list[Pending]) -> None:
        live = [pending for pending in items if pending.live()]
        _settle(live, None, NotReady("the decision log stopped"))
        self._resolved(len(items))


def _settle(
    batch: Sequence[Pending],
    records: Sequence[StoredDecision] | None,
    error: BaseException | None,
) -> None:
    """Resolve every append of a batch: threads directly, coroutines in one call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Pending, StoredDecision | None]]] = {}
    for index, pending in enumerate(batch):
        record = None if records is None else records[index]
        if pending.future is not None:
            if record is None:
                pending.future.set_exception(error or NotReady("the decision log stopped"))
            else:
                pending.future.set_result(record)
        elif pending.loop is not None:
            by_loop.setdefault(pending.loop, []).append((pending, record))
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, items, error)
        except RuntimeError:  # that loop is closed: nobody waits any more
            continue


def _resolve(
    items: list[tuple[Pending, StoredDecision | None]], error: BaseException | None
) -> None:
    for pending, record in items:
        waiter = pending.waiter
        if waiter is None or waiter.done():
            continue
        if record is None:
            waiter.set_exception(error or NotReady("the decision log stopped"))
        else:
            waiter.set_result(record)


def _observe(waiting: asyncio.Future[StoredDecision]) -> None:
    # Marks the outcome as seen when nobody awaits it any more (a cancelled request), so
    # asyncio does not report "exception never retrieved"; the writer has logged failures.
    if not waiting.cancelled():
        waiting.exception()


def _prepare(draft: DecisionDraft) -> Pending:
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
    return Pending(
        draft=draft,
        request_json=encode_json(draft.request),
        response_json=encode_json(draft.response),
    )


_TEXT_LIMITS = (
    ("caller", CALLER_LEN),
    ("department", CODE_LEN),
    ("subject_id", CODE_LEN),
    ("matter", CODE_LEN),
    ("policy_version", CODE_LEN),
)
