"""``Idempotency-Key`` requests: the digest a stored first answer is matched by.

The answers live in ``engine.store.tables.IdempotencyRecord`` (they survive a restart)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def request_digest(body: Any) -> str:
    """SHA-256 of a canonical JSON encoding: the same body in any key order is the same request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
