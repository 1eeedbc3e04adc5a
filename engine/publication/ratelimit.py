"""The public feed's rate limit: requests per client address per minute, counted in the database.

Counted in the database (table ``public_rate``, one row per address and minute) rather than
in each worker: with N workers a per-worker count would let an address make N times the
limit, and dividing the limit by N would refuse a client too early whenever its requests
happen to land on one worker. One upsert per public request is the price (a fraction of a
millisecond on PostgreSQL, about a millisecond on SQLite), measured in docs/performance.md.
The window is the calendar minute (fixed window): at most twice the limit can pass across a
minute boundary, which is what a per-minute limit on a public page needs.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from engine.errors import RateLimited
from engine.store.dialect import dialect_of
from engine.store.tables import PUBLIC_RATE_TABLE

log = structlog.get_logger(__name__)

_R = PUBLIC_RATE_TABLE.c
_PRUNE_EVERY = 256  # requests between deletions of past minutes' rows (per process)
_counter = 0


def admit_public(engine: Engine, address: str, *, limit: int, now: float | None = None) -> int:
    """Count one request of ``address``; its count this minute, or RateLimited (429)."""
    global _counter
    moment = time.time() if now is None else now
    minute = int(moment // 60)
    key = {"address": address[:64] or "unknown", "minute": minute}
    dialect = dialect_of(engine)
    with engine.begin() as connection:
        count = dialect.count_up(connection, PUBLIC_RATE_TABLE, key, "count")
    _counter += 1
    if _counter % _PRUNE_EVERY == 0:
        with engine.begin() as connection:
            connection.execute(sa.delete(PUBLIC_RATE_TABLE).where(_R.minute < minute - 1))
    if count > limit:
        retry_after = max(1, 60 - int(moment % 60))
        if count == limit + 1:  # once per address and minute, never the address itself
            log.info("public.rate_limited", limit=limit, retry_after=retry_after)
        raise RateLimited(
            f"more than {limit} public requests a minute from this address",
            retry_after=retry_after,
        )
    return count
