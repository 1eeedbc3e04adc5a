"""Each tampering is found by ``verify_logs`` with a checkpoint taken before it (both databases):
an edited decision, one deleted in the middle, the tail deleted, records reordered, seqs
reused after the tail was deleted, an edited event; and the stored tree itself edited."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from engine.decisions import DecisionLog
from engine.store import db
from engine.store.events import EventType, NewEvent, append
from engine.store.tables import MERKLE_TILE_TABLE
from engine.verifiable import verify
from engine.verifiable.checkpoints import Checkpoint
from engine.verifiable.merkle import Frontier, leaf_hash
from engine.verifiable.service import VerifiableLogs
from engine.verifiable.trees import checkpoint_log
from engine.verifiable.verify import verify_logs
from tests.engine.decisions.test_decision_log import make_draft

KEY = Ed25519PrivateKey.generate()


def _fill(engine: Engine, decisions: int = 6, events: int = 6) -> tuple[Checkpoint, Checkpoint]:
    with DecisionLog(engine) as log:
        for i in range(decisions):
            log.append(make_draft(i))
    with db.session_scope(engine) as session:
        payloads = [{"id": f"S{i}", "kind": "org", "n": i / 3} for i in range(events)]
        append(session, [NewEvent(EventType.subject_upserted, p) for p in payloads])
        session.commit()
    VerifiableLogs(engine).use_key(KEY)  # records the public key, as the service does
    made_d = checkpoint_log(engine, "decisions", KEY)
    made_e = checkpoint_log(engine, "events", KEY)
    assert made_d is not None and made_e is not None
    return made_d, made_e


def _problems(engine: Engine, *checkpoints: Checkpoint) -> list[str]:
    return [
        p for report in verify_logs(engine, checkpoints, KEY.public_key()) for p in report.problems
    ]


def _sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))


def test_intact_logs_and_checkpoints_hold(engine: Engine) -> None:
    d, e = _fill(engine)
    assert _problems(engine, d, e) == []
    reports = verify_logs(engine, [d, e], KEY.public_key())
    assert [r.length for r in reports] == [6, 6]
    assert all(r.checkpoints_checked == 2 for r in reports)  # stored one + supplied one


def _edit_tile(engine: Engine) -> None:
    tile = MERKLE_TILE_TABLE.c
    where = (tile.log == "events", tile.level == 0, tile.idx == 0)
    with engine.begin() as connection:
        data = connection.execute(sa.select(tile.data).where(*where)).scalar_one()
        edited = data[:40] + bytes([data[40] ^ 1]) + data[41:]
        connection.execute(sa.update(MERKLE_TILE_TABLE).where(*where).values(data=edited))


TAMPERINGS: dict[str, tuple[Callable[[Engine], None], str]] = {
    "edited decision": (
        lambda e: _sql(e, "UPDATE decision SET matter = 'subsidy' WHERE seq = 3"),
        "decision log: first bad seq 3",
    ),
    "deleted middle decision": (
        lambda e: _sql(e, "DELETE FROM decision WHERE seq = 4"),
        "decision log: first bad seq 4",
    ),
    "deleted decision tail": (
        lambda e: _sql(e, "DELETE FROM decision WHERE seq >= 5"),
        "checkpoint of the decisions log at size 6",
    ),
    "reordered decisions": (
        lambda e: _sql(
            e,
            "UPDATE decision SET seq = 100 WHERE seq = 2",
            "UPDATE decision SET seq = 2 WHERE seq = 3",
            "UPDATE decision SET seq = 3 WHERE seq = 100",
        ),
        "decision log: first bad seq 2",
    ),
    "edited event": (
        lambda e: _sql(e, "UPDATE event SET subject_id = 'X' WHERE seq = 2"),
        "event log: first bad seq 2",
    ),
    "deleted event tail": (
        lambda e: _sql(e, "DELETE FROM event WHERE seq = 6"),
        "checkpoint of the events log at size 6",
    ),
    "edited tree": (_edit_tile, "events tree: stored node (level 0, tile 0)"),
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_tampering_is_found(engine: Engine, name: str) -> None:
    d, e = _fill(engine)
    tamper, expected = TAMPERINGS[name]
    tamper(engine)
    problems = _problems(engine, d, e)
    assert any(expected in p for p in problems), problems


def test_edited_event_attributes_found_even_when_rehashed_by_a_forger(engine: Engine) -> None:
    """A forger who re-chains the whole event log after editing still breaks the checkpoint."""
    from engine.verifiable.event_chain import GENESIS_HASH, stored_event_hash

    _d, e = _fill(engine)
    _sql(engine, "UPDATE event SET subject_id = 'X' WHERE seq = 2")
    with engine.begin() as connection:
        rows = connection.execute(sa.text("SELECT * FROM event ORDER BY seq")).all()
        prev = GENESIS_HASH
        from engine.store.events import EVENT_TABLE

        for row in connection.execute(sa.select(EVENT_TABLE).order_by(EVENT_TABLE.c.seq)).all():
            fields = {**row._mapping, "prev_hash": prev}
            digest = stored_event_hash(fields)
            connection.execute(
                sa.update(EVENT_TABLE).where(EVENT_TABLE.c.seq == row.seq)
                .values(prev_hash=prev, hash=digest)
            )  # fmt: skip
            prev = digest
        assert rows
    problems = _problems(engine, e)
    assert any("checkpoint of the events log at size 6" in p for p in problems), problems


def test_reused_seqs_after_a_deleted_tail_are_found(engine: Engine) -> None:
    d, _e = _fill(engine)
    _sql(engine, "DELETE FROM decision WHERE seq >= 5")
    with DecisionLog(engine) as log:  # a writer started after the deletion reuses 5 and 6
        for i in range(10, 12):
            log.append(make_draft(i))
    reports = verify_logs(engine, [d], KEY.public_key())
    assert reports[0].first_bad_seq is None  # the chain alone cannot tell
    problems = reports[0].problems
    assert any("checkpoint of the decisions log at size 6" in p and "root" in p for p in problems)


def test_a_checkpoint_with_a_changed_byte_fails(engine: Engine) -> None:
    d, _e = _fill(engine)
    forged = Checkpoint(d.log, d.size, d.root_hash, d.timestamp.replace("Z", "1Z"), d.key_id,
                        d.signature)  # fmt: skip
    assert any("signature does not hold" in p for p in _problems(engine, forged))
    other = Ed25519PrivateKey.generate()
    resigned = Checkpoint.sign(d.log, d.size, d.root_hash, d.timestamp, other)
    assert any("names key" in p for p in _problems(engine, resigned))


def _events(engine: Engine, count: int) -> None:
    with db.session_scope(engine) as session:
        payloads = [{"id": f"T{i}", "kind": "org"} for i in range(count)]
        append(session, [NewEvent(EventType.subject_upserted, p) for p in payloads])
        session.commit()


def _root_by_definition(engine: Engine, size: int) -> str:
    frontier = Frontier()
    with engine.connect() as connection:
        for (digest,) in connection.execute(sa.text("SELECT hash FROM event ORDER BY seq")):
            if frontier.size < size:
                frontier.append(leaf_hash(bytes.fromhex(digest)))
    return frontier.root().hex()


@pytest.mark.parametrize("batch", [7, 16, 20_000])
def test_roots_and_tiles_across_batches(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """The tree pass reads the log in batches and cuts them at checkpoint sizes: checkpoints
    inside a batch, on a batch boundary and past the stored tree all hold, and an edited
    tile in a late batch is named."""
    monkeypatch.setattr(verify, "_TREE_BATCH", batch)
    VerifiableLogs(engine).use_key(KEY)
    made = []
    for size in (17, 256, 257):
        _events(engine, size - sum(c.size for c in made[-1:]))
        checkpoint = checkpoint_log(engine, "events", KEY)
        assert checkpoint is not None and checkpoint.size == size
        made.append(checkpoint)
    _events(engine, 43)  # 300 records, the stored tree still at 257
    beyond = Checkpoint.sign("events", 300, _root_by_definition(engine, 300),
                             made[0].timestamp, KEY)  # fmt: skip
    reports = verify_logs(engine, [*made, beyond], KEY.public_key())
    assert reports[1].problems == []
    assert reports[1].length == 300
    assert reports[1].checkpoints_checked == 3 + 4  # three stored, four supplied
    assert all(c.root_hash == _root_by_definition(engine, c.size) for c in made)

    tile = MERKLE_TILE_TABLE.c
    where = (tile.log == "events", tile.level == 0, tile.idx == 14)
    with engine.begin() as connection:
        data = connection.execute(sa.select(tile.data).where(*where)).scalar_one()
        connection.execute(
            sa.update(MERKLE_TILE_TABLE)
            .where(*where)
            .values(data=data[:-1] + bytes([data[-1] ^ 1]))
        )
    problems = _problems(engine, *made)
    assert any("(level 0, tile 14) differs from the records from seq 240 on" in p for p in problems)
