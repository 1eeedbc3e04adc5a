"""The exchange feed for peer instances (docs/exchange.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import PeerInstance, ServiceDep
from engine.exchange.feed import DEFAULT_LIMIT, MAX_LIMIT, feed_page

router = APIRouter(tags=["exchange"])


@router.get("/v1/exchange/events", summary="This instance's entry events, signed, for a peer")
def exchange_events(
    service: ServiceDep,
    _caller: PeerInstance,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    known_size: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Every record after ``after`` up to the newest signed checkpoint (at most ``limit``),
    with its chain hashes; entry events of exportable lists with their content and inclusion
    proof; a consistency proof from ``known_size``. 404 ``no_signing_key`` when unsigned."""
    return feed_page(service, after=after, limit=limit, known_size=known_size,
                     region=service.region)  # fmt: skip
