"""The verifiable logs of one process: checkpoints in the background, proofs on request."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import threading
from typing import Any, Literal

import sqlalchemy as sa
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection, Engine

from engine import children
from engine.errors import Code, Conflict, Forbidden, InvalidRequest, NotFound
from engine.store.tables import CHECKPOINT_TABLE, DECISION_TABLE, SIGNING_KEY_TABLE, utcnow
from engine.verifiable import keys
from engine.verifiable.checkpoints import LOGS, Checkpoint
from engine.verifiable.merkle import consistency_proof, inclusion_proof
from engine.verifiable.tiles import TileReader
from engine.verifiable.trees import checkpoint_log, row_checkpoint, tree_state

log = structlog.get_logger(__name__)

CHECKPOINT_INTERVAL = 5.0
"""Seconds between two rounds of the checkpoint thread (the contract asks ≤ 10)."""
RESTART_DELAY_S = 1.0
"""How long after a checkpoint process died its replacement is started."""
STOP_TIMEOUT_S = 60.0
"""How long ``close`` waits for a checkpoint process's round in hand before killing it."""
MAX_PAGE = 1000
Runner = Literal["thread", "process"]
_cp = CHECKPOINT_TABLE.c


class VerifiableLogs:
    """Merkle trees, checkpoints and proofs of the decision and event logs."""

    def __init__(self, engine: Engine, *, runner: Runner = "thread") -> None:
        self.engine = engine
        self.key: Ed25519PrivateKey | None = None
        self.interval = CHECKPOINT_INTERVAL
        self.runner = runner
        """Where ``start`` runs the rounds: a thread, or a child process of its own
        (``engine.verifiable.checkpoint_process``), off this process's GIL."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._child: tuple[subprocess.Popen[bytes], int, int] | None = None

    # --- signing ----------------------------------------------------------------------------

    def use_key(self, key: Ed25519PrivateKey | None) -> None:
        """Sign from now on with ``key`` (recorded in the database, public half only)."""
        self.key = key
        if key is None:
            return
        public = key.public_key()
        with self.engine.begin() as connection:
            exists = connection.execute(
                sa.select(SIGNING_KEY_TABLE.c.key_id).where(
                    SIGNING_KEY_TABLE.c.key_id == keys.key_id(public)
                )
            ).first()
            if exists is None:
                connection.execute(
                    sa.insert(SIGNING_KEY_TABLE).values(
                        key_id=keys.key_id(public),
                        public_key_pem=keys.public_pem(public),
                        first_used_at=utcnow(),
                    )
                )

    @property
    def signing(self) -> bool:
        return self.key is not None

    @property
    def key_id(self) -> str | None:
        return None if self.key is None else keys.key_id(self.key.public_key())

    def public_key(self) -> dict[str, str]:
        """``GET /v1/audit/public-key``; 404 ``no_signing_key`` when unsigned."""
        if self.key is None:
            raise NotFound("this service signs no checkpoints", code=Code.no_signing_key)
        public = self.key.public_key()
        return {"key_id": keys.key_id(public), "public_key_pem": keys.public_pem(public)}

    # --- checkpoints ------------------------------------------------------------------------

    def checkpoint_now(self) -> list[Checkpoint]:
        """Extend both trees and sign a checkpoint of each log that grew."""
        made = []
        for name in LOGS:
            checkpoint = checkpoint_log(self.engine, name, self.key)
            if checkpoint is not None:
                made.append(checkpoint)
                log.info("verifiable.checkpoint", log=name, size=checkpoint.size)
        return made

    def start(self) -> None:
        """Checkpoint every ``interval`` seconds in the background (a thread, or a child
        process: ``runner``) until ``close``."""
        if self._thread is not None or self._child is not None:
            return
        self._stop.clear()
        if self.runner == "process":
            self._spawn()
            # Waits (outside the GIL) on the child, and replaces it if it dies.
            self._thread = threading.Thread(
                target=self._watch, name="jrp-checkpoints-watch", daemon=True
            )
        else:
            self._thread = threading.Thread(
                target=self._run, args=(self.interval,), name="jrp-checkpoints", daemon=True
            )
        self._thread.start()

    def _spawn(self) -> None:
        raw = None if self.key is None else self.key.private_bytes_raw()
        self._child = children.spawn(
            "engine.verifiable.checkpoint_process",
            {"url": self.engine.url.render_as_string(hide_password=False),
             "interval": self.interval, "key": raw},
        )  # fmt: skip

    def _watch(self) -> None:
        while True:
            child = self._child
            if child is None:  # it died, or could not be started: a new one
                if self._stop.wait(RESTART_DELAY_S):
                    return
                try:
                    self._spawn()
                except OSError as exc:
                    log.error("verifiable.checkpoint_process_not_started", error=str(exc))
                    continue
                if self._stop.is_set():  # ``close`` came while it started: it may have missed it
                    self._tell_child_to_stop()
                continue
            process, write_fd, read_fd = child
            status = process.wait()
            if self._stop.is_set():
                return
            log.error("verifiable.checkpoint_process_stopped", pid=process.pid, status=status)
            os.close(write_fd)
            os.close(read_fd)
            self._child = None

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self.round()
            self._stop.wait(interval)

    def round(self) -> None:
        """One background round; a failed one is logged and retried at the next."""
        try:
            self.checkpoint_now()
        except Exception as exc:
            log.warning("verifiable.checkpoint_failed", error=type(exc).__name__)

    def close(self) -> None:
        """Stop the background rounds (the current round finishes first)."""
        self._stop.set()
        self._tell_child_to_stop()
        if self._thread is not None:
            # A thread finishes its round; a watcher returns once its child has exited, which
            # is killed if its round in hand does not end.
            self._thread.join(STOP_TIMEOUT_S if self.runner == "process" else None)
            child = self._child
            if self._thread.is_alive() and child is not None:
                log.error("verifiable.checkpoint_process_killed", pid=child[0].pid)
                child[0].kill()
                self._thread.join()
            self._thread = None
        child, self._child = self._child, None
        if child is not None:
            process, write_fd, read_fd = child
            self._tell_child_to_stop(write_fd)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.error("verifiable.checkpoint_process_killed", pid=process.pid)
                process.kill()
                process.wait()
            os.close(write_fd)
            os.close(read_fd)

    def _tell_child_to_stop(self, write_fd: int | None = None) -> None:
        if write_fd is None:
            child = self._child
            if child is None:
                return
            write_fd = child[1]
        with contextlib.suppress(OSError):  # gone already
            os.write(write_fd, children.frame(None))

    def newest(self, log_name: str) -> dict[str, Any]:
        """``GET /v1/audit/checkpoint``: the newest checkpoint of a log; 404 ``no_checkpoint``."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(CHECKPOINT_TABLE)
                .where(_cp.log == log_name)
                .order_by(_cp.id.desc())
                .limit(1)
            ).first()
        checkpoint = row_checkpoint(row)
        if checkpoint is None:
            raise NotFound(f"no checkpoint of the {log_name} log yet", code=Code.no_checkpoint)
        return checkpoint.to_dict()

    def page(
        self, log_name: str, *, since: dt.datetime | None, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        """``GET /v1/audit/checkpoints``: oldest first, ``since`` inclusive."""
        query = sa.select(CHECKPOINT_TABLE).where(_cp.log == log_name)
        if since is not None:
            query = query.where(_cp.timestamp >= _format_time(since))
        if cursor is not None:
            if not cursor.isdigit() or len(cursor) > 18:
                raise InvalidRequest(
                    "invalid cursor", details=[{"field": "cursor", "message": "not a cursor"}]
                )
            query = query.where(_cp.id > int(cursor))
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(_cp.id).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [checkpoint.to_dict() for row in rows if (checkpoint := row_checkpoint(row))]
        return {"items": items, "next_cursor": str(rows[-1].id) if more else None}

    # --- proofs -----------------------------------------------------------------------------

    def decision_proof(
        self, decision_id: str, *, size: int | None, department: str | None, auditor: bool
    ) -> dict[str, Any]:
        """``GET /v1/decisions/{id}/proof``: RFC 9162 inclusion proof of a decision.

        ``auditor`` sees every decision; otherwise ``department`` (an implementer's) only its
        own. ``size`` defaults to the newest checkpoint's, which must contain the decision.
        """
        if not auditor and department is None:
            raise Forbidden("this call needs the role auditor or implementer")
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(DECISION_TABLE.c.seq, DECISION_TABLE.c.department).where(
                    DECISION_TABLE.c.decision_id == decision_id
                )
            ).first()
            if row is None:
                raise NotFound(f"no decision {decision_id}", code=Code.unknown_decision)
            if not auditor and row.department != department:
                raise Forbidden("only the deciding department or an auditor")
            index = int(row.seq) - 1
            built = tree_state(connection, "decisions").size
            checkpoint = None
            if size is None:
                checkpoint = self._newest_row(connection, "decisions")
                if checkpoint is None or checkpoint.size <= index:
                    raise Conflict(
                        "no checkpoint contains this decision yet: retry in a few seconds",
                        code=Code.not_checkpointed,
                    )
                size = int(checkpoint.size)
            elif not index < size <= built:
                raise InvalidRequest(
                    f"size must be between {index + 1} and {built}",
                    details=[{"field": "size", "message": f"between {index + 1} and {built}"}],
                )
            else:
                checkpoint = self._checkpoint_of_size(connection, "decisions", size)
            path, leaf = TileReader(connection, "decisions").read(
                lambda tiles: (inclusion_proof(tiles, index, size), tiles.node(0, index))
            )
        return {
            "leaf_index": index,
            "tree_size": size,
            "leaf_hash": leaf.hex(),
            "audit_path": [node.hex() for node in path],
            "checkpoint": None if checkpoint is None else row_checkpoint(checkpoint).to_dict(),  # type: ignore[union-attr]
        }

    def consistency(self, log_name: str, first: int, second: int) -> dict[str, Any]:
        """``GET /v1/audit/consistency``: RFC 9162 consistency proof between two sizes."""
        with self.engine.connect() as connection:
            built = tree_state(connection, log_name).size
            if not 1 <= second <= built:
                raise InvalidRequest(
                    f"second must be between 1 and {built}",
                    details=[{"field": "second", "message": f"between 1 and {built}"}],
                )
            if not 1 <= first <= second:
                raise InvalidRequest(
                    "first must be between 1 and second",
                    details=[{"field": "first", "message": f"between 1 and {second}"}],
                )
            path = TileReader(connection, log_name).read(
                lambda tiles: consistency_proof(tiles, first, second)
            )
        return {"first": first, "second": second, "proof": [node.hex() for node in path]}

    @staticmethod
    def _newest_row(connection: Connection, log_name: str) -> Any:
        return connection.execute(
            sa.select(CHECKPOINT_TABLE).where(_cp.log == log_name).order_by(_cp.id.desc()).limit(1)
        ).first()

    @staticmethod
    def _checkpoint_of_size(connection: Connection, log_name: str, size: int) -> Any:
        return connection.execute(
            sa.select(CHECKPOINT_TABLE)
            .where(_cp.log == log_name, _cp.size == size)
            .order_by(_cp.id.desc())
            .limit(1)
        ).first()


def _format_time(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))  # China time
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
