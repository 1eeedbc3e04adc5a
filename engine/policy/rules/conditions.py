"""Trigger conditions compiled to durable_rules condition data, with the contract's semantics.

Semantics (docs/policy-format.md, and the choices it leaves to us):

- A comparison on a missing attribute is false; ``exists: false`` is the only test a missing
  attribute passes. An attribute whose value is ``null`` counts as missing.
- ``ne v`` is "present and not ``eq v``"; ``not_in vs`` is "present and not ``in vs``". So a
  value of another type than ``v`` (``"5"`` vs ``5``) is ``ne`` and ``not_in``, never ``eq``.
- Numbers (ints and floats alike) compare by value: ``1 == 1.0``. They compare as IEEE-754
  doubles, so integers beyond 2**53 compare at double precision. NaN is not a comparable value.
- Booleans are their own type: ``true`` is not ``1``. Strings compare by code point (ISO dates
  in strings therefore compare as dates). ``gt/gte/lt/lte`` between a number and a string, or
  on a boolean, list or object attribute, are false.
- ``datetime.date`` attribute values compare as their ISO string.

How (why each step, measured in tests/engine/policy/rules/test_rules_durable.py, see
docs/rule-engine.md):

- durable compares across types loosely (``"1" == 1``, ``true == 1``), rejects floats written
  with an exponent (``1e+20``: error 204), compares escaped JSON text and truncates strings past
  65,535 bytes. So every attribute a ruleset reads becomes typed slots: ``t<i>`` its type code
  (always present), and only for its type ``n<i>`` (a number as an order-preserving int64 key of
  its double), ``s<i>`` (a string as hex of its UTF-8 bytes, cut one byte past the longest
  string constant of the policy, which keeps every comparison with those constants exact) or
  ``b<i>`` (0/1). A comparison tests the slot of its constant's type; durable never evaluates a
  test on a property the message lacks, so other types and missing attributes fail it.
- durable's ``$or`` fires a rule once per satisfied alternative (2**k times for k nested pairs):
  ``$or`` is used only where its alternatives are mutually exclusive by construction (``in``,
  ``ne``, ``not_in``), and policy-level ``any`` is expanded into separate rules (disjunctive
  normal form); a trigger fires once however many of its rules match.
- ``exists: false`` tests the type code, never ``$nex``: a rule that needs no property matches
  the session's own state object too (with durable's Host, which re-asserts that state after
  every action, ``$nex`` alone loops forever).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.errors import RuleEngineError
from measures.limits import (
    MAX_STRING_CONSTANT_BYTES,
    comparisons,
    condition_rules,
    constants,
    merge_memberships,
)
from measures.schema import AllOf, Comparison, Condition, Scalar

Expression = dict[str, Any]
"""One durable condition expression (the value under ``m``)."""

MISSING, NUMBER, STRING, BOOLEAN, OTHER = "-", "n", "s", "b", "o"
VALUE_TYPES = (NUMBER, STRING, BOOLEAN)


_ORDER_OPS = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}


def type_slot(field: int) -> str:
    """The property holding the type code of field ``field``."""
    return f"t{field}"


def value_slot(field: int, type_code: str) -> str:
    """The property holding field ``field``'s value when it has type ``type_code``."""
    return f"{type_code}{field}"


def number_key(value: float) -> int:
    """An int64 ordered like the double ``value`` (NaN excluded); equal doubles, equal keys."""
    if value == 0:
        return 0  # -0.0 == 0.0
    bits: int = struct.unpack("<q", struct.pack("<d", value))[0]
    return bits if bits >= 0 else -(bits & 0x7FFF_FFFF_FFFF_FFFF)


def string_key(value: str, limit: int) -> str:
    """Hex of the first ``limit`` UTF-8 bytes: byte order is code point order, no escaping."""
    return value.encode("utf-8", "surrogatepass")[:limit].hex()


def classify(value: Any) -> tuple[str, int | str | None]:
    """The type code of an attribute value and its untruncated comparable form."""
    if value is None:
        return MISSING, None
    if isinstance(value, bool):
        return BOOLEAN, int(value)
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an int beyond the double range
            number = math.inf if value > 0 else -math.inf
        return (OTHER, None) if math.isnan(number) else (NUMBER, number_key(number))
    if isinstance(value, str):
        return STRING, value
    if isinstance(value, date):
        return STRING, value.isoformat()
    return OTHER, None


def encode_field(field: int, value: Any, string_limit: int) -> dict[str, Any]:
    """The slots of one field in a fact: its type code and, for a comparable value, the value."""
    type_code, key = classify(value)
    slots: dict[str, Any] = {type_slot(field): type_code}
    if isinstance(key, str):
        slots[value_slot(field, type_code)] = string_key(key, string_limit)
    elif key is not None:
        slots[value_slot(field, type_code)] = key
    return slots


@dataclass(frozen=True, slots=True)
class Encoder:
    """Field numbering and string cut of one policy: compiles constants and conditions."""

    fields: Mapping[str, int]
    string_limit: int

    @classmethod
    def for_conditions(cls, conditions: Iterable[Condition | None]) -> Encoder:
        """Number every field the conditions read (first use first) and size the string cut."""
        fields: dict[str, int] = {}
        longest = 0
        for condition in conditions:
            for comparison in comparisons(condition):
                fields.setdefault(comparison.field, len(fields))
                for value in constants(comparison):
                    if isinstance(value, str):
                        longest = max(longest, len(value.encode("utf-8", "surrogatepass")))
        # One byte past the longest constant decides every comparison with any constant.
        return cls(fields=fields, string_limit=min(longest, MAX_STRING_CONSTANT_BYTES) + 1)

    def constant(self, value: Scalar) -> tuple[str, int | str]:
        """A condition constant as (type code, engine value)."""
        type_code, key = classify(value)
        if key is None:
            raise RuleEngineError(f"condition constant {value!r} is not comparable")
        if isinstance(key, str):
            size = len(key.encode("utf-8", "surrogatepass"))
            if size > MAX_STRING_CONSTANT_BYTES:
                raise RuleEngineError(
                    f"string constant of {size} bytes; at most {MAX_STRING_CONSTANT_BYTES}"
                )
            return type_code, string_key(key, self.string_limit)
        return type_code, key

    def encode(self, field_names: Iterable[str], attributes: Mapping[str, Any]) -> dict[str, Any]:
        """The slots of the named fields for an entry's attributes."""
        slots: dict[str, Any] = {}
        for name in field_names:
            slots.update(encode_field(self.fields[name], attributes.get(name), self.string_limit))
        return slots

    def conjunctions(self, condition: Condition | None, limit: int) -> list[list[Expression]]:
        """The condition as alternatives of conjunctions (each one durable rule); [[]] = always."""
        if condition is None:
            return [[]]
        size = condition_rules(condition)
        if size > limit:
            raise RuleEngineError(
                f"condition expands to {size} alternative rules; at most {limit} "
                "(fewer 'any' inside 'all')"
            )
        return self._dnf(condition)

    def _dnf(self, condition: Condition) -> list[list[Expression]]:
        if isinstance(condition, Comparison):
            return [[self.comparison(condition)]]
        if isinstance(condition, AllOf):
            product: list[list[Expression]] = [[]]
            for child in condition.all:
                product = [left + right for left in product for right in self._dnf(child)]
            return product
        return [conj for child in merge_memberships(condition) for conj in self._dnf(child)]

    def comparison(self, comparison: Comparison) -> Expression:
        """One comparison as a single durable expression (``$or`` only of exclusive tests)."""
        field = self.fields[comparison.field]
        op, value = comparison.op, comparison.value
        if op == "exists":
            kind = {type_slot(field): MISSING}
            return {"$neq": kind} if value else kind
        if op in _ORDER_OPS:
            assert not isinstance(value, list) and value is not None  # schema-checked
            type_code, key = self.constant(value)
            return {_ORDER_OPS[op]: {value_slot(field, type_code): key}}
        values = value if isinstance(value, list) else [value]
        constants = self._constants(values)
        if op in ("eq", "in"):
            # At most one alternative holds: one typed slot is present and has one value.
            alternatives = [
                {value_slot(field, type_code): key}
                for type_code, keys in constants.items()
                for key in keys
            ]
            return _any_of(alternatives)
        # ne / not_in: present and none of the values. One alternative per value type, each
        # needing that type's slot or type code, so at most one holds.
        exclusive: list[Expression] = []
        for type_code in VALUE_TYPES:
            keys = constants.get(type_code)
            if keys:
                slot = value_slot(field, type_code)
                exclusive.append(_all_of([{"$neq": {slot: key}} for key in keys]))
            else:
                exclusive.append({type_slot(field): type_code})
        exclusive.append({type_slot(field): OTHER})
        return _any_of(exclusive)

    def _constants(self, values: Sequence[Any]) -> dict[str, list[int | str]]:
        by_type: dict[str, list[int | str]] = {}
        for item in values:
            type_code, key = self.constant(item)
            keys = by_type.setdefault(type_code, [])
            if key not in keys:  # 1 and 1.0 are one value; a repeated value is one test
                keys.append(key)
        return by_type


def _all_of(expressions: list[Expression]) -> Expression:
    return expressions[0] if len(expressions) == 1 else {"$and": expressions}


def _any_of(expressions: list[Expression]) -> Expression:
    return expressions[0] if len(expressions) == 1 else {"$or": expressions}
