"""Compiled policy versions: a bundle's triggers and derivations ready for the engine.

Any stored version can be compiled again from its files, side by side with the one in force
(replay and impact analysis need old and new together in one process).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from engine.errors import Code, NotFound
from engine.policy import storage as policy_store
from engine.policy.bundles import parse_bundle
from engine.policy.rules import CompiledPolicy
from engine.policy.runtime import PolicyRuntime
from engine.state import Entry
from engine.store.tables import utcnow
from measures.bundle import Bundle


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    """A policy version made ready for checks, and when this process loaded it."""

    runtime: PolicyRuntime
    compiled: CompiledPolicy
    loaded_at: dt.datetime

    @property
    def bundle(self) -> Bundle:
        return self.runtime.bundle


def compile_policy(bundle: Bundle) -> LoadedPolicy:
    """Compile a bundle's triggers and wrap them for checks."""
    compiled = CompiledPolicy.compile(bundle)

    def triggered(entry: Entry) -> list[str]:
        matches = compiled.triggered(
            list_code=entry.list,
            subject_kind=entry.subject_kind.value,
            attributes=entry.attributes,
        )
        return list(dict.fromkeys(match.memorandum_id for match in matches))

    def derivations_met(list_code: str, counts: Mapping[str, int]) -> list[str]:
        return compiled.derivations_met(list_code=list_code, window_counts=counts)

    return LoadedPolicy(PolicyRuntime(bundle, triggered, derivations_met), compiled, utcnow())


class PolicyVersions:
    """Compiled policies by version, loaded from the stored bundles on first use."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._loaded: dict[str, LoadedPolicy] = {}
        self._lock = threading.Lock()

    def add(self, bundle: Bundle) -> LoadedPolicy:
        """Compile a bundle already loaded (no-op when its version is compiled already)."""
        with self._lock:
            loaded = self._loaded.get(bundle.version)
            if loaded is None:
                loaded = self._loaded[bundle.version] = compile_policy(bundle)
            return loaded

    def get(self, version: str) -> LoadedPolicy:
        """The compiled policy of a stored version (NotFound when it was never stored)."""
        loaded = self._loaded.get(version)
        if loaded is not None:
            return loaded
        return self.add(parse_bundle(self.files(version)))

    def files(self, version: str) -> dict[str, bytes]:
        """The stored files of a version (relative path -> bytes); NotFound when never stored."""
        with Session(self._engine) as session:
            files = policy_store.files_of(session, version)
        if files is None:
            raise NotFound(f"no stored policy version {version}", code=Code.unknown_policy_version)
        return files

    def close(self) -> None:
        """Release the compiled rulesets."""
        with self._lock:
            for loaded in self._loaded.values():
                loaded.compiled.close()
            self._loaded.clear()
