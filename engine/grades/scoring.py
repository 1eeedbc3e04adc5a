"""A subject's credit score and grade on a day, from its entries (docs/grades.md).

Deterministic: a function of the subject's entries as the state holds them and of the day
(the China date of ``as_of``). Amounts are decimals rounded half up to 2 places at each
contribution, so a score never depends on float rounding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.grades.records import Clean, Selector, clean_record
from engine.state import Entry, EntryStatus, State
from engine.timing import add_years, whole_years
from measures.schema import Decay, Deduction, GradeLevel, GradesFile, ListDefinition

CENT = Decimal("0.01")


def _decimal(value: float) -> Decimal:
    """A YAML number as the decimal it was written as (shortest repr)."""
    return Decimal(repr(value))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def number(value: Decimal) -> int | float:
    """A JSON number: an integer when whole."""
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True, slots=True)
class Contribution:
    """One entry's part in the score under one rule."""

    rule: str
    entry: Entry
    points: Decimal
    factor: Decimal | None
    applied: Decimal

    def to_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "rule": self.rule,
            "entry_id": self.entry.id,
            "list": self.entry.list,
            "decided_on": self.entry.decided_on.isoformat(),
            "points": number(self.points),
        }
        if self.factor is not None:
            item["factor"] = number(self.factor)
        item["applied"] = number(self.applied)
        return item


@dataclass(frozen=True, slots=True)
class GradeResult:
    """A subject's score and grade on ``day`` with how they came about."""

    model: GradesFile
    day: dt.date
    base: Decimal
    deductions: tuple[Contribution, ...]
    bonuses: tuple[Contribution, ...]
    clean: Clean | None
    clean_applied: Decimal
    unclamped: Decimal
    score: Decimal
    level: GradeLevel

    @property
    def grade(self) -> str:
        return self.level.grade

    def summary(self) -> dict[str, Any]:
        """What a check logs: ``{"model", "score", "grade", "label"}``."""
        return {
            "model": self.model.id,
            "score": number(self.score),
            "grade": self.level.grade,
            "label": self.level.label,
        }

    def breakdown(self) -> dict[str, Any]:
        clean: dict[str, Any] | None = None
        if self.model.clean_years is not None and self.clean is not None:
            clean = {
                "years": self.model.clean_years.max_years
                if self.clean.years is None
                else min(self.clean.years, self.model.clean_years.max_years),
                "since": None if self.clean.since is None else self.clean.since.isoformat(),
                "latest_entry_id": None if self.clean.latest is None else self.clean.latest.id,
                "points_per_year": number(_decimal(self.model.clean_years.points_per_year)),
                "applied": number(self.clean_applied),
            }
        return {
            "base": number(self.base),
            "deductions": [c.to_dict() for c in self.deductions],
            "bonuses": [c.to_dict() for c in self.bonuses],
            "clean_years": clean,
            "unclamped": number(self.unclamped),
        }


def decay_factor(decay: Decay, decided_on: dt.date, day: dt.date) -> Decimal:
    """How much of a deduction still weighs on ``day`` (1 .. 0)."""
    if decay.steps is not None:
        years = whole_years(decided_on, day)
        return _decimal(decay.steps[years]) if years < len(decay.steps) else Decimal(0)
    assert decay.linear_years is not None  # the schema allows exactly one form
    end = add_years(decided_on, decay.linear_years)
    if end is None or day <= decided_on:
        return Decimal(1)
    if day >= end:
        return Decimal(0)
    return Decimal((end - day).days) / Decimal((end - decided_on).days)


def _deduction(rule: Deduction, entry: Entry, day: dt.date) -> Contribution | None:
    """The entry's deduction under ``rule`` on ``day``, or None when it does not count."""
    if entry.status in (EntryStatus.revoked, EntryStatus.under_objection):
        return None
    if entry.status is EntryStatus.repaired and (entry.ended_on is None or entry.ended_on <= day):
        return None
    if entry.effective_from > day:
        return None
    points = _decimal(rule.points)
    if rule.decay is None:
        if entry.effective_to is not None and day >= entry.effective_to:
            return None
        return Contribution(rule.id, entry, points, None, -points)
    factor = decay_factor(rule.decay, entry.decided_on, day)
    if factor == 0:
        return None
    return Contribution(rule.id, entry, points, _cents(factor), -_cents(points * factor))


def grade_on(
    model: GradesFile,
    lists: Mapping[str, ListDefinition],
    entries: Sequence[Entry],
    day: dt.date,
) -> GradeResult:
    """The score and grade of a subject with these (own) entries on ``day``."""
    deductions: list[Contribution] = []
    bonuses: list[Contribution] = []
    for rule in model.deductions:
        selector = Selector.of(rule.lists, rule.kinds)
        for entry in entries:
            if selector.matches(entry, lists):
                found = _deduction(rule, entry, day)
                if found is not None:
                    deductions.append(found)
    for bonus in model.bonuses:
        selector = Selector.of(bonus.lists, bonus.kinds)
        points = _decimal(bonus.points)
        for entry in entries:
            if selector.matches(entry, lists) and entry.in_force(day):
                bonuses.append(Contribution(bonus.id, entry, points, None, points))
    clean: Clean | None = None
    clean_applied = Decimal(0)
    if model.clean_years is not None:
        clean_rule = model.clean_years
        selector = Selector.of(clean_rule.lists, clean_rule.kinds)
        clean = clean_record(entries, selector, lists, day)
        cap = clean_rule.max_years
        years = cap if clean.years is None else min(clean.years, cap)
        clean_applied = _cents(years * _decimal(clean_rule.points_per_year))
    base = _decimal(model.base)
    unclamped = (
        base
        + sum((c.applied for c in deductions), Decimal(0))
        + sum((c.applied for c in bonuses), Decimal(0))
        + clean_applied
    )
    score = unclamped
    if model.min_score is not None:
        score = max(score, _decimal(model.min_score))
    if model.max_score is not None:
        score = min(score, _decimal(model.max_score))
    level = next(
        (g for g in model.grades if g.min_score is not None and score >= _decimal(g.min_score)),
        model.grades[-1],
    )
    return GradeResult(
        model, day, base, tuple(deductions), tuple(bonuses), clean, clean_applied,
        unclamped, score, level,
    )  # fmt: skip


def subject_grade(
    state: State, model: GradesFile, lists: Mapping[str, ListDefinition], subject_id: str,
    day: dt.date,
) -> GradeResult | None:  # fmt: skip
    """The grade of a known subject of a graded kind on ``day`` (hold the lock); else None."""
    subject = state.subjects.get(subject_id)
    if subject is None or subject.kind not in model.subject_kinds:
        return None
    return grade_on(model, lists, state.entries_of(subject_id), day)
