"""The decision writer's child process (``engine/decisions/writer_process.py``): what is
particular to it. What any writer does (chaining, batches, failures, close) is tested with
both writers in ``test_decision_log.py``."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from engine.decisions import DecisionDraft, DecisionLog, StoredDecision, verify, writer_process
from engine.errors import NotReady
from engine.settings import Settings
from engine.store import db
from tests.conftest import ROOT, database_url
from tests.engine.decisions.test_decision_log import make_draft, wait_until
from tests.serving import writer_pids


def _gone(pid: int) -> bool:
    """The process has exited (a zombie nobody reaped counts: it runs no more)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status


def _appended(log: DecisionLog, drafts: list[DecisionDraft]) -> list[StoredDecision]:
    """``drafts`` appended as a server's checks are: from coroutines, in one pass of a loop
    (one hand-over, in order)."""

    async def append() -> list[StoredDecision]:
        return list(await asyncio.gather(*(log.append_async(draft) for draft in drafts)))

    return asyncio.run(append())


def _decisions(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT seq, decision_id, prev_hash, hash, request, response FROM decision")
        )
        return [tuple(row) for row in rows]


def test_the_chain_is_the_same_whichever_writer_commits(tmp_path: Path, engine: Engine) -> None:
    drafts = [make_draft(i, hits=["djd-procurement"] if i % 2 else ()) for i in range(30)]
    (tmp_path / "other").mkdir()
    with database_url(tmp_path / "other") as other_url:
        other = db.create_db_engine(other_url)
        try:
            db.migrate(other)
            with DecisionLog(engine, writer="thread") as by_thread:
                threads = _appended(by_thread, drafts)
            with DecisionLog(other, writer="process", max_batch=25) as by_process:
                processes = _appended(by_process, drafts)
                assert by_process.batches_committed == 2  # 30 in one hand-over: 25 and 5
                assert by_process.largest_batch == 25
            assert processes == threads  # the records handed back: seqs, hashes, everything
            assert _decisions(other) == _decisions(engine)  # and the rows stored
            assert verify(other).ok
        finally:
            other.dispose()


def test_a_writer_process_that_dies_fails_its_batch_and_the_next_starts_anew(
    engine: Engine,
) -> None:
    with DecisionLog(engine, writer="process") as log:
        assert [s.seq for s in _appended(log, [make_draft(1)])] == [1]
        [first] = writer_pids(os.getpid())
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: _gone(first))
        with capture_logs() as logs, pytest.raises(NotReady, match="writer process stopped"):
            _appended(log, [make_draft(2), make_draft(3)])
        assert {"event": "decision_log.writer_process_stopped", "pid": first,
                "status": -signal.SIGKILL, "log_level": "error"} in logs  # fmt: skip
        # A new child, from the stored head.
        assert [s.seq for s in _appended(log, [make_draft(4)])] == [2]
        assert writer_pids(os.getpid()) not in ([], [first])
        assert log.batches_failed == 1 and log.pending == 0
    assert verify(engine).ok


def test_a_writer_process_that_cannot_be_restarted_fails_appends_not_the_loop(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_process(_config: object) -> None:
        raise OSError("no more processes")

    with DecisionLog(engine, writer="process") as log:
        _appended(log, [make_draft(1)])
        [child] = writer_pids(os.getpid())
        os.kill(child, signal.SIGKILL)
        wait_until(lambda: _gone(child))
        with pytest.raises(NotReady, match="writer process stopped"):
            _appended(log, [make_draft(2)])
        monkeypatch.setattr(writer_process, "_spawn", no_process)
        with capture_logs() as logs, pytest.raises(NotReady, match="could not be started"):
            _appended(log, [make_draft(3)])
        assert logs[0]["event"] == "decision_log.writer_process_not_started"
        monkeypatch.undo()
        assert [s.seq for s in _appended(log, [make_draft(4)])] == [2]
        assert log.pending == 0
    assert verify(engine).ok


def test_a_second_running_loop_appends_through_the_writer_thread(engine: Engine) -> None:
    first_bound, second_done = threading.Event(), threading.Event()
    stored: list[StoredDecision] = []

    async def first_loop() -> None:
        stored.append(await log.append_async(make_draft(0)))  # binds the channel
        first_bound.set()
        while not second_done.is_set():
            await asyncio.sleep(0.01)
        stored.append(await log.append_async(make_draft(100)))

    with DecisionLog(engine, writer="process") as log:
        first = threading.Thread(target=lambda: asyncio.run(first_loop()))
        first.start()
        assert first_bound.wait(30)
        # This loop runs while the first still does: its appends go to the writer thread.
        stored += _appended(log, [make_draft(n) for n in range(1, 6)])
        second_done.set()
        first.join()
        assert log.decisions_committed == 7 and log.pending == 0
    assert sorted(s.seq for s in stored) == list(range(1, 8))
    assert verify(engine).ok


def test_the_writer_process_exits_when_its_log_closes(engine: Engine) -> None:
    log = DecisionLog(engine, writer="process")
    [child] = writer_pids(os.getpid())
    assert [s.seq for s in _appended(log, [make_draft(1)])] == [1]
    log.close()
    assert _gone(child)
    assert writer_pids(os.getpid()) == []


_PARENT = """
import asyncio, os, signal, sys
sys.path.insert(0, {root!r})
from engine.decisions import DecisionLog
from engine.store import db
from tests.engine.decisions.test_decision_log import make_draft
from tests.serving import writer_pids

engine = db.create_db_engine({url!r})
log = DecisionLog(engine, writer="process")
asyncio.run(log.append_async(make_draft(1)))
print(writer_pids(os.getpid())[0], flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def orphan_exits(parent_script: str, db_url: str) -> None:
    """Run ``parent_script`` (it prints its child's pid, then kills itself with SIGKILL); the
    orphaned child must exit on its own."""
    script = textwrap.dedent(parent_script).format(root=str(ROOT), url=db_url)
    parent = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert parent.returncode == -signal.SIGKILL, parent.stderr
    child = int(parent.stdout.split()[0])
    wait_until(lambda: _gone(child), timeout=30)


def test_the_writer_process_exits_when_its_parent_is_killed(engine: Engine, db_url: str) -> None:
    orphan_exits(_PARENT, db_url)
    assert verify(engine).length == 1


def test_an_in_memory_database_is_written_by_the_thread_only() -> None:
    memory = db.create_db_engine("sqlite://")
    try:
        with pytest.raises(ValueError, match="in-memory"):
            DecisionLog(memory, writer="process")
    finally:
        memory.dispose()
    with pytest.raises(ValidationError, match="JRP_DECISION_WRITER=thread"):
        Settings(db="sqlite://", decision_writer="process")
    assert Settings(db="sqlite://", decision_writer="thread").decision_writer == "thread"


def test_the_service_commits_from_a_writer_process_unless_told_otherwise() -> None:
    # The suite's own services use the thread (tests/conftest.py sets the variable).
    assert Settings.model_fields["decision_writer"].default == "process"
