"""Credit commitments as requests carry them (docs/commitments.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from engine.entries.schemas import EntryOut, NonEmpty
from engine.store.portable import PortableObject, SafeText, refuse_nul
from engine.timing import IsoDate
from measures.schema import SubjectKind

LongText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000, strip_whitespace=True),
    AfterValidator(refuse_nul),
]


class CommitmentCreate(BaseModel):
    """``POST /v1/commitments`` body."""

    model_config = ConfigDict(extra="forbid")

    subject_id: NonEmpty
    subject_kind: SubjectKind
    subject_name: NonEmpty | None = None
    matter: NonEmpty = Field(description="a matter code of the vocabulary")
    content: LongText = Field(description="what was promised")
    doc_no: NonEmpty = Field(description="the commitment letter's number or reference")
    made_on: IsoDate
    due_on: IsoDate | None = Field(
        default=None, description="the last day to keep the promise; null: no deadline"
    )
    due_working_days: int | None = Field(
        default=None,
        ge=1,
        le=366,
        description="instead of due_on: made_on + this many working days (official calendar)",
    )


class FulfilmentBody(BaseModel):
    """``POST /v1/commitments/{id}/fulfilment`` body."""

    model_config = ConfigDict(extra="forbid")
    fulfilled_on: IsoDate | None = Field(default=None, description="default today (China)")
    note: SafeText | None = Field(default=None, max_length=2000)


class BreachBody(BaseModel):
    """``POST /v1/commitments/{id}/breach`` body."""

    model_config = ConfigDict(extra="forbid")
    decided_on: IsoDate = Field(description="the day the breach was found")
    doc_no: NonEmpty
    reason: LongText = Field(description="the facts of the breach")
    effective_to: IsoDate | None = Field(
        default=None,
        description="of the breach entry; omitted: the list's default_duration_days; null: no end",
    )
    attributes: PortableObject = Field(default_factory=dict)


class FulfilmentOut(BaseModel):
    fulfilled_on: dt.date
    note: str | None


class BreachOut(BaseModel):
    decided_on: dt.date
    doc_no: str
    reason: str
    entry_id: str
    entry_status: str | None = Field(description="the breach entry's status today")


class CommitmentOut(BaseModel):
    """The Commitment object (``engine.commitments.views.commitment_view``)."""

    id: str
    subject_id: str
    subject_kind: SubjectKind
    department: str
    matter: str
    content: str
    doc_no: str
    made_on: dt.date
    due_on: dt.date | None
    due_on_note: str | None
    status: Literal["active", "overdue", "fulfilled", "breached"]
    working_days_left: int | None
    fulfilment: FulfilmentOut | None
    breach: BreachOut | None


class CommitmentAnswer(BaseModel):
    """``POST /v1/commitments`` answer."""

    commitment: CommitmentOut


class CommitmentPage(BaseModel):
    """``GET /v1/commitments`` answer."""

    items: list[CommitmentOut]
    next_cursor: str | None


class TriggeredOut(BaseModel):
    memorandum_id: str
    measure_ids: list[str]


class DerivedOut(BaseModel):
    entry: EntryOut
    triggered: list[TriggeredOut]


class BreachAnswer(BaseModel):
    """``POST /v1/commitments/{id}/breach`` answer: the commitment and its breach entry."""

    commitment: CommitmentOut
    entry: EntryOut
    triggered: list[TriggeredOut]
    derived: list[DerivedOut]


class WarningOut(BaseModel):
    """One early warning (docs/commitments.md#early-warning)."""

    kind: Literal[
        "derivation_threshold", "entry_expiring", "publicity_ending", "objection_due",
        "commitment_due",
    ]  # fmt: skip
    due_on: dt.date
    working_days_left: int
    subject_id: str
    department: str
    entry_id: str | None
    commitment_id: str | None
    list: str | None
    reason: str
    numbers: dict[str, Any]


class WarningsPage(BaseModel):
    """``GET /v1/warnings`` answer."""

    as_of: dt.date
    within: int
    horizon: dt.date
    items: list[WarningOut]
    next_cursor: str | None
