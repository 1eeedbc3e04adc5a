"""``POST /v1/policy/impact`` and ``GET /v1/policy/diff`` (docs/api.md#policy-impact-and-diff)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PolicyReader, ServiceDep
from engine.policy import impact as impact_engine
from engine.timing import IsoDate

router = APIRouter(prefix="/v1/policy", tags=["policy"])


class ImpactBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: dict[str, str] = Field(
        description="the whole new bundle: relative path -> YAML text (as in a bundle directory)"
    )
    as_of: IsoDate | None = Field(default=None, description="day to evaluate (default: today)")


@router.post("/impact", summary="What a policy edit would change now")
def policy_impact(body: ImpactBody, service: ServiceDep, _caller: PolicyReader) -> dict[str, Any]:
    """Every subject an entry reaches, for every matter, under the policy in force and the
    uploaded bundle, on the current state (policy_admin or auditor). Nothing is stored; an
    invalid bundle is 422 ``invalid_policy`` with the lint lines in ``details``."""
    return impact_engine.policy_impact(service, body.files, as_of=body.as_of)


@router.get("/diff", summary="The structural difference between two stored policy versions")
def policy_diff(
    service: ServiceDep,
    _caller: PolicyReader,
    from_version: Annotated[str, Query(alias="from", max_length=64)],
    to_version: Annotated[str, Query(alias="to", max_length=64)],
) -> dict[str, Any]:
    """Memoranda and measures added, removed and changed; 404 ``unknown_policy_version``."""
    return impact_engine.versions_diff(service, from_version, to_version)
