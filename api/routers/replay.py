"""``POST /v1/replay``: recompute logged decisions (auditors) or see a policy's impact."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.deps import Auditor, ServiceDep
from engine.audit import replay as replay_engine

router = APIRouter(tags=["audit"])


class ReplayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    policy: Literal["recorded", "current"] = "recorded"


@router.post("/v1/replay", summary="Replay decisions under their recorded or the current policy")
def replay(body: ReplayBody, service: ServiceDep, _caller: Auditor) -> dict[str, Any]:
    """``recorded``: every answer must come out identical; ``current``: the loaded policy's impact.

    ``since`` (inclusive) and ``until`` (exclusive) select decisions by the time they were made;
    the state is always rebuilt from the start of the event log. Nothing is written.
    """
    bundle = service.policy.bundle if body.policy == "current" else None
    report = replay_engine.replay(service.engine, since=body.since, until=body.until, bundle=bundle)
    return report.to_dict()
