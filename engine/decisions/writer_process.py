"""The decision writer's commits in a process of its own (``DecisionLog(writer="process")``).

Why: a serving process is bound by its one GIL. Under load the event loop's thread held it
~0.84 of the time and the writer thread ~0.10 (chaining, hashing, the driver's statement,
settling); every moment the writer held it, no request advanced. Here the writer thread only
sends each batch's encoded decisions down a pipe and waits (outside the GIL) for the chain
positions; a child process chains, hashes and stores the batch on its own connection, on
another core (docs/performance.md, session 12).

What stays as it was (``engine.decisions.writer``): one batch at a time, in order; an answer
is released only after its batch committed, so ``kill -9`` of the server loses no answered
decision; a failed batch fails every append in it. The child:

- is started with the log and serves it until the log closes (``None`` down the pipe) or the
  pipe ends (its parent is gone, ``kill -9`` included: it finishes the batch in hand, whose
  answers nobody received, and exits). It ignores SIGINT and SIGTERM: a terminal's Ctrl-C or
  a service manager's stop reaches the whole process group, and the child must outlive its
  parent's last batch, not die in the middle of it.
- rebuilds each decision from the parent's encoding: the same request and response JSON text
  the thread would have hashed, so the chain is byte-for-byte the same.
- if it dies, the batch in hand fails (``NotReady``; it may or may not be stored, as when a
  connection drops during ``COMMIT``) and the next batch starts a new child, which reads the
  head from the database.

A child is identified by its command line (``engine.decisions.writer_process``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.engine import Engine

import engine as engine_package
from engine import logging as logging_setup
from engine.decisions.commit import Pending, ThreadCommitter
from engine.decisions.records import DecisionDraft, StoredDecision
from engine.errors import NotReady
from engine.store import db

log = structlog.get_logger(__name__)

STOP_TIMEOUT_S = 30.0
"""How long ``close`` waits for the child to commit what it holds and exit before killing it."""

_SOURCE_ROOT = str(Path(engine_package.__file__).resolve().parent.parent)
# The child imports this very code (not whatever ``engine`` its working directory holds).
_BOOT = (
    f"import sys; sys.path.insert(0, {_SOURCE_ROOT!r}); "
    "from engine.decisions.writer_process import main; sys.exit(main(sys.argv[1:]))"
)

Encoded = tuple[str, Any, str, str, str, str, str, int, str, str]
"""One decision as it goes down the pipe (``_encode``)."""


class CommitFailed(Exception):
    """The child could not store a batch; ``error_type`` is its exception's class name."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class ProcessCommitter:
    """The parent's end: one child process, one batch at a time (the writer thread's only)."""

    def __init__(self, engine: Engine) -> None:
        if in_memory(engine):
            raise ValueError("an in-memory database cannot be written from another process")
        self._url = engine.url.render_as_string(hide_password=False)
        self._process: subprocess.Popen[bytes] | None = None
        self._to_child: Connection | None = None
        self._from_child: Connection | None = None
        self._start()

    @property
    def pid(self) -> int | None:
        """The child's process id while one runs."""
        return None if self._process is None else self._process.pid

    def commit(self, batch: Sequence[Pending]) -> list[StoredDecision]:
        if self._process is None:
            self._start()
        assert self._to_child is not None and self._from_child is not None
        try:
            self._to_child.send([_encode(pending) for pending in batch])
            reply = self._from_child.recv()
        except (OSError, EOFError) as exc:
            status = self._reap()
            raise NotReady(
                f"the decision writer process stopped (exit status {status}); "
                "the batch may or may not be stored"
            ) from exc
        if reply[0] == "failed":
            raise CommitFailed(reply[1], reply[2])
        _, seq, prev_hash, hashes = reply
        records = []
        for pending, hash in zip(batch, hashes, strict=True):
            records.append(
                StoredDecision.from_draft(pending.draft, seq=seq, prev_hash=prev_hash, hash=hash)
            )
            seq += 1
            prev_hash = hash
        return records

    def close(self) -> None:
        """Let the child finish and exit (killed after ``STOP_TIMEOUT_S``)."""
        process, to_child = self._process, self._to_child
        if process is None or to_child is None:
            return
        with contextlib.suppress(OSError):  # already gone
            to_child.send(None)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.error("decision_log.writer_process_killed", pid=process.pid)
            process.kill()
        self._reap()

    def _start(self) -> None:
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(child_reads), str(child_writes)],
                pass_fds=(child_reads, child_writes),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            for fd in (child_reads, parent_writes, parent_reads, child_writes):
                os.close(fd)
            raise
        os.close(child_reads)
        os.close(child_writes)
        self._to_child = Connection(parent_writes, readable=False)
        self._from_child = Connection(parent_reads, writable=False)
        self._to_child.send({"url": self._url, "logging": logging_setup.configured()})

    def _reap(self) -> int | None:
        """Close the pipes and collect the child's exit status; the next batch starts anew."""
        process, self._process = self._process, None
        for connection in (self._to_child, self._from_child):
            if connection is not None:
                connection.close()
        self._to_child = self._from_child = None
        if process is None:
            return None
        try:
            status = process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            status = process.wait()
        if status != 0:
            log.error("decision_log.writer_process_stopped", pid=process.pid, status=status)
        return status


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
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from_parent = Connection(int(argv[0]), writable=False)
    to_parent = Connection(int(argv[1]), readable=False)
    try:
        config = from_parent.recv()
    except EOFError:
        return 0
    if config["logging"] is not None:
        logging_setup.configure(**config["logging"])
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
