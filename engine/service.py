"""The running service: database, the fact state, the policy in force, and the one write path.

Consistency across workers (docs/architecture.md): every worker keeps a ``State`` and
catches up with the event log by sequence number before it answers, so a check sees every
event committed before it started, whichever worker wrote it. The policy in force is itself
an event (``policy.loaded``): a reload on one worker reaches every worker at its next
catch-up.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from engine import metrics
from engine.decisions import DecisionLog
from engine.decisions.commit import WriterKind
from engine.errors import NotReady
from engine.policy import storage as policy_store
from engine.policy.bundles import load_bundle
from engine.policy.runtime import PolicyRuntime
from engine.policy.versions import LoadedPolicy, PolicyVersions
from engine.settings import Settings
from engine.state import State
from engine.store import db, events, heads, snapshot
from engine.store.events import EventType, NewEvent, StoredEvent
from engine.store.freshness import Freshness
from engine.verifiable.service import VerifiableLogs
from engine.verifiable.startup import open_logs

if TYPE_CHECKING:
    from engine.exchange.schedule import Puller

log = structlog.get_logger(__name__)

_CATCH_UP_CHUNK = 5000
_NEW_ENTRY = frozenset({EventType.entry_registered.value, EventType.entry_imported.value})
_FRESH_TRIGGERS = _NEW_ENTRY | {
    EventType.objection_resolved.value,  # a correction: fresh triggers
    EventType.entry_import_updated.value,  # the origin's correction, the same
}

WriteBuilder = Callable[[Session, State], list[NewEvent]]
"""Given a session holding the log lock and the state caught up to the log, the events to append."""


class Service:
    """One process's view of the service; request handlers reach everything through it."""

    def __init__(
        self, *, engine: Engine, policy_dir: Path, decision_writer: WriterKind = "thread"
    ) -> None:
        self.engine = engine
        self.policy_dir = policy_dir
        self.state = State()
        self.policies = PolicyVersions(engine)
        self._write_lock = threading.Lock()
        self._catch_up_lock = threading.Lock()
        self._prepared: PolicyRuntime | None = None
        self._head = heads.LogHead(engine)
        self.freshness = Freshness(
            self._catch_up_if_behind,
            probe=lambda: heads.AsyncLogHead(engine),
            position=lambda: self.state.seq,
        )
        self.decisions = DecisionLog(engine, writer=decision_writer)
        self.verifiable = VerifiableLogs(engine)  # checkpoints start with the app (api/app.py)
        self.public_rate = 60  # public requests a minute per client address (JRP_PUBLIC_RATE)
        self.region: str | None = None  # JRP_REGION, shown in the exchange feed
        self.puller: Puller | None = None  # background pulls of peers (engine/exchange)

    @classmethod
    def start(
        cls,
        settings: Settings,
        *,
        engine: Engine | None = None,
        decision_writer: WriterKind | None = None,
    ) -> Service:
        """Migrate, load and record the policy bundle, rebuild the state; raises InvalidPolicy.

        Decisions are committed where ``decision_writer`` says, by default where the settings
        say (``JRP_DECISION_WRITER``).
        """
        engine = engine or db.create_db_engine(settings.db)
        try:
            db.migrate(engine)
            bundle = load_bundle(settings.policy)
        except BaseException:
            engine.dispose()
            raise
        service = cls(
            engine=engine,
            policy_dir=settings.policy,
            decision_writer=decision_writer or settings.decision_writer,
        )
        try:
            service.public_rate = settings.public_rate
            service.region = settings.region
            service.restore_snapshot()
            service.policies.add(bundle)
            open_logs(service.verifiable, settings, service.write)  # before anything is written
            service.write(lambda session, _state: policy_store.in_force_events(session, bundle))
        except BaseException:
            # A refused start (truncated log, invalid policy) must not leave the writer
            # thread and pooled connections behind: a test process would never exit.
            service.close()
            raise
        # Millions of long-lived objects: out of the cyclic GC's sight, or every full
        # collection walks them all (seconds, felt as a latency spike by some check).
        gc.freeze()
        log.info("service.started", policy=bundle.version, events=service.state.seq)
        return service

    @classmethod
    def open(cls, settings: Settings) -> Service:
        """The service on the database as it is, for a tool that writes to it (``jrp import``).

        Unlike ``start`` it never puts this process's bundle in force over the one the
        database has; a fresh database (no policy yet) is started with the bundle.
        """
        engine = db.create_db_engine(settings.db)
        db.migrate(engine)
        with db.session_scope(engine) as session:
            in_force = policy_store.in_force_version(session)
        if in_force is None:  # a tool's: its decisions, if any, from its writer thread
            return cls.start(settings, engine=engine, decision_writer="thread")
        service = cls(engine=engine, policy_dir=settings.policy)
        service.restore_snapshot()
        service.catch_up()
        return service

    # --- snapshots ---------------------------------------------------------------------------

    def restore_snapshot(self) -> bool:
        """Start from the newest stored snapshot (before any catch-up); False when none."""
        if self.state.seq:
            raise RuntimeError("restore_snapshot is for a service that has applied nothing")
        loaded = snapshot.load(self.engine)
        if loaded is None:
            return False
        with self._catch_up_lock:
            self.state = loaded
        return True

    def snapshot_if_behind(self, *, min_events: int = snapshot.MIN_EVENTS) -> bool:
        """Store a snapshot when ``min_events`` or more events were applied since the newest one.

        Called where a process has just applied many events and has time to spare: the end
        of ``jrp import``, and ``jrp serve`` before it starts serving.
        """
        newest = snapshot.latest_seq(self.engine) or 0
        if self.state.seq - newest < min_events:
            return False
        return snapshot.save(self.engine, self.state) is not None

    # --- policy ----------------------------------------------------------------------------

    @property
    def policy(self) -> LoadedPolicy:
        """The policy in force at the state's position."""
        version = self.state.policy_version
        if version is None:
            raise NotReady("no policy has been loaded")
        return self.policies.get(version)

    def reload_policy(self, *, actor: str | None = None) -> tuple[LoadedPolicy, str]:
        """Load the bundle directory again; an invalid bundle raises and leaves the old in force.

        Returns the new policy and the version it replaced.
        """
        previous = self.policy.bundle.version
        bundle = load_bundle(self.policy_dir)
        self.policies.add(bundle)
        self.write(
            lambda session, _state: policy_store.in_force_events(session, bundle, actor=actor)
        )
        log.info("policy.reloaded", version=bundle.version, previous=previous, actor=actor)
        return self.policy, previous

    # --- the event log ---------------------------------------------------------------------

    def catch_up(self, session: Session | None = None) -> int:
        """Apply every event committed since the state's position; returns the new position."""
        with self._catch_up_lock:
            if session is None:
                with db.session_scope(self.engine) as own:
                    self._apply_all(own)
            else:
                self._apply_all(session)
        return self.state.seq

    def _apply_all(self, session: Session) -> None:
        # In chunks: a start-up catch-up may read millions of events.
        rows = events.read_facts(session, after=self.state.seq)
        while chunk := list(islice(rows, _CATCH_UP_CHUNK)):
            self._apply(chunk)
        if self._prepared is None:
            self._apply([])  # nothing new: still compile the policy in force and prepare

    def _catch_up_if_behind(self) -> int:
        """``catch_up`` after a cheap look at the log's head (what each batch of checks needs)."""
        if self._head.seq() > self.state.seq:
            return self.catch_up()
        return self.state.seq

    async def synced(self) -> int:
        """Catch up with every event committed before this call (shared by concurrent callers)."""
        return await self.freshness.fresh()

    def write(self, build: WriteBuilder) -> list[StoredEvent]:
        """Append the events ``build`` returns in one transaction, then apply them.

        ``build`` runs with the log locked (on PostgreSQL across processes, here across threads)
        and the state caught up, so its checks (ownership, status, derivation windows) see
        every earlier event. Nothing reaches the state unless the transaction committed.
        """
        with self._write_lock, db.session_scope(self.engine) as session:
            events.lock_log(session)
            self.catch_up(session)
            new_events = build(session, self.state)
            appended = events.append(session, new_events) if new_events else []
            session.commit()
            with self._catch_up_lock:
                self._apply([(event.seq, event.type, event.payload) for event in appended])
        return appended

    def _apply(self, rows: list[tuple[int, str, dict[str, Any]]]) -> None:
        with self.state.lock:
            for seq, event_type, payload in rows:
                self.state.apply(seq, event_type, payload)
            if rows:
                metrics.get().state_seq.set(self.state.seq)
            if self.state.policy_version is None:
                return
            # Compile a version another worker put in force now, and evaluate what entries
            # trigger under it now: checks read the results, never the rule engine.
            runtime = self.policies.get(self.state.policy_version).runtime
            if runtime is self._prepared:
                runtime.prepare(
                    self.state.entries[
                        payload["entry"]["id"] if event_type in _NEW_ENTRY else payload["entry_id"]
                    ]
                    for _seq, event_type, payload in rows
                    if event_type in _FRESH_TRIGGERS
                )
            else:
                runtime.prepare(self.state.entries.values())
                self._prepared = runtime

    # --- lifecycle -------------------------------------------------------------------------

    def log_head(self) -> int:
        """The event log's last committed ``seq`` (one cheap query)."""
        return self._head.seq()

    def ready(self) -> bool:
        """True when the database answers and a policy is in force."""
        return self.state.policy_version is not None and db.database_reachable(self.engine)

    def close(self) -> None:
        """Release compiled rulesets and database connections."""
        if self.puller is not None:
            self.puller.close()
        self.verifiable.close()
        self.freshness.close()
        self._head.close()
        self.decisions.close()
        self.policies.close()
        self.engine.dispose()
