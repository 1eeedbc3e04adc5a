"""The registry's items as requests and import lines carry them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from engine.commitments.schemas import CommitmentOut
from engine.entries.schemas import EntryOut
from engine.store.portable import refuse_nul
from engine.timing import IsoDate

IdText = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(refuse_nul),
]
Region = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(refuse_nul)
]
RoleCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SubjectIn(BaseModel):
    """One item of ``POST /v1/subjects`` (and one line of ``jrp import subjects``)."""

    model_config = ConfigDict(extra="forbid")

    id: IdText = Field(description="统一社会信用代码 (org) or 公民身份号码 (person); any case")
    kind: Literal["org", "person"]
    name: Name
    region: Region | None = Field(
        default=None, description="free text, e.g. an administrative division code; omitted: none"
    )


class RelationIn(BaseModel):
    """One item of ``POST /v1/relations`` (and one line of ``jrp import relations``)."""

    model_config = ConfigDict(extra="forbid")

    org_id: IdText = Field(description="a stored org's 统一社会信用代码")
    person_id: IdText = Field(description="a stored person's 公民身份号码")
    role: RoleCode = Field(description="a role code of the policy vocabulary")
    start: IsoDate = Field(description="first day the role is held")
    end: IsoDate | None = Field(
        default=None,
        description="last day the role is held (included); null or omitted: still held",
    )


class SubjectsStored(BaseModel):
    created: int = Field(description="subjects not stored before")
    updated: int = Field(description="stored subjects whose name or region changed")


class RelationsStored(BaseModel):
    created: int = Field(description="new holdings (org_id, person_id, role, start)")
    updated: int = Field(description="stored holdings whose end changed")


class RelationView(BaseModel):
    org_id: str
    person_id: str
    role: str
    role_name: str | None = Field(description="from the vocabulary; null if no longer in it")
    start: dt.date
    end: dt.date | None


class ReachingEntryOut(EntryOut):
    via: dict[str, str] = Field(
        description='{"org_id", "role"}: the subject holds role in that listed org; '
        '{"person_id", "role"}: that listed person holds role in this org'
    )


class SubjectDetail(BaseModel):
    id: str
    kind: Literal["org", "person"]
    name: str | None
    region: str | None
    relations: list[RelationView]
    entries: list[EntryOut]
    reaching_entries: list[ReachingEntryOut]
    commitments: list[CommitmentOut] = Field(
        default_factory=list, description="the subject's credit commitments (docs/commitments.md)"
    )
