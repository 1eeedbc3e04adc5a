"""The public feed (公示, 红黑榜): no key, persons masked, a rate limit per client address."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from api.deps import ServiceDep
from engine import publication, reports


async def rate_limited(request: Request, service: ServiceDep) -> None:
    """Count the request against its client address (429 ``rate_limited`` beyond the limit)."""
    address = request.client.host if request.client is not None else ""
    publication.admit_public(service.engine, address, limit=service.public_rate)


router = APIRouter(
    prefix="/public/v1",
    tags=["publication (no key)"],
    dependencies=[Depends(rate_limited)],
)


@router.get("/lists", summary="Published lists (红黑榜) and how many entries each shows")
def get_lists(service: ServiceDep) -> list[dict[str, Any]]:
    """Lists whose definition says `publish` (default: black and red lists), each with the
    number of its entries on the feed today."""
    return publication.published_lists(service)


@router.get(
    "/lists/{list}/entries",
    summary="Entries of a published list in their publicity period",
)
def get_entries(
    service: ServiceDep,
    list_code: Annotated[str, Path(alias="list", max_length=64)],
    q: Annotated[str | None, Query(max_length=publication.MAX_Q_LENGTH)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=publication.MAX_LIMIT)] = 20,
) -> dict[str, Any]:
    """Newest registration first. Entries active and in force today and within the list's
    `max_publicity_days` of `effective_from`. Persons: id `440106********0115`, name `张*`.
    `q` matches what the feed shows: a substring of the shown name, or a whole id in its shown
    form (a citizen number is masked before it is compared), so no search confirms more than
    the masked feed shows. Unknown or unpublished list: 404 `unknown_list`."""
    return publication.list_entries(service, list_code, q=q, cursor=cursor, limit=limit)


@router.get(
    "/orgs/{id}/report",
    summary="The public credit report of an org (published lists only)",
    responses={200: {"content": {"application/json": {}, "application/pdf": {}}}},
)
def get_org_report(
    request: Request,
    service: ServiceDep,
    org_id: Annotated[str, Path(alias="id", max_length=64)],
) -> Any:
    """The org and its entries as the public feed shows them, with a report id and SHA-256.
    `Accept: application/pdf` gives the same report as a PDF. Any id that is not a registered
    org (a citizen number included) is 404 `unknown_subject`."""
    if "application/pdf" in request.headers.get("accept", ""):
        return Response(
            reports.public_org_report_pdf(service, org_id), media_type="application/pdf"
        )
    return reports.public_org_report(service, org_id)
