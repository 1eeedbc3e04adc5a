"""Policy test files (``*_test.yaml``, docs/policy-format.md#policy-tests): read and validated.

A test file is read like a bundle file (``measures.yaml_positions``: dates stay text, every
key and item keeps its line) and checked against the bundle it tests: unknown keys, a check
without ``expect``, a list, matter, role, department or measure id the bundle does not have,
or a malformed subject id are problems located at ``path:line``, as ``jrp lint`` reports.
Subjects, relations and entries are validated with the very models the API uses for
``POST /v1/subjects``, ``/v1/relations`` and ``/v1/entries``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.entries.schemas import EntryCreate
from engine.errors import JrpError
from engine.registry.identifiers import either_kind_id, normalize_subject_id
from engine.registry.schemas import RelationIn, SubjectIn
from engine.timing import CHINA
from measures.bundle import Bundle
from measures.schema import SubjectKind
from measures.yaml_positions import Loc, Positions, Problem, read_yaml

Outcome = Literal["clear", "prohibit", "restrict", "review", "notice", "incentive"]
EntryStatusName = Literal["active", "under_objection", "revoked", "repaired"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectation(_Strict):
    outcome: Outcome | None = None
    binding_outcome: Outcome | None = None
    hits: list[str] | None = None
    incentives_withheld: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> Expectation:
        if not self.model_fields_set:
            raise ValueError("expect needs at least one of outcome, binding_outcome, hits, "
                             "incentives_withheld")  # fmt: skip
        return self


class GradeExpectation(_Strict):
    grade: str | None = Field(default=None, min_length=1)
    score: float | None = None
    label: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _something(self) -> GradeExpectation:
        if not self.model_fields_set:
            raise ValueError("expect needs at least one of grade, score, label")
        return self


class GradeSpec(_Strict):
    """A grade case (docs/grades.md#policy-tests): the subject's grade at ``as_of``."""

    subject_id: str = Field(min_length=1)
    as_of: str | None = None
    expect: GradeExpectation


class CheckSpec(_Strict):
    subject_id: str = Field(min_length=1)
    matter: str = Field(min_length=1)
    as_of: str | None = None
    expect: Expectation


class CaseSpec(_Strict):
    name: str = Field(min_length=1)
    today: dt.date | None = None
    subjects: list[dict[str, Any]] = Field(default_factory=list)
    relations: list[dict[str, Any]] = Field(default_factory=list)
    entries: list[dict[str, Any]] = Field(default_factory=list)
    checks: list[CheckSpec] = Field(default_factory=list)
    grades: list[GradeSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _asks_something(self) -> CaseSpec:
        if not self.checks and not self.grades:
            raise ValueError("a case needs checks or grades (at least one)")
        return self


class TestFileSpec(_Strict):
    cases: list[CaseSpec] = Field(min_length=1)


@dataclass(frozen=True)
class PlannedEntry:
    request: EntryCreate
    department: str
    status: EntryStatusName


@dataclass(frozen=True)
class PlannedCheck:
    subject_id: str
    matter: str
    as_of: dt.datetime | None
    expect: Expectation
    line: int


@dataclass(frozen=True)
class PlannedGrade:
    subject_id: str
    as_of: dt.datetime | None
    expect: GradeExpectation
    line: int


@dataclass(frozen=True)
class PlannedCase:
    name: str
    today: dt.date | None
    subjects: list[dict[str, Any]]
    relations: list[dict[str, Any]]
    entries: list[PlannedEntry]
    checks: list[PlannedCheck]
    grades: list[PlannedGrade] = field(default_factory=list)


@dataclass(frozen=True)
class TestFile:
    path: str
    cases: list[PlannedCase]


def read_test_file(path: str, raw: bytes, bundle: Bundle) -> tuple[TestFile, list[Problem]]:
    """A test file's cases, and its problems (a file with problems must not be run)."""
    document = read_yaml(path, raw)
    if document.problems:
        return TestFile(path, []), document.problems
    if document.data is None:
        return TestFile(path, []), [Problem(path, 1, "empty file: expected a mapping with cases")]
    where = _Where(path, document.positions)
    try:
        spec = TestFileSpec.model_validate(_ids_as_text(document.data))
    except ValidationError as exc:
        return TestFile(path, []), [where.error(error) for error in exc.errors()]
    problems: list[Problem] = []
    cases = [
        _plan_case(where, ("cases", i), case, bundle, problems) for i, case in enumerate(spec.cases)
    ]
    return TestFile(path, cases), problems


_ID_KEYS = frozenset({"id", "subject_id", "org_id", "person_id"})


def _ids_as_text(data: Any) -> Any:
    """An 18-digit 公民身份号码 written without quotes is a YAML integer: read it as text."""
    if isinstance(data, dict):
        return {
            key: str(value)
            if key in _ID_KEYS and isinstance(value, int) and not isinstance(value, bool)
            else _ids_as_text(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [_ids_as_text(item) for item in data]
    return data


@dataclass(frozen=True)
class _Where:
    path: str
    positions: Positions

    def at(self, loc: Loc, message: str) -> Problem:
        return Problem(self.path, self.positions.line(loc), message)

    def error(self, error: Any, base: Loc = ()) -> Problem:
        loc: Loc = (*base, *error["loc"])
        names = [part for part in error["loc"] if isinstance(part, str)]
        key = names[-1] if names else None
        if error["type"] == "extra_forbidden":
            message = f"unknown key '{key}'"
        elif error["type"] == "missing":
            message = f"missing required key '{key}'"
        else:
            text = str(error["msg"]).removeprefix("Value error, ")
            message = f"{key}: {text}" if key else text
        return self.at(loc, message)


def _plan_case(
    where: _Where,
    loc: Loc,
    case: CaseSpec,
    bundle: Bundle,
    problems: list[Problem],
) -> PlannedCase:
    vocabulary = bundle.vocabulary
    subjects: list[dict[str, Any]] = []
    for i, item in enumerate(case.subjects):
        try:
            subject = SubjectIn.model_validate(item)
        except ValidationError as exc:
            problems += [where.error(e, (*loc, "subjects", i)) for e in exc.errors()]
            continue
        _subject_id(where, (*loc, "subjects", i, "id"), subject.id, subject.kind, problems)
        subjects.append(subject.model_dump(mode="json", exclude_unset=True))
    relations: list[dict[str, Any]] = []
    for i, item in enumerate(case.relations):
        here = (*loc, "relations", i)
        try:
            relation = RelationIn.model_validate(item)
        except ValidationError as exc:
            problems += [where.error(e, here) for e in exc.errors()]
            continue
        if relation.role not in vocabulary.roles:
            problems.append(where.at((*here, "role"), f"unknown role '{relation.role}'"))
        _subject_id(where, (*here, "org_id"), relation.org_id, "org", problems)
        _subject_id(where, (*here, "person_id"), relation.person_id, "person", problems)
        relations.append(relation.model_dump(mode="json"))
    entries: list[PlannedEntry] = []
    for i, item in enumerate(case.entries):
        planned = _plan_entry(where, (*loc, "entries", i), item, bundle, problems)
        if planned is not None:
            entries.append(planned)
    checks: list[PlannedCheck] = []
    for i, check in enumerate(case.checks):
        here = (*loc, "checks", i)
        if check.matter not in vocabulary.matters:
            problems.append(where.at((*here, "matter"), f"unknown matter '{check.matter}'"))
        try:
            subject_id = either_kind_id(check.subject_id, field="subject_id")
        except JrpError as exc:
            problems.append(where.at((*here, "subject_id"), f"subject_id: {exc.message}"))
            subject_id = check.subject_id
        for j, measure_id in enumerate(check.expect.hits or []):
            if measure_id not in bundle.measures:
                problems.append(
                    where.at((*here, "expect", "hits", j), f"unknown measure id '{measure_id}'")
                )
        as_of = _as_of(where, (*here, "as_of"), check.as_of, problems)
        checks.append(
            PlannedCheck(subject_id, check.matter, as_of, check.expect, where.positions.line(here))
        )
    grades: list[PlannedGrade] = []
    for i, grade in enumerate(case.grades):
        here = (*loc, "grades", i)
        model = bundle.grades
        if model is None:
            problems.append(where.at(here, "a grade case needs a grades model (grades.yaml)"))
        elif grade.expect.grade is not None and grade.expect.grade not in {
            level.grade for level in model.grades
        }:
            problems.append(
                where.at((*here, "expect", "grade"), f"unknown grade '{grade.expect.grade}'")
            )
        try:
            subject_id = either_kind_id(grade.subject_id, field="subject_id")
        except JrpError as exc:
            problems.append(where.at((*here, "subject_id"), f"subject_id: {exc.message}"))
            subject_id = grade.subject_id
        as_of = _as_of(where, (*here, "as_of"), grade.as_of, problems)
        grades.append(PlannedGrade(subject_id, as_of, grade.expect, where.positions.line(here)))
    return PlannedCase(case.name, case.today, subjects, relations, entries, checks, grades)


def _plan_entry(
    where: _Where, loc: Loc, item: Mapping[str, Any], bundle: Bundle, problems: list[Problem]
) -> PlannedEntry | None:
    body = {key: value for key, value in item.items() if key not in ("department", "status")}
    before = len(problems)
    department = item.get("department")
    if department is None:
        problems.append(where.at(loc, "missing required key 'department'"))
    elif not isinstance(department, str) or department not in bundle.vocabulary.departments:
        problems.append(where.at((*loc, "department"), f"unknown department '{department}'"))
    status = item.get("status", "active")
    if status not in ("active", "under_objection", "revoked", "repaired"):
        problems.append(
            where.at(
                (*loc, "status"),
                f"unknown status '{status}'; expected one of: active, under_objection, "
                "revoked, repaired",
            )
        )
    try:
        request = EntryCreate.model_validate(body)
    except ValidationError as exc:
        problems += [where.error(e, loc) for e in exc.errors()]
        return None
    definition = bundle.vocabulary.lists.get(request.list)
    if definition is None:
        problems.append(where.at((*loc, "list"), f"unknown list '{request.list}'"))
    elif department in bundle.vocabulary.departments and department not in definition.owners:
        problems.append(
            where.at(
                (*loc, "department"),
                f"department '{department}' does not own the list '{request.list}'",
            )
        )
    _subject_id(where, (*loc, "subject_id"), request.subject_id, request.subject_kind, problems)
    if len(problems) > before or not isinstance(department, str):
        return None
    return PlannedEntry(request, department, status)


def _subject_id(where: _Where, loc: Loc, raw: str, kind: str, problems: list[Problem]) -> None:
    try:
        normalize_subject_id(SubjectKind(kind), raw, field=str(loc[-1]))
    except JrpError as exc:
        problems.append(where.at(loc, f"{loc[-1]}: {exc.message}"))


def _as_of(where: _Where, loc: Loc, raw: str | None, problems: list[Problem]) -> dt.datetime | None:
    """A date (China) or an RFC 3339 time; a time without an offset is China time."""
    if raw is None:
        return None
    text = str(raw)
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), CHINA)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        problems.append(where.at(loc, f"as_of: '{text}' is not a date or an RFC 3339 time"))
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CHINA)
