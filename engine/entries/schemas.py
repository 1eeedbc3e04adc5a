"""List entries and their lifecycle steps as requests carry them."""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from engine.store.portable import PortableObject, SafeText, refuse_nul
from engine.timing import IsoDate
from measures.schema import SubjectKind

NonEmpty = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, strip_whitespace=True),
    AfterValidator(refuse_nul),
]


class EntryCreate(BaseModel):
    """``POST /v1/entries`` body."""

    model_config = ConfigDict(extra="forbid")

    list: NonEmpty
    subject_id: NonEmpty
    subject_kind: SubjectKind
    subject_name: NonEmpty | None = None
    decided_on: IsoDate
    effective_from: IsoDate | None = None
    effective_to: IsoDate | None = Field(
        default=None,
        description="first day the entry no longer holds; omitted: effective_from + the list's "
        "default_duration_days; null: no end",
    )
    doc_no: NonEmpty
    reason: (
        Annotated[str, StringConstraints(max_length=2000), AfterValidator(refuse_nul)] | None
    ) = None
    attributes: PortableObject = Field(default_factory=dict)


class ObjectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: SafeText = Field(min_length=1, max_length=2000)
    received_on: IsoDate | None = Field(
        default=None, description="the day the objection was received; default today (China)"
    )


class ResolutionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["upheld", "rejected", "corrected"]
    note: SafeText | None = Field(default=None, max_length=2000)
    attributes: PortableObject | None = Field(
        default=None,
        description="corrected: attributes to replace (only ones the list's triggers read)",
    )
    effective_to: IsoDate | None = Field(
        default=None, description="corrected: the new effective_to (null: no end)"
    )


class RepairBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: SafeText | None = Field(default=None, max_length=2000)


class ObjectionOut(BaseModel):
    """An entry's latest objection."""

    reason: str | None
    received_on: dt.date | None
    verify_by: dt.date | None = Field(
        description="received_on + objection_verify_working_days working days (official calendar)"
    )
    verify_by_note: str | None = Field(
        default=None, description="set when verify_by counts a year the calendar does not know"
    )
    outcome: Literal["upheld", "rejected", "corrected"] | None
    resolved_on: dt.date | None
    note: str | None


class EntryOut(BaseModel):
    """The contract's Entry object (``engine.entries.views.entry_view``)."""

    id: str
    list: str
    subject_id: str
    department: str
    decided_on: dt.date
    effective_from: dt.date
    effective_to: dt.date | None
    doc_no: str
    reason: str | None
    attributes: dict[str, Any]
    status: Literal["active", "under_objection", "revoked", "repaired", "expired"]
    objection: ObjectionOut | None = Field(
        default=None, description="the latest objection; null when none"
    )
    derived_from: builtins.list[str] = Field(
        default_factory=builtins.list,
        description="ids of the entries a derived entry was derived from",
    )
    origin: dict[str, Any] | None = Field(
        default=None,
        exclude_if=lambda value: value is None,  # local entries keep their bytes
        description="only on an entry imported from a peer instance (docs/exchange.md): "
        "peer, region, key_id, entry_id, list and seq at the origin",
    )
