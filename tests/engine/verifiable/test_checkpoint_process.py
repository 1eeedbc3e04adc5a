"""Checkpoint rounds in a child process (``engine/verifiable/checkpoint_process.py``)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from engine.decisions import DecisionLog
from engine.errors import NotFound
from engine.settings import Settings
from engine.store.dialect import CHECKPOINT_LOCK_KEYS, dialect_of
from engine.verifiable import service
from engine.verifiable.checkpoints import Checkpoint
from engine.verifiable.service import VerifiableLogs
from tests.engine.decisions.test_decision_log import make_draft, wait_until
from tests.engine.decisions.test_writer_process import _gone, orphan_exits
from tests.serving import module_pids

MARK = b"engine.verifiable.checkpoint_process"


def checkpoint_pids(pid: int) -> list[int]:
    return module_pids(pid, MARK)


def _size(logs: VerifiableLogs) -> int:
    try:
        return int(logs.newest("decisions")["size"])
    except NotFound:
        return 0


def test_a_child_process_makes_the_signed_checkpoints(engine: Engine) -> None:
    key = Ed25519PrivateKey.generate()
    logs = VerifiableLogs(engine, runner="process")
    logs.use_key(key)
    logs.interval = 0.1
    with DecisionLog(engine) as decisions:
        for n in range(5):
            decisions.append(make_draft(n))
        logs.start()
        try:
            [child] = checkpoint_pids(os.getpid())
            wait_until(lambda: _size(logs) == 5)
            decisions.append(make_draft(5))
            wait_until(lambda: _size(logs) == 6)  # round after round
        finally:
            logs.close()
    assert _gone(child)
    checkpoint = Checkpoint.parse(logs.newest("decisions"))
    assert checkpoint.signature_problem(key.public_key()) is None  # signed with the key sent


def test_a_checkpoint_process_that_dies_is_replaced(engine: Engine) -> None:
    logs = VerifiableLogs(engine, runner="process")
    logs.interval = 0.1
    with DecisionLog(engine) as decisions, capture_logs() as events:
        decisions.append(make_draft(0))
        logs.start()
        try:
            [first] = checkpoint_pids(os.getpid())
            wait_until(lambda: _size(logs) == 1)
            os.kill(first, signal.SIGKILL)
            wait_until(lambda: checkpoint_pids(os.getpid()) not in ([], [first]))
            decisions.append(make_draft(1))
            wait_until(lambda: _size(logs) == 2)  # the new child's rounds
            [second] = checkpoint_pids(os.getpid())
        finally:
            logs.close()
    assert _gone(second)
    assert {"event": "verifiable.checkpoint_process_stopped", "pid": first,
            "status": -signal.SIGKILL, "log_level": "error"} in events  # fmt: skip


def test_closing_kills_a_checkpoint_process_whose_round_does_not_end(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "STOP_TIMEOUT_S", 1.0)
    logs = VerifiableLogs(engine, runner="process")
    with DecisionLog(engine) as decisions:
        decisions.append(make_draft(0))
    lock = CHECKPOINT_LOCK_KEYS["decisions"]
    with dialect_of(engine).locked_transaction(engine, lock), capture_logs() as events:
        logs.start()  # its first round waits for the lock held here
        [child] = checkpoint_pids(os.getpid())
        time.sleep(1.0)
        logs.close()
        assert _gone(child)
    assert {"event": "verifiable.checkpoint_process_killed", "pid": child,
            "log_level": "error"} in events  # fmt: skip
    assert _size(logs) == 0


_PARENT = """
import os, signal, sys
sys.path.insert(0, {root!r})
from engine.store import db
from engine.store.dialect import CHECKPOINT_LOCK_KEYS, dialect_of
from engine.verifiable import service
from engine.verifiable.service import VerifiableLogs
from tests.engine.verifiable.test_checkpoint_process import checkpoint_pids

logs = VerifiableLogs(db.create_db_engine({url!r}), runner="process")
logs.start()
print(checkpoint_pids(os.getpid())[0], flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_checkpoint_process_exits_when_its_parent_is_killed(
    engine: Engine, db_url: str
) -> None:
    assert engine.url.render_as_string(hide_password=False) == db_url  # migrated
    orphan_exits(_PARENT, db_url)


def test_an_in_memory_database_needs_the_checkpoint_thread() -> None:
    with pytest.raises(ValidationError, match="JRP_CHECKPOINT_RUNNER=thread"):
        Settings(db="sqlite://", checkpoint_runner="process", decision_writer="thread")
    assert Settings.model_fields["checkpoint_runner"].default == "process"
