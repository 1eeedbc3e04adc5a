"""The policy bundle's YAML schema (docs/policy-format.md) as pydantic models.

These models describe each file as written: unknown keys are refused, types are checked.
Cross-file rules (unknown department, duplicate ids, effect vs memorandum kind, ``ref``
resolution) are checked by ``measures.validate``; the resolved, ready-to-use form is
``measures.bundle.Bundle``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)


class Strict(BaseModel):
    """Base for every bundle model: unknown keys are an error, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Code = Annotated[str, StringConstraints(min_length=1, pattern=r"^[a-z0-9_]+$")]
"""A vocabulary code (department, list, matter, role): lower snake case."""

PolicyId = Annotated[str, StringConstraints(min_length=1, pattern=r"^[a-z0-9-]+$")]
"""A memorandum, measure or derivation id: lower case, digits and hyphens."""

Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class ListKind(StrEnum):
    black = "black"
    red = "red"
    record = "record"


class SubjectKind(StrEnum):
    org = "org"
    person = "person"


class MemorandumKind(StrEnum):
    punishment = "punishment"
    incentive = "incentive"


class Effect(StrEnum):
    prohibit = "prohibit"
    restrict = "restrict"
    review = "review"
    notice = "notice"
    incentive = "incentive"


EFFECT_RANK: dict[Effect, int] = {
    Effect.prohibit: 5,
    Effect.restrict: 4,
    Effect.review: 3,
    Effect.notice: 2,
    Effect.incentive: 1,
}

BOTH_KINDS: tuple[SubjectKind, ...] = (SubjectKind.org, SubjectKind.person)


# --- vocabulary.yaml -------------------------------------------------------------------------


class Severity(StrEnum):
    """失信程度 of NDRC Order No. 36 《信用修复管理办法》: 轻微 / 一般 / 严重."""

    minor = "minor"
    general = "general"
    serious = "serious"


SEVERITY_PUBLICITY_DAYS: dict[Severity, tuple[int, int]] = {
    Severity.minor: (0, 90),
    Severity.general: (90, 365),
    Severity.serious: (365, 1095),
}
"""(min_publicity_days, max_publicity_days) a severity sets when the list gives neither."""


class ListDefinition(Strict):
    name: Text
    kind: ListKind
    owners: list[Code] = Field(min_length=1)
    default_duration_days: int | None = Field(default=None, ge=1)
    repairable: bool = False
    severity: Severity | None = None
    min_publicity_days: int = Field(default=0, ge=0)
    max_publicity_days: int | None = Field(default=None, ge=0)
    publish: bool | None = None
    """On the public feed (红黑榜); None: black and red lists are, record lists are not."""

    @property
    def published(self) -> bool:
        """Whether the list is shown on the public feed (``publish``, or its kind's default)."""
        if self.publish is not None:
            return self.publish
        return self.kind in (ListKind.black, ListKind.red)

    @model_validator(mode="before")
    @classmethod
    def _severity_defaults(cls, data: Any) -> Any:
        # A severity fills in the publicity days the list does not give itself.
        if isinstance(data, dict) and data.get("severity") in SEVERITY_PUBLICITY_DAYS:
            low, high = SEVERITY_PUBLICITY_DAYS[Severity(data["severity"])]
            data = {"min_publicity_days": low, "max_publicity_days": high, **data}
        return data


class PolicySettings(Strict):
    incentives_blocked_by: list[ListKind] = Field(default_factory=lambda: [ListKind.black])
    objection_verify_working_days: int = Field(default=10, ge=1, le=366)
    publication_working_days: int = Field(default=7, ge=1, le=366)


class Vocabulary(Strict):
    departments: dict[Code, Text] = Field(min_length=1)
    lists: dict[Code, ListDefinition] = Field(min_length=1)
    matters: dict[Code, Text] = Field(min_length=1)
    roles: dict[Code, Text] = Field(default_factory=dict)
    settings: PolicySettings = Field(default_factory=PolicySettings)


# --- conditions ------------------------------------------------------------------------------

Operator = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists"]
Scalar = str | int | float | bool


class Comparison(Strict):
    """``{field, op, value}``: a test on one attribute of the entry."""

    field: Text
    op: Operator
    value: Scalar | list[Scalar] | None

    @field_validator("value", mode="before")
    @classmethod
    def _value_is_scalar(cls, value: Any) -> Any:
        # One readable error instead of pydantic's one-per-union-member noise.
        items = value if isinstance(value, list) else [value]
        if value is not None and any(
            item is None or isinstance(item, dict | list) for item in items
        ):
            raise ValueError("value must be a string, a number, true/false or a list of these")
        return value

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Comparison:
        if self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"op '{self.op}' takes a non-empty list as value")
        elif self.op == "exists":
            if not isinstance(self.value, bool):
                raise ValueError("op 'exists' takes value: true or false")
        elif isinstance(self.value, list) or self.value is None:
            raise ValueError(f"op '{self.op}' takes a single value")
        elif self.op in ("gt", "gte", "lt", "lte") and isinstance(self.value, bool):
            raise ValueError(f"op '{self.op}' takes a number or a string, not a boolean")
        return self


class AllOf(Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(Strict):
    any: list[Condition] = Field(min_length=1)


def _condition_tag(value: Any) -> str | None:
    """Which condition form a value is, from the keys it has (None: none of them)."""
    if isinstance(value, BaseModel):
        return CONDITION_TAGS.get(type(value).__name__)
    if not isinstance(value, dict):
        return None
    if "all" in value:
        return "<all>"
    if "any" in value:
        return "<any>"
    if value.keys() & {"field", "op", "value"}:
        return "<comparison>"
    return None


CONDITION_TAGS = {"Comparison": "<comparison>", "AllOf": "<all>", "AnyOf": "<any>"}

# Dispatching on the keys present makes a bad condition report only the errors of the form
# it was meant to be (e.g. "unknown operator") instead of one error per union member. The tags
# appear in pydantic error locations; UNION_TAGS lets the loader skip them.
Condition = Annotated[
    Annotated[Comparison, Tag("<comparison>")]
    | Annotated[AllOf, Tag("<all>")]
    | Annotated[AnyOf, Tag("<any>")],
    Discriminator(
        _condition_tag,
        custom_error_type="condition_form",
        custom_error_message=(
            "a condition is a mapping with 'field', 'op' and 'value', or with 'all', or with 'any'"
        ),
    ),
]
"""A trigger condition tree; ``all``/``any`` nest to any depth."""

AllOf.model_rebuild()
AnyOf.model_rebuild()


# --- memoranda and measures -------------------------------------------------------------------


SubjectKinds = list[SubjectKind]
"""Named outside ``Trigger``, whose ``list`` field hides the builtin from type checkers."""


class Trigger(Strict):
    list: Code
    subject_kinds: SubjectKinds = Field(default_factory=lambda: [*BOTH_KINDS])
    when: Condition | None = None


GradeCode = Annotated[str, StringConstraints(min_length=1, pattern=r"^[A-Z][A-Z0-9+-]*$")]
"""A grade of the grades model (``A``, ``B+``): upper case letters, digits, ``+`` and ``-``."""


class GradeTrigger(Strict):
    """``{grade: [D]}``: fires at check time when the subject's grade is one of these."""

    grade: list[GradeCode] = Field(min_length=1)
    subject_kinds: SubjectKinds = Field(default_factory=lambda: [*BOTH_KINDS])


def _trigger_tag(value: Any) -> str:
    """A trigger with ``grade`` is a grade trigger; anything else a list trigger."""
    if isinstance(value, GradeTrigger) or (isinstance(value, dict) and "grade" in value):
        return "<grade>"
    return "<list>"


MemorandumTrigger = Annotated[
    Annotated[Trigger, Tag("<list>")] | Annotated[GradeTrigger, Tag("<grade>")],
    Discriminator(_trigger_tag),
]


class Propagation(Strict):
    """落实到人 (``to: persons``) and its reverse (``to: orgs``)."""

    to: Literal["persons", "orgs"]
    roles: list[Code] = Field(min_length=1)
    role_held_at: Literal["decision", "check"] = "decision"


class MeasureDefinition(Strict):
    """A measure written out in full (in a memorandum or in catalogue.yaml)."""

    id: PolicyId
    text: Text
    effect: Effect
    mandatory: bool = False
    matters: list[Code] = Field(min_length=1)
    implementing: list[Code] = Field(min_length=1)
    legal_basis: Text | None = None
    note: Text | None = None
    """Free text for policy staff, e.g. why ``legal_basis`` is null (``--require-legal-basis``)."""
    subject_kinds: list[SubjectKind] = Field(default_factory=lambda: list(BOTH_KINDS))
    duration_days: int | None = Field(default=None, ge=1)
    propagate: list[Propagation] = Field(default_factory=list)

    @property
    def states_legal_basis(self) -> bool:
        """A legal basis, or ``legal_basis: null`` written out with a ``note`` saying why."""
        if self.legal_basis is not None:
            return True
        return "legal_basis" in self.model_fields_set and self.note is not None


class MeasureReference(Strict):
    """``ref`` to a catalogue measure, with the keys a memorandum may override."""

    ref: PolicyId
    id: PolicyId
    note: Text | None = None
    """This memorandum's own note (the catalogue's text, effect and legal basis still apply)."""
    mandatory: bool | None = None
    subject_kinds: list[SubjectKind] | None = None
    duration_days: int | None = Field(default=None, ge=1)
    propagate: list[Propagation] | None = None


def _measure_tag(value: Any) -> str:
    """A measure with ``ref`` is a reference; anything else is a full definition."""
    if isinstance(value, MeasureReference) or (isinstance(value, dict) and "ref" in value):
        return "<ref>"
    return "<measure>"


MemorandumMeasure = Annotated[
    Annotated[MeasureDefinition, Tag("<measure>")] | Annotated[MeasureReference, Tag("<ref>")],
    Discriminator(_measure_tag),
]

UNION_TAGS = frozenset(
    {*CONDITION_TAGS.values(), "<measure>", "<ref>", "<list>", "<grade>", "<count>", "<absence>"}
)
"""Union member tags that pydantic puts in error locations; they name no YAML key."""


def _date_text(value: Any) -> Any:
    # pydantic would read a bare number as a Unix timestamp: a date must be written as a date.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_date_text)]


class MemorandumFile(Strict):
    id: PolicyId
    title: Text
    doc_no: Text
    kind: MemorandumKind
    issued_on: IsoDate
    triggers: list[MemorandumTrigger] = Field(min_length=1)
    measures: list[MemorandumMeasure] = Field(min_length=1)


class CatalogueFile(Strict):
    measures: list[MeasureDefinition] = Field(default_factory=list)


class Derivation(Strict):
    id: PolicyId
    from_list: Code
    at_least: int = Field(ge=1)
    within_days: int = Field(ge=1)
    derive_list: Code
    duration_days: int | None = Field(default=None, ge=1)
    """None: the derived list's ``default_duration_days``."""


class AbsenceDerivation(Strict):
    """A clean record: no record of these lists (or kinds) in the last ``years`` whole years."""

    id: PolicyId
    absent_lists: list[Code] | None = Field(default=None, min_length=1)
    absent_kinds: list[ListKind] | None = Field(default=None, min_length=1)
    years: int = Field(ge=1, le=100)
    derive_list: Code
    subject_kinds: list[SubjectKind] = Field(default_factory=lambda: list(BOTH_KINDS))

    @model_validator(mode="after")
    def _one_selector(self) -> AbsenceDerivation:
        if (self.absent_lists is None) == (self.absent_kinds is None):
            raise ValueError("give absent_lists or absent_kinds (one of the two)")
        return self


def _derivation_tag(value: Any) -> str:
    """A derivation with ``absent_lists``/``absent_kinds`` is an absence derivation."""
    if isinstance(value, AbsenceDerivation) or (
        isinstance(value, dict) and value.keys() & {"absent_lists", "absent_kinds"}
    ):
        return "<absence>"
    return "<count>"


AnyDerivation = Annotated[
    Annotated[Derivation, Tag("<count>")] | Annotated[AbsenceDerivation, Tag("<absence>")],
    Discriminator(_derivation_tag),
]


class DerivationsFile(Strict):
    derivations: list[AnyDerivation] = Field(default_factory=list)


# --- grades.yaml ------------------------------------------------------------------------------


def _number(value: Any) -> Any:
    # true/false and text are not numbers here, whatever pydantic's lax mode would make of them.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number")
    return value


Number = Annotated[float, BeforeValidator(_number)]


class ListSelector(Strict):
    """Entries of these lists, or of lists of these kinds (one of the two)."""

    lists: list[Code] | None = Field(default=None, min_length=1)
    kinds: list[ListKind] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_selector(self) -> ListSelector:
        if (self.lists is None) == (self.kinds is None):
            raise ValueError("give lists or kinds (one of the two)")
        return self


class Decay(Strict):
    """How a deduction weighs less with the whole years since the entry's decision."""

    steps: list[Number] | None = Field(default=None, min_length=1)
    linear_years: int | None = Field(default=None, ge=1, le=100)

    @model_validator(mode="after")
    def _one_form(self) -> Decay:
        if (self.steps is None) == (self.linear_years is None):
            raise ValueError("give steps or linear_years (one of the two)")
        steps = self.steps or []
        if any(not 0 <= factor <= 1 for factor in steps):
            raise ValueError("every factor of steps is between 0 and 1")
        if any(later > earlier for earlier, later in itertools.pairwise(steps)):
            raise ValueError("steps must not increase")
        return self


class ScoreRule(ListSelector):
    id: PolicyId
    points: Number = Field(gt=0)


class Deduction(ScoreRule):
    decay: Decay | None = None


class CleanYears(ListSelector):
    points_per_year: Number = Field(gt=0)
    max_years: int = Field(ge=1, le=100)


class GradeLevel(Strict):
    grade: GradeCode
    label: Text
    min_score: Number | None = None


class GradesFile(Strict):
    """``grades.yaml``: the credit scoring model (docs/grades.md)."""

    id: PolicyId
    name: Text
    legal_basis: Text | None = None
    note: Text | None = None
    subject_kinds: list[SubjectKind] = Field(default_factory=lambda: list(BOTH_KINDS))
    base: Number
    min_score: Number | None = None
    max_score: Number | None = None
    deductions: list[Deduction] = Field(default_factory=list)
    bonuses: list[ScoreRule] = Field(default_factory=list)
    clean_years: CleanYears | None = None
    grades: list[GradeLevel] = Field(min_length=1)

    @property
    def states_legal_basis(self) -> bool:
        """A legal basis, or ``legal_basis: null`` written out with a ``note`` saying why."""
        if self.legal_basis is not None:
            return True
        return "legal_basis" in self.model_fields_set and self.note is not None


def condition_fields(condition: Condition | None) -> set[str]:
    """Every attribute name a condition tree reads."""
    if condition is None:
        return set()
    if isinstance(condition, Comparison):
        return {condition.field}
    children = condition.all if isinstance(condition, AllOf) else condition.any
    return set().union(*(condition_fields(child) for child in children))


# --- exchange.yaml ----------------------------------------------------------------------------


class ExchangeFile(Strict):
    """``exchange.yaml``: lists served to peers and where a peer's entries go (docs/exchange.md)."""

    exports: list[Code] = Field(default_factory=list)
    imports: dict[Code, Code] = Field(default_factory=dict)
    """A peer's list code -> the local list its entries go on."""
    ignore: list[Code] = Field(default_factory=list)
    """A peer's list codes whose events are skipped on purpose."""
