"""Checkpoints (signed tree heads): their JSON, the text signed, and checking one.

``{"log", "size", "root_hash", "timestamp", "key_id", "signature"}``; ``signature`` is base64
of the Ed25519 signature over the UTF-8 text
``jrp-checkpoint/v1\\n<log>\\n<size>\\n<root_hash hex>\\n<timestamp RFC 3339>\\n``. An unsigned
service stores checkpoints with ``key_id`` and ``signature`` null.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.verifiable import keys

LOGS = ("decisions", "events")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def signed_text(log: str, size: int, root_hash: str, timestamp: str) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    return f"jrp-checkpoint/v1\n{log}\n{size}\n{root_hash}\n{timestamp}\n".encode()


def timestamp_now() -> str:
    """Now, as checkpoints write it: UTC, microseconds, ``Z`` (RFC 3339)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head of one log, signed when ``signature`` is set."""

    log: str
    size: int
    root_hash: str
    timestamp: str
    key_id: str | None = None
    signature: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON served (and read back by ``jrp verify --checkpoint``)."""
        return {
            "log": self.log,
            "size": self.size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    def describe(self) -> str:
        """How messages name it: log, size and timestamp."""
        return f"checkpoint of the {self.log} log at size {self.size} ({self.timestamp})"

    @classmethod
    def sign(
        cls, log: str, size: int, root_hash: str, timestamp: str, key: Ed25519PrivateKey | None
    ) -> Checkpoint:
        """A checkpoint signed with ``key`` (unsigned when None)."""
        if key is None:
            return cls(log, size, root_hash, timestamp)
        signature = key.sign(signed_text(log, size, root_hash, timestamp))
        return cls(
            log,
            size,
            root_hash,
            timestamp,
            keys.key_id(key.public_key()),
            base64.b64encode(signature).decode("ascii"),
        )

    @classmethod
    def parse(cls, data: Any) -> Checkpoint:
        """A checkpoint from its JSON (as served); ValueError naming what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError("a checkpoint is a JSON object")
        log, size, root, timestamp = (
            data.get(k) for k in ("log", "size", "root_hash", "timestamp")
        )
        if log not in LOGS:
            raise ValueError("log must be 'decisions' or 'events'")
        if type(size) is not int or size < 0:
            raise ValueError("size must be a non-negative integer")
        if not isinstance(root, str) or not _HEX64.match(root):
            raise ValueError("root_hash must be 64 lower-case hex digits")
        if not isinstance(timestamp, str):
            raise ValueError("timestamp must be a string")
        key_id, signature = data.get("key_id"), data.get("signature")
        if key_id is not None and not isinstance(key_id, str):
            raise ValueError("key_id must be a string or null")
        if signature is not None and not isinstance(signature, str):
            raise ValueError("signature must be a string or null")
        return cls(log, size, root, timestamp, key_id, signature)

    def signature_problem(self, key: Ed25519PublicKey) -> str | None:
        """None when the signature holds under ``key``, else why not."""
        if self.signature is None:
            return "it is unsigned"
        if self.key_id != keys.key_id(key):
            return f"it names key {self.key_id}, not the public key given ({keys.key_id(key)})"
        try:
            signature = base64.b64decode(self.signature, validate=True)
        except (binascii.Error, ValueError):
            return "its signature is not base64"
        text = signed_text(self.log, self.size, self.root_hash, self.timestamp)
        if not keys.signature_holds(key, signature, text):
            return "its signature does not hold"
        return None
