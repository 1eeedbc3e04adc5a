"""The policy in force, stored versions, and reload."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import AnyCaller, PolicyAdmin, PolicyReader, ServiceDep
from engine.policy.versions import LoadedPolicy
from measures.schema import MemorandumKind

router = APIRouter(prefix="/v1/policy", tags=["policy"])


class MemorandumSummary(BaseModel):
    id: str
    title: str
    doc_no: str
    kind: MemorandumKind
    measures: int


class PolicySummary(BaseModel):
    version: str
    memoranda: list[MemorandumSummary]
    loaded_at: dt.datetime


class PolicyReloaded(PolicySummary):
    previous_version: str
    changed: bool


class PolicyFiles(BaseModel):
    version: str
    files: dict[str, str]


def _summary(policy: LoadedPolicy) -> PolicySummary:
    memoranda = [
        MemorandumSummary(
            id=m.id, title=m.title, doc_no=m.doc_no, kind=m.kind, measures=len(m.measures)
        )
        for m in sorted(policy.bundle.memoranda.values(), key=lambda m: m.id)
    ]
    return PolicySummary(
        version=policy.bundle.version, memoranda=memoranda, loaded_at=policy.loaded_at
    )


@router.get("", summary="The policy bundle in force")
def current_policy(service: ServiceDep, _caller: AnyCaller) -> PolicySummary:
    """Version, memoranda (sorted by id) and when this process loaded it."""
    return _summary(service.policy)


@router.get("/versions/{version}", summary="The stored files of a policy version")
def policy_version(version: str, service: ServiceDep, _caller: PolicyReader) -> PolicyFiles:
    """Every file of the bundle exactly as loaded (auditor or policy_admin)."""
    files = service.policies.files(version)
    return PolicyFiles(
        version=version, files={path: data.decode("utf-8") for path, data in files.items()}
    )


@router.post("/reload", summary="Reload the policy bundle directory")
def reload_policy(service: ServiceDep, caller: PolicyAdmin) -> PolicyReloaded:
    """Load the bundle again; 422 ``invalid_policy`` with lint messages keeps the old one."""
    policy, previous = service.reload_policy(actor=caller.name)
    summary = _summary(policy)
    return PolicyReloaded(
        **summary.model_dump(), previous_version=previous, changed=previous != summary.version
    )
