"""PostgreSQL: a batch goes in one round trip from the head the writer last saw (pg_append)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from engine.decisions import DecisionLog, pg_append, verify
from tests.engine.test_decision_log import all_seqs, make_draft

# The one-round-trip append is PostgreSQL's (SQLite locks the whole file instead).
pytestmark = pytest.mark.postgresql_only


def test_a_writer_whose_head_is_stale_chains_again_from_the_new_head(engine: Engine) -> None:
    with DecisionLog(engine) as first, DecisionLog(engine) as second:
        for i in range(0, 12, 2):
            # Each writer's cached head is one batch behind: every append misses once.
            assert first.append(make_draft(i)).seq == i + 1
            assert second.append(make_draft(i + 1)).seq == i + 2
    assert all_seqs(engine) == list(range(1, 13))
    assert verify(engine).ok


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
