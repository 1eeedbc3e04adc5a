"""Size limits of the policy format, set by what the rule engine can evaluate safely.

durable_rules refuses a message that leaves more than 64 condition nodes pending and freezes
the process on rulesets with more than 511 rules testing one field (shared/durable-rules-
notes.md). The compiler (engine/rules) turns each trigger into one rule per alternative of its
condition in disjunctive normal form (``any`` inside ``all`` multiplies) and packs rules into
rulesets of at most ``RULES_PER_RULESET``; a message keeps one node pending per rule. Many
triggers are split across rulesets, but one trigger's rules must fit one ruleset: lint refuses
a condition that cannot, with the same numbers the compiler uses, so a bundle that lints clean
always compiles.
"""

from __future__ import annotations

import math

from measures.schema import AllOf, AnyOf, Comparison, Condition, Scalar

RULES_PER_RULESET = 48
"""Rules in one engine ruleset: one node pending each; durable fails past 64, 16 spare."""

MAX_CONDITION_NODES = 48
"""Comparisons one trigger condition may hold; ``in``/``not_in`` count one per listed value."""

MAX_STRING_CONSTANT_BYTES = 16_000
"""The engine compares strings as hex by an unsigned 16-bit length (65,535 bytes)."""


def condition_nodes(condition: Condition | None) -> int:
    """How many comparisons a condition holds (``in``/``not_in``: one per value)."""
    if condition is None:
        return 0
    if isinstance(condition, Comparison):
        if condition.op in ("in", "not_in") and isinstance(condition.value, list):
            return len(condition.value)
        return 1
    children = condition.all if isinstance(condition, AllOf) else condition.any
    return sum(condition_nodes(child) for child in children)


def merge_memberships(condition: AnyOf) -> list[Condition]:
    """``any`` of ``eq``/``in`` tests on one field is one ``in``: one rule instead of several."""
    merged: dict[str, list[Scalar]] = {}
    others: list[Condition] = []
    for child in condition.any:
        if isinstance(child, Comparison) and child.op in ("eq", "in"):
            merged.setdefault(child.field, []).extend(constants(child))
        else:
            others.append(child)
    memberships: list[Condition] = [
        Comparison(field=name, op="in", value=values) for name, values in merged.items()
    ]
    return memberships + others


def condition_rules(condition: Condition | None) -> int:
    """How many engine rules the condition compiles to (its alternatives in DNF)."""
    if condition is None or isinstance(condition, Comparison):
        return 1
    if isinstance(condition, AllOf):
        return math.prod(condition_rules(child) for child in condition.all)
    return sum(condition_rules(child) for child in merge_memberships(condition))


def comparisons(condition: Condition | None) -> list[Comparison]:
    """Every comparison of a condition tree, depth first."""
    if condition is None:
        return []
    if isinstance(condition, Comparison):
        return [condition]
    children = condition.all if isinstance(condition, AllOf) else condition.any
    return [found for child in children for found in comparisons(child)]


def constants(comparison: Comparison) -> list[Scalar]:
    """The constants a comparison tests against."""
    value = comparison.value
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def condition_problem(condition: Condition | None) -> str | None:
    """A lint message when the engine could not evaluate the condition as one trigger."""
    nodes = condition_nodes(condition)
    if nodes > MAX_CONDITION_NODES:
        return (
            f"condition too large: {nodes} comparisons (in/not_in count one per value); "
            f"at most {MAX_CONDITION_NODES}"
        )
    rules = condition_rules(condition)
    if rules > RULES_PER_RULESET:
        return (
            f"condition expands to {rules} alternatives ('any' inside 'all' multiplies); "
            f"at most {RULES_PER_RULESET}"
        )
    for comparison in comparisons(condition):
        for value in constants(comparison):
            if isinstance(value, float) and math.isnan(value):
                return f"{comparison.field}: NaN is not a value a condition can compare with"
            if isinstance(value, str):
                size = len(value.encode("utf-8", "surrogatepass"))
                if size > MAX_STRING_CONSTANT_BYTES:
                    return (
                        f"{comparison.field}: a string constant of {size} bytes; "
                        f"at most {MAX_STRING_CONSTANT_BYTES}"
                    )
    return None
