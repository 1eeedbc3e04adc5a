"""Start-up guard: a log shorter than a stored checkpoint says must not be written to again.

Writers number records from the log's head; after the newest records were removed they would
reuse those seqs. Before anything is written, each log's newest checkpoint (not given up
before) is checked: its last record must still be there with the hash it had.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.store.dialect import CHECKPOINT_LOCK_KEYS, dialect_of
from engine.verifiable.checkpoints import LOGS
from engine.verifiable.trees import (
    LOG_TABLES,
    newest_checkpoint_row,
    reset_tree,
    row_checkpoint,
    tree_state,
)


@dataclass(frozen=True, slots=True)
class Truncation:
    """A log no longer holding what its newest checkpoint covered."""

    log: str
    size: int
    timestamp: str
    root_hash: str
    found: int
    """Records the log holds now."""

    def message(self) -> str:
        return (
            f"the {self.log} log no longer holds what its checkpoint of {self.timestamp} "
            f"(size {self.size}, root {self.root_hash}) covered: {self.found} records now. "
            "Records were removed or rewritten; writing would reuse their seq numbers. "
            "Restore the database, or start with --accept-truncated-log to record the "
            "truncation (an event log.truncation_accepted) and rebuild the trees."
        )

    def payload(self) -> dict[str, object]:
        """The ``log.truncation_accepted`` event's payload."""
        return {
            "log": self.log,
            "checkpoint": {"size": self.size, "timestamp": self.timestamp,
                           "root_hash": self.root_hash},
            "records_found": self.found,
        }  # fmt: skip


def find_truncations(engine: Engine) -> list[Truncation]:
    """The logs whose newest checkpoint (since the last accepted truncation) no longer holds."""
    found = []
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("checkpoint"):
            return []
        for log in LOGS:
            row = newest_checkpoint_row(connection, log)
            if row is None or row.id <= tree_state(connection, log).accepted_checkpoint_id:
                continue
            table = LOG_TABLES[log]
            stored = connection.execute(
                sa.select(table.c.hash).where(table.c.seq == row.last_seq)
            ).scalar()
            if stored == row.last_hash:
                continue
            checkpoint = row_checkpoint(row)
            assert checkpoint is not None
            count = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            found.append(
                Truncation(log, checkpoint.size, checkpoint.timestamp, checkpoint.root_hash,
                           int(count or 0))
            )  # fmt: skip
    return found


def accept(engine: Engine, truncation: Truncation) -> None:
    """Give up the log's checkpoints so far and rebuild its tree from the records as they are."""
    with dialect_of(engine).locked_transaction(
        engine, CHECKPOINT_LOCK_KEYS[truncation.log]
    ) as connection:
        reset_tree(connection, truncation.log)
