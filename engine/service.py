"""The running service: its database, the policy in force, and policy reload."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy.engine import Engine

from engine import db, policy_store
from engine.models import utcnow
from engine.settings import Settings
from measures.bundle import Bundle
from measures.loader import load_bundle

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    """A bundle in force and when this process loaded it."""

    bundle: Bundle
    loaded_at: dt.datetime


class Service:
    """One process's view of the service; request handlers reach everything through it."""

    def __init__(self, *, engine: Engine, policy_dir: Path, policy: LoadedPolicy) -> None:
        self.engine = engine
        self.policy_dir = policy_dir
        self._policy = policy
        self._reload_lock = threading.Lock()

    @classmethod
    def start(cls, settings: Settings, *, engine: Engine | None = None) -> Service:
        """Migrate the database, load and record the policy bundle; raises InvalidPolicy."""
        engine = engine or db.create_db_engine(settings.db)
        db.migrate(engine)
        bundle = load_bundle(settings.policy)
        with db.session_scope(engine) as session:
            policy_store.record_in_force(session, bundle)
        log.info("policy.loaded", version=bundle.version, memoranda=len(bundle.memoranda))
        return cls(
            engine=engine,
            policy_dir=settings.policy,
            policy=LoadedPolicy(bundle=bundle, loaded_at=utcnow()),
        )

    @property
    def policy(self) -> LoadedPolicy:
        """The policy in force now."""
        return self._policy

    def reload_policy(self, *, actor: str | None = None) -> tuple[LoadedPolicy, str]:
        """Load the bundle directory again; an invalid bundle raises and leaves the old in force.

        Returns the new policy and the version it replaced.
        """
        with self._reload_lock:
            previous = self._policy.bundle.version
            bundle = load_bundle(self.policy_dir)
            with db.session_scope(self.engine) as session:
                policy_store.record_in_force(session, bundle, actor=actor)
            self._policy = LoadedPolicy(bundle=bundle, loaded_at=utcnow())
        log.info("policy.reloaded", version=bundle.version, previous=previous, actor=actor)
        return self._policy, previous

    def ready(self) -> bool:
        """True when the database answers (the policy is loaded by construction)."""
        return db.database_reachable(self.engine)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()
