"""The answers' schemas, for ``/openapi.json`` only (``api/openapi.py``).

Routers build their answers in the engine and return them as they are: these models describe
them and validate nothing at run time (the check path, say, keeps its hand encoding). They
forbid extra fields so that ``tests/api/test_openapi.py``, which validates real answers against
the published schema, fails when an answer gains a field its schema does not name.
"""

from __future__ import annotations

import builtins
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.checks.explain import Explanation
from engine.commitments.schemas import CommitmentOut
from engine.entries.schemas import EntryOut
from engine.registry.schemas import ReachingEntryOut, RelationView

# Answers are JSON: dates and times are strings (RFC 3339 / ISO 8601 date).
Date = str
Time = str
Cursor = str | None


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    """One problem; validation errors name the ``field`` (``items[3].id``)."""

    model_config = ConfigDict(extra="allow")
    field: str | None = Field(default=None, description="the field in error, when there is one")
    message: str | None = None


class ErrorBody(Answer):
    code: str = Field(description="snake_case, e.g. invalid_request, unknown_entry")
    message: str
    details: list[ErrorDetail]


class ErrorEnvelope(Answer):
    """Every 4xx/5xx answer."""

    error: ErrorBody


# Checks


class Via(BaseModel):
    """How a hit or an explanation reaches the subject through a holding (落实到人)."""

    model_config = ConfigDict(extra="allow")
    role: str


class Hit(Answer):
    memorandum_id: str
    memorandum_title: str
    doc_no: str
    kind: str = Field(description="punishment or incentive")
    measure_id: str
    measure_text: str
    effect: str
    mandatory: bool
    implementing: list[str]
    legal_basis: str | None
    entry_id: str | None = Field(
        description="null for a hit of a grade trigger or of a clean record (no stored entry)"
    )
    list: str | None
    initiating_department: str | None
    via: dict[str, str] | None
    until: Date | None
    grade: str | None = Field(default=None, description="only for a grade trigger's hit")
    derivation_id: str | None = Field(
        default=None, description="only for a hit of an absence derivation (a clean record)"
    )


class GradeSummary(Answer):
    """The grade a check consulted (only when a grade trigger was evaluated)."""

    model: str
    score: int | float
    grade: str
    label: str


class CheckAnswer(Answer):
    """The logged answer of ``POST /v1/checks``."""

    decision_id: str
    subject_id: str
    known_subject: bool
    matter: str
    as_of: Time
    reference: str | None = None
    outcome: str
    binding_outcome: str
    incentives_withheld: bool
    hits: list[Hit]
    policy_version: str
    explanation: list[Explanation] | None = Field(
        default=None, description="only with ``explain: true``"
    )
    grade: GradeSummary | None = Field(
        default=None, description="only when a grade trigger was consulted (docs/grades.md)"
    )


# Decisions and audit


class Decision(Answer):
    seq: int
    decision_id: str
    decided_at: Time
    caller: str
    department: str
    subject_id: str
    matter: str
    request: dict[str, Any] = Field(description="the check's request as received")
    response: CheckAnswer = Field(description="the answer as logged")
    policy_version: str
    event_seq: int
    prev_hash: str
    hash: str


class DecisionPage(Answer):
    items: list[Decision]
    next_cursor: Cursor


class Feedback(Answer):
    id: int
    decision_id: str
    measure_id: str
    executed: bool
    note: str | None
    caller: str
    department: str
    recorded_at: Time


class ChainVerified(Answer):
    ok: bool
    length: int
    first_bad_seq: int | None


class DepartmentFeedback(Answer):
    department: str
    checks: int
    checks_with_hits: int
    feedback_received: int
    fed_back: int
    hits: int
    hits_with_feedback: int
    executed: int
    execution_rate: float | None


class FeedbackStats(Answer):
    departments: list[DepartmentFeedback]


class ReplayChange(Answer):
    decision_id: str
    recorded: dict[str, Any]
    replayed: dict[str, Any]


class ReplayReport(Answer):
    replayed: int
    identical: int
    changed: list[ReplayChange]


# Entries and the credit office


class Triggered(Answer):
    memorandum_id: str
    measure_ids: list[str]


class EntryRegistered(Answer):
    entry: EntryOut
    triggered: list[Triggered]
    derived: list[EntryOut] = Field(description="entries derived from this one (by thresholds)")


class ObjectionItem(Answer):
    entry_id: str
    list: str
    subject_id: str
    department: str
    reason: str | None
    received_on: Date | None
    verify_by: Date | None
    verify_by_note: str | None = None
    overdue: bool
    outcome: str | None
    resolved_on: Date | None


class ObjectionPage(Answer):
    items: list[ObjectionItem]
    next_cursor: Cursor


class MeasureFeedback(Answer):
    measure_id: str
    executed: bool


class CausedDecision(Answer):
    decision_id: str
    decided_at: Time
    department: str
    caller: str
    matter: str
    outcome: str | None
    measure_ids: list[str]
    feedback: list[MeasureFeedback]


class CausedDecisionPage(Answer):
    items: list[CausedDecision]
    next_cursor: Cursor


class Notice(Answer):
    entry_id: str
    list: str
    subject_id: str
    ended: str
    ended_on: Date | None
    department: str
    decisions: int
    measure_ids: builtins.list[str]
    first_decided_at: Time
    last_decided_at: Time


class NoticePage(Answer):
    items: list[Notice]
    next_cursor: Cursor


class Access(Answer):
    caller: str
    department: str
    subject_id: str
    route: str
    accessed_at: Time


class AccessPage(Answer):
    items: list[Access]
    next_cursor: Cursor


# Policy


class MeasureChanged(Answer):
    measure_id: str
    fields: list[str]


class PolicyDiff(Answer):
    memoranda_added: list[str]
    memoranda_removed: list[str]
    measures_added: list[str]
    measures_removed: list[str]
    measures_changed: list[MeasureChanged]


class MeasureCount(Answer):
    measure_id: str
    subjects_before: int
    subjects_after: int


class ImpactSummary(Answer):
    subjects_affected: int
    pairs_changed: int
    by_measure: list[MeasureCount]


class ImpactChange(Answer):
    subject_id: str
    matter: str
    before: dict[str, Any]
    after: dict[str, Any]


class PolicyImpact(Answer):
    from_version: str
    to_version: str
    diff: PolicyDiff
    summary: ImpactSummary
    changes: list[ImpactChange]


# Verifiable logs


class Checkpoint(Answer):
    log: Literal["decisions", "events"]
    size: int
    root_hash: str
    timestamp: Time
    key_id: str
    signature: str


class CheckpointPage(Answer):
    items: list[Checkpoint]
    next_cursor: Cursor


class PublicKey(Answer):
    key_id: str
    public_key_pem: str


class InclusionProof(Answer):
    leaf_index: int
    tree_size: int
    leaf_hash: str
    audit_path: list[str]
    checkpoint: Checkpoint


class ConsistencyProof(Answer):
    first: int
    second: int
    proof: list[str]


# Reports, the map, publication


class SubjectOut(Answer):
    id: str
    kind: Literal["org", "person"]
    name: str | None
    region: str | None = None


class HistoryStep(Answer):
    step: str
    on: Date | None
    recorded_at: Time
    detail: Any = None
    note: str | None


class ReportEntry(EntryOut):
    list_name: str
    history: list[HistoryStep]


class InForce(Answer):
    matter: str
    name: str
    outcome: str
    binding_outcome: str
    measure_ids: list[str]


class DecisionsSummary(Answer):
    count: int
    last_at: Time | None


class ReportCommitment(CommitmentOut):
    """A commitment as the report shows it: with its status and matter named."""

    model_config = ConfigDict(extra="forbid")
    status_name: str
    matter_name: str


class CreditReport(Answer):
    report_id: str
    generated_at: Time
    as_of: Date
    policy_version: str
    subject: SubjectOut
    entries: list[ReportEntry]
    entries_total: int
    next_cursor: Cursor
    in_force: list[InForce]
    reaching: list[ReachingEntryOut]
    reaching_total: int
    holdings: list[RelationView]
    holdings_total: int
    decisions: DecisionsSummary
    commitments: list[ReportCommitment] = Field(description="信用承诺, at most 500")
    commitments_total: int
    sha256: str


class GraphNode(Answer):
    id: str
    kind: Literal["org", "person"]
    name: str | None
    listed: bool


class GraphEdge(Answer):
    org_id: str
    person_id: str
    role: str
    start: Date | None
    end: Date | None


class GraphPath(Answer):
    entry_id: str
    list: str
    path: builtins.list[str]


class RelationshipMap(Answer):
    subject_id: str
    depth: int
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    paths: list[GraphPath]
    truncated: bool
    note: str | None


class MonthTimeliness(Answer):
    month: str
    registered: int
    late: int
    median_delay_working_days: float | None


class DepartmentTimeliness(Answer):
    department: str
    name: str
    registered: int
    late: int
    median_delay_working_days: float | None
    months: list[MonthTimeliness]


class PublicationStats(Answer):
    since: Date | None
    until: Date | None
    publication_working_days: int
    departments: list[DepartmentTimeliness]


class PublishedList(Answer):
    list: str
    name: str
    kind: str
    entries: int


class PublishedEntry(Answer):
    subject_name: str | None
    subject_id: str = Field(description="persons masked: 440106********0115")
    subject_kind: Literal["org", "person"]
    department: str
    doc_no: str
    decided_on: Date
    effective_from: Date
    effective_to: Date | None
    reason: str | None
    list_name: str | None = None
    list: str | None = None


class PublishedEntryPage(Answer):
    items: list[PublishedEntry]
    next_cursor: Cursor


class PublicReport(Answer):
    report_id: str
    generated_at: Time
    as_of: Date
    policy_version: str
    public: bool
    subject: SubjectOut
    entries: list[PublishedEntry]
    entries_total: int
    sha256: str


# Credit grades (docs/grades.md)

Number = int | float


class GradeContribution(Answer):
    """One entry's part in the score under one rule of the model."""

    rule: str
    entry_id: str
    list: str
    decided_on: Date
    points: Number
    factor: Number | None = Field(default=None, description="decay over time; absent: none")
    applied: Number


class CleanYears(Answer):
    years: int
    since: Date | None
    latest_entry_id: str | None
    points_per_year: Number
    applied: Number


class GradeBreakdown(Answer):
    base: Number
    deductions: list[GradeContribution]
    bonuses: list[GradeContribution]
    clean_years: CleanYears | None
    unclamped: Number = Field(description="the score before clamping to the model's range")


class SubjectGrade(Answer):
    """A subject's score and grade at ``as_of`` under the grades model in force."""

    subject_id: str = Field(description="masked for a person unless the role reads whole ids")
    subject_kind: Literal["org", "person"]
    as_of: Date
    model: str
    model_name: str
    policy_version: str
    score: Number
    grade: str
    label: str
    breakdown: GradeBreakdown


# Health


class Health(Answer):
    status: str


class Readiness(Answer):
    status: str
    database: bool
    policy_version: str | None
    signing: bool | None = None
    key_id: str | None = None
