"""The running service: database, the fact state, the policy in force, and the one write path.

Consistency across workers (design.md): every worker keeps a ``State`` and catches up with
the event log by sequence number before it answers, so a check sees every event committed
before it started, whichever worker wrote it. The policy in force is itself an event
(``policy.loaded``): a reload on one worker reaches every worker at its next catch-up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from engine import db, events, policy_store
from engine.decisions import DecisionLog
from engine.errors import NotReady
from engine.events import NewEvent
from engine.models import Event
from engine.policies import LoadedPolicy, PolicyVersions
from engine.settings import Settings
from engine.state import State
from measures.loader import load_bundle

log = structlog.get_logger(__name__)

WriteBuilder = Callable[[Session, State], list[NewEvent]]
"""Given a session holding the log lock and the state caught up to the log, the events to append."""


class Service:
    """One process's view of the service; request handlers reach everything through it."""

    def __init__(self, *, engine: Engine, policy_dir: Path) -> None:
        self.engine = engine
        self.policy_dir = policy_dir
        self.state = State()
        self.policies = PolicyVersions(engine)
        self._write_lock = threading.Lock()
        self._catch_up_lock = threading.Lock()
        self.decisions = DecisionLog(engine)

    @classmethod
    def start(cls, settings: Settings, *, engine: Engine | None = None) -> Service:
        """Migrate, load and record the policy bundle, rebuild the state; raises InvalidPolicy."""
        engine = engine or db.create_db_engine(settings.db)
        db.migrate(engine)
        bundle = load_bundle(settings.policy)
        service = cls(engine=engine, policy_dir=settings.policy)
        service.policies.add(bundle)
        service.write(lambda session, _state: policy_store.in_force_events(session, bundle))
        log.info("service.started", policy=bundle.version, events=service.state.seq)
        return service

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
                    self._apply(list(events.read(own, after=self.state.seq)))
            else:
                self._apply(list(events.read(session, after=self.state.seq)))
        return self.state.seq

    def write(self, build: WriteBuilder) -> list[Event]:
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
                self._apply(appended)
        return appended

    def _apply(self, rows: list[Event]) -> None:
        with self.state.lock:
            for row in rows:
                self.state.apply(row.seq or 0, row.type, row.payload)
        if self.state.policy_version is not None:
            # Compile a version another worker put in force now, not in the next check.
            self.policies.get(self.state.policy_version)

    # --- lifecycle -------------------------------------------------------------------------

    def ready(self) -> bool:
        """True when the database answers and a policy is in force."""
        return self.state.policy_version is not None and db.database_reachable(self.engine)

    def close(self) -> None:
        """Release compiled rulesets and database connections."""
        self.decisions.close()
        self.policies.close()
        self.engine.dispose()
