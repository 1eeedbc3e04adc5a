"""A serving process's decision batches committed by a child process (``writer="process"``).

Why: a serving process is bound by its one GIL. With the writer thread (``writer="thread"``)
the thread held the GIL ~0.10 of the time under load, and each time it came back from the
database it waited for the event loop to give the GIL up (up to the 5 ms switch interval)
before it could hand the answers back: latency for every check, CPU for the process. Here the
event loop itself writes each batch, already encoded, down a pipe without blocking, and reads
the chain positions back when they arrive (``ProcessChannel``); no thread is involved. The
child chains, hashes and stores the batch on its own connection, on another core
(docs/performance.md, session 12).

What stays as it was (``engine.decisions.writer``): batches are committed one at a time, in
the order they were handed over; an answer is released only after its batch committed, so
``kill -9`` of the server loses no answered decision; a failed batch fails every append in
it. Appends made from threads (``DecisionLog.append``) still go through the writer thread,
which commits them itself; both writers keep one chain (each chains from the head it last
saw, and a stale head is a collision, as between two servers).

The child:

- serves batches until it reads the stop marker (``None``) or the pipe ends (its parent is
  gone, ``kill -9`` included: it finishes the batch in hand, whose answers nobody received,
  and exits). It ignores SIGINT and SIGTERM: a terminal's Ctrl-C or a service manager's stop
  reaches the whole process group, and the child must outlive its parent's last batch, not
  die in the middle of it.
- rebuilds each decision from the parent's encoding: the same request and response JSON text
  the thread would have hashed, so the chain is byte-for-byte the same.
- if it dies, the batches in flight fail (``NotReady``: each may or may not be stored, as when
  a connection drops during ``COMMIT``) and the next hand-over starts a new child, which reads
  the head from the database.

A child is identified by its command line (``engine.decisions.writer_process``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import pickle
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy.engine import Engine

from engine import children
from engine.children import HEADER
from engine.decisions.commit import Pending, ThreadCommitter
from engine.decisions.records import DecisionDraft, StoredDecision
from engine.errors import NotReady
from engine.store import db

log = structlog.get_logger(__name__)

STOP_TIMEOUT_S = 30.0
"""How long closing waits for the child to commit what it holds and exit before killing it."""

_READ_SIZE = 1 << 16

Encoded = tuple[str, Any, str, str, str, str, str, int, str, str]
"""One decision as it goes down the pipe (``_encode``)."""

Finished = Callable[[list[Pending], list[StoredDecision] | None, BaseException | None, float], None]
"""Called on the loop with each batch's outcome: the batch, its records or the error, and the
``time.perf_counter()`` at which it was handed over."""


class CommitFailed(Exception):
    """The child could not store a batch; ``error_type`` is its exception's class name."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class ProcessChannel:
    """The parent's end of one writer process, driven by one event loop.

    ``send`` is called on the loop's thread and never blocks: what the pipe does not take at
    once is written when the loop sees it writable. Replies are read when the loop sees them
    readable, matched to batches in order, and reported to ``finished`` on the loop's thread.
    """

    def __init__(self, engine: Engine, finished: Finished) -> None:
        if in_memory(engine):
            raise ValueError("an in-memory database cannot be written from another process")
        self._finished = finished
        self._in_flight: collections.deque[tuple[list[Pending], float]] = collections.deque()
        self._outgoing = bytearray()
        self._incoming = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watching_writes = False
        self._process, self._write_fd, self._read_fd = _spawn(
            {"url": engine.url.render_as_string(hide_password=False)}
        )
        self.alive = True

    def serves(self, loop: asyncio.AbstractEventLoop) -> bool:
        """True when ``loop`` may send on this channel (binding it if no running loop has)."""
        if self._loop is loop:
            return True
        if self._loop is not None and not self._loop.is_closed():
            return False  # another loop's (it keeps it; this one's appends go to the thread)
        # The batches a closed loop left in flight stay there: their replies come first.
        self._loop = loop
        self._watching_writes = False
        loop.add_reader(self._read_fd, self._readable)
        if self._outgoing:
            self._write()
        return True

    def send(self, batch: list[Pending]) -> None:
        self._outgoing += children.frame([_encode(pending) for pending in batch])
        self._in_flight.append((batch, time.perf_counter()))
        self._write()

    # -- the loop's callbacks ---------------------------------------------------------------

    def _write(self) -> None:
        try:
            written = os.write(self._write_fd, self._outgoing) if self._outgoing else 0
        except BlockingIOError:
            written = 0
        except OSError as exc:  # the child is gone; its read end too
            self._died(exc)
            return
        del self._outgoing[:written]
        loop = self._loop
        assert loop is not None
        if self._outgoing and not self._watching_writes:
            loop.add_writer(self._write_fd, self._write)
            self._watching_writes = True
        elif not self._outgoing and self._watching_writes:
            loop.remove_writer(self._write_fd)
            self._watching_writes = False

    def _readable(self) -> None:
        try:
            data = os.read(self._read_fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self._died(exc)
            return
        if not data:
            self._died(None)
            return
        self._incoming += data
        for reply in self._replies():
            batch, started = self._in_flight.popleft()
            self._report(batch, reply, started)

    # -- replies ----------------------------------------------------------------------------

    def _replies(self) -> list[Any]:
        replies = []
        while len(self._incoming) >= HEADER.size:
            (size,) = HEADER.unpack_from(self._incoming)
            end = HEADER.size + size
            if len(self._incoming) < end:
                break
            replies.append(pickle.loads(self._incoming[HEADER.size : end]))
            del self._incoming[:end]
        return replies

    def _report(self, batch: list[Pending], reply: Any, started: float) -> None:
        if reply[0] == "failed":
            self._finished(batch, None, CommitFailed(reply[1], reply[2]), started)
            return
        _, seq, prev_hash, hashes = reply
        records = []
        for pending, hash in zip(batch, hashes, strict=True):
            records.append(
                StoredDecision.from_draft(pending.draft, seq=seq, prev_hash=prev_hash, hash=hash)
            )
            seq += 1
            prev_hash = hash
        self._finished(batch, records, None, started)

    def _abandon(self, error: BaseException) -> None:
        """Fail every batch in flight (their replies, if any come, are not waited for)."""
        while self._in_flight:
            batch, started = self._in_flight.popleft()
            self._finished(batch, None, error, started)

    def _died(self, cause: BaseException | None) -> None:
        if not self.alive:
            return
        self.alive = False
        self._unwatch()
        status = self._reap()
        log.error("decision_log.writer_process_stopped", pid=self._process.pid, status=status)
        error = NotReady(
            f"the decision writer process stopped (exit status {status}); "
            "the batch may or may not be stored"
        )
        error.__cause__ = cause
        self._abandon(error)

    def _unwatch(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None or loop.is_closed():
            return
        loop.remove_reader(self._read_fd)
        if self._watching_writes:
            loop.remove_writer(self._write_fd)
            self._watching_writes = False

    # -- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Send what is left and the stop marker, wait for every reply, and let the child exit.

        Called from any thread. The loop stops watching the pipes first; the rest is done
        here, blocking (the replies are reported, as always, to ``finished``)."""
        if not self.alive:
            return
        loop = self._loop
        if loop is not None and loop.is_running() and not runs_on(loop):
            detached = threading.Event()

            def detach() -> None:
                self._unwatch()
                detached.set()

            try:
                loop.call_soon_threadsafe(detach)
                detached.wait(STOP_TIMEOUT_S)
            except RuntimeError:  # closed meanwhile
                pass
        else:
            self._unwatch()
        self.alive = False
        os.set_blocking(self._write_fd, True)
        os.set_blocking(self._read_fd, True)
        self._outgoing += children.frame(None)
        with contextlib.suppress(OSError):  # a child already gone has nothing to commit
            while self._outgoing:
                del self._outgoing[: os.write(self._write_fd, self._outgoing)]
        while self._in_flight:
            try:
                data = os.read(self._read_fd, _READ_SIZE)
            except OSError:
                data = b""
            if not data:
                break
            self._incoming += data
            for reply in self._replies():
                batch, started = self._in_flight.popleft()
                self._report(batch, reply, started)
        status = self._reap()
        if status != 0:
            log.error("decision_log.writer_process_stopped", pid=self._process.pid, status=status)
        self._abandon(NotReady(f"the decision writer process stopped (exit status {status})"))

    def _reap(self) -> int | None:
        for fd in (self._write_fd, self._read_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        try:
            return self._process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.error("decision_log.writer_process_killed", pid=self._process.pid)
            self._process.kill()
            return self._process.wait()


def runs_on(loop: asyncio.AbstractEventLoop) -> bool:
    """True when called from ``loop``'s own thread while it runs."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _spawn(config: dict[str, Any]) -> tuple[subprocess.Popen[bytes], int, int]:
    """The child; the parent's write and read ends, non-blocking."""
    process, write_fd, read_fd = children.spawn("engine.decisions.writer_process", config)
    os.set_blocking(write_fd, False)
    os.set_blocking(read_fd, False)
    return process, write_fd, read_fd


def in_memory(engine: Engine) -> bool:
    """True for a SQLite database that lives in one process's memory."""
    url = engine.url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _encode(pending: Pending) -> Encoded:
    draft = pending.draft
    return (
        draft.decision_id,
        draft.decided_at,
        draft.caller,
        draft.department,
        draft.subject_id,
        draft.matter,
        draft.policy_version,
        draft.event_seq,
        pending.request_json,
        pending.response_json,
    )


def _decode(encoded: Encoded) -> Pending:
    (decision_id, decided_at, caller, department, subject_id, matter, policy_version,
     event_seq, request_json, response_json) = encoded  # fmt: skip
    draft = DecisionDraft(
        decision_id=decision_id,
        decided_at=decided_at,
        caller=caller,
        department=department,
        subject_id=subject_id,
        matter=matter,
        request=json.loads(request_json),
        response=json.loads(response_json),
        policy_version=policy_version,
        event_seq=event_seq,
    )
    return Pending(draft=draft, request_json=request_json, response_json=response_json)


def main(argv: list[str]) -> int:
    """The child: commit each batch the parent sends until it sends None or goes away."""
    from_parent, to_parent, config = children.child_pipes(argv)
    if config is None:
        return 0
    engine = db.create_db_engine(config["url"])
    committer = ThreadCommitter(engine)
    try:
        while True:
            try:
                message = from_parent.recv()
            except EOFError:
                break  # the parent is gone
            if message is None:
                break
            try:
                records = committer.commit([_decode(encoded) for encoded in message])
            except Exception as exc:
                reply: tuple[Any, ...] = ("failed", type(exc).__name__, db.driver_message(exc))
            else:
                reply = ("ok", records[0].seq, records[0].prev_hash, [r.hash for r in records])
            try:
                to_parent.send(reply)
            except OSError:
                break  # the parent is gone
    finally:
        committer.close()
        engine.dispose()
    return 0
