"""Callers, roles and API keys (docs/api.md#authentication-and-roles)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from engine.errors import ConfigurationError
from measures.schema import Vocabulary


class Role(StrEnum):
    registrar = "registrar"
    initiator = "initiator"
    implementer = "implementer"
    credit_office = "credit_office"
    auditor = "auditor"
    policy_admin = "policy_admin"
    peer = "peer"  # another instance pulling the exchange feed (docs/exchange.md)


class _CallerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    department: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]
    roles: list[Role] = Field(min_length=1)
    key_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]


class _CallersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callers: list[_CallerEntry] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller."""

    name: str
    department: str
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        """True when the caller holds ``role``."""
        return role in self.roles


def hash_key(key: str) -> bytes:
    """The SHA-256 digest of an API key, as stored in the callers file."""
    return hashlib.sha256(key.encode("utf-8")).digest()


class CallerRegistry:
    """Authenticates API keys against the callers file."""

    def __init__(self, entries: list[tuple[bytes, Caller]]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, key: str) -> Caller | None:
        """The caller whose key this is, or None; compares every stored digest in constant time."""
        # No early exit in by_digest: the time taken does not depend on which entry matched.
        return self.by_digest(hash_key(key))

    def by_digest(self, digest: bytes) -> Caller | None:
        """The caller whose key has this SHA-256 digest (a console session holds the digest,
        never the key), or None; constant time like ``authenticate``."""
        found: Caller | None = None
        for stored, caller in self._entries:
            if hmac.compare_digest(stored, digest):
                found = caller
        return found

    def unknown_departments(self, vocabulary: Vocabulary) -> list[str]:
        """Departments named by callers that the vocabulary does not know."""
        return sorted({c.department for _, c in self._entries} - set(vocabulary.departments))


def load_callers(path: Path, vocabulary: Vocabulary) -> CallerRegistry:
    """Read and validate a callers file; raises ConfigurationError naming what is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"callers file {path}: {exc}") from exc
    try:
        parsed = _CallersFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"callers file {path}: {problems}") from exc
    entries: list[tuple[bytes, Caller]] = []
    seen: set[bytes] = set()
    for index, entry in enumerate(parsed.callers):
        digest = bytes.fromhex(entry.key_sha256)
        if digest in seen:
            raise ConfigurationError(
                f"callers file {path}: callers[{index}] ({entry.name}) reuses another caller's key"
            )
        seen.add(digest)
        entries.append((digest, Caller(entry.name, entry.department, frozenset(entry.roles))))
    registry = CallerRegistry(entries)
    unknown = registry.unknown_departments(vocabulary)
    if unknown:
        raise ConfigurationError(
            f"callers file {path}: departments not in the policy vocabulary: {', '.join(unknown)}"
        )
    return registry
