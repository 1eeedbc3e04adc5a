"""Explanations (``"explain": true``): why an entry that concerns the subject gives no hit.

The reasons are produced by ``engine.checks.evaluation.evaluate`` in the same walk that
produces the hits (docs/api.md#explanations); this module holds their shape and the one thing
the walk cannot get from the rule engine: *which* comparison of a trigger's ``when`` failed.
The rule engine answers only match / no match, so once it has said a trigger is false,
``first_failure`` evaluates the condition tree in Python with the semantics of
docs/policy-format.md#trigger-conditions (``engine.policy.rules.conditions``) to name the
first failing comparison and the entry's value. It never decides whether a memorandum
applies; tests check it agrees with the rule engine on every golden trigger case.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from measures.schema import AllOf, AnyOf, Comparison, Condition, Scalar


class Reason(StrEnum):
    """The contract's stable reason codes."""

    under_objection = "under_objection"
    revoked = "revoked"
    repaired = "repaired"
    expired = "expired"
    not_yet_effective = "not_yet_effective"
    no_memorandum = "no_memorandum"
    condition_false = "condition_false"
    matter_not_listed = "matter_not_listed"
    kind_not_covered = "kind_not_covered"
    not_propagated = "not_propagated"
    role_not_held = "role_not_held"
    duration_over = "duration_over"
    incentive_withheld = "incentive_withheld"
    grade_not_matched = "grade_not_matched"
    record_not_clean = "record_not_clean"


@dataclass(frozen=True, slots=True)
class Explanation:
    """One way an entry (or the subject's grade or record: ``entry_id`` None) gives no hit."""

    entry_id: str | None
    list: str | None
    subject_id: str
    via: dict[str, str] | None
    memorandum_id: str | None
    measure_id: str | None
    reason: Reason
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "list": self.list,
            "subject_id": self.subject_id,
            "via": self.via,
            "memorandum_id": self.memorandum_id,
            "measure_id": self.measure_id,
            "reason": self.reason.value,
            "detail": self.detail,
        }


def holds(condition: Condition | None, attributes: Mapping[str, Any]) -> bool:
    """Whether the condition holds on these attributes (the documented semantics)."""
    return first_failure(condition, attributes) is None


def first_failure(condition: Condition | None, attributes: Mapping[str, Any]) -> str | None:
    """None when the condition holds; else the first failing comparison and the entry's value.

    ``all`` fails at its first false child; ``any`` fails when every child does, and names
    the first child's failure.
    """
    if condition is None:
        return None
    if isinstance(condition, AllOf):
        for child in condition.all:
            failure = first_failure(child, attributes)
            if failure is not None:
                return failure
        return None
    if isinstance(condition, AnyOf):
        failures = [first_failure(child, attributes) for child in condition.any]
        if any(failure is None for failure in failures):
            return None
        return failures[0]
    if _comparison_holds(condition, attributes):
        return None
    value = attributes.get(condition.field)
    given = (
        f"the entry has no {condition.field}" if value is None else f"the entry has {_shown(value)}"
    )
    return f"{condition.field} {condition.op} {_shown(condition.value)}: {given}"


def _comparison_holds(comparison: Comparison, attributes: Mapping[str, Any]) -> bool:
    value = attributes.get(comparison.field)
    if comparison.op == "exists":
        return (value is not None) is comparison.value
    if value is None:
        return False  # a missing (or null) attribute fails every other comparison
    constants: list[Scalar] = (
        comparison.value if isinstance(comparison.value, list) else [comparison.value]  # type: ignore[list-item]
    )
    if comparison.op in ("eq", "in"):
        return any(_same(value, constant) for constant in constants)
    if comparison.op in ("ne", "not_in"):
        return not any(_same(value, constant) for constant in constants)
    left, right = _comparable(value), _comparable(comparison.value)
    if (isinstance(left, str) and isinstance(right, str)) or (
        isinstance(left, float) and isinstance(right, float)
    ):
        return _ordered(comparison.op, left, right)
    return False  # not comparable, or two types


def _ordered(op: str, left: Any, right: Any) -> bool:
    if op == "gt":
        return bool(left > right)
    if op == "gte":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    return bool(left <= right)


def _comparable(value: Any) -> float | str | None:
    """Numbers as doubles, strings and dates as text; anything else compares with nothing."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf if value > 0 else -math.inf
        return None if math.isnan(number) else number
    if isinstance(value, str):
        return value
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat()) if callable(isoformat) else None


def _same(value: Any, constant: Any) -> bool:
    if isinstance(value, bool) or isinstance(constant, bool):
        return isinstance(value, bool) and isinstance(constant, bool) and value is constant
    left, right = _comparable(value), _comparable(constant)
    return left is not None and type(left) is type(right) and left == right


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_shown(item) for item in value) + "]"
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        return repr(value)
