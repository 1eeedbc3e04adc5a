"""The peers file: which instances this one pulls from, and the keys it uses (docs/exchange.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from engine.errors import ConfigurationError
from engine.verifiable import keys

PeerName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class _PeerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: PeerName
    region: Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")]
    key_file: Path
    public_key: Path


class _PeersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    peers: list[_PeerEntry] = Field(min_length=1)


@dataclass(frozen=True)
class Peer:
    """A publisher this instance pulls from."""

    name: str
    region: str
    url: str
    api_key: str
    public_key: Ed25519PublicKey

    @property
    def key_id(self) -> str:
        return keys.key_id(self.public_key)


def load_peers(path: Path) -> dict[str, Peer]:
    """Read and validate a peers file; ConfigurationError naming the peer and field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"peers file {path}: {exc}") from exc
    try:
        parsed = _PeersFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"peers file {path}: {problems}") from exc
    peers: dict[str, Peer] = {}
    for index, entry in enumerate(parsed.peers):
        where = f"peers file {path}: peers[{index}] ({entry.name})"
        if entry.name in peers:
            raise ConfigurationError(f"{where}: the name is used twice")
        key_path = path.parent / entry.key_file
        try:
            api_key = key_path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{where}: key_file {key_path}: {exc}") from exc
        if not api_key:
            raise ConfigurationError(f"{where}: key_file {key_path} is empty")
        public_path = path.parent / entry.public_key
        try:
            public = keys.load_public(public_path)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"{where}: public_key {public_path}: {exc}") from exc
        peers[entry.name] = Peer(entry.name, entry.region, entry.url.rstrip("/"), api_key, public)
    return peers
