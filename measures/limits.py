"""Size limits of the policy format, set by what the rule engine can evaluate safely.

durable_rules refuses a message that matches more than 64 condition nodes and freezes the
process on rulesets with more than 511 rules testing one field (shared/durable-rules-notes.md).
The compiler splits rulesets so that many triggers never add up past those limits, but a
single trigger's condition is one rule and cannot be split: lint refuses one that is too big.
"""

from __future__ import annotations

from measures.schema import AllOf, Comparison, Condition

MAX_CONDITION_NODES = 48
"""Comparisons one trigger condition may hold; ``in``/``not_in`` count one per listed value."""


def condition_nodes(condition: Condition | None) -> int:
    """How many engine condition nodes a condition compiles to, at most."""
    if condition is None:
        return 0
    if isinstance(condition, Comparison):
        if condition.op in ("in", "not_in") and isinstance(condition.value, list):
            return len(condition.value)
        return 1
    children = condition.all if isinstance(condition, AllOf) else condition.any
    return sum(condition_nodes(child) for child in children)


def condition_problem(condition: Condition | None) -> str | None:
    """A lint message when the condition is too large for one rule, else None."""
    nodes = condition_nodes(condition)
    if nodes > MAX_CONDITION_NODES:
        return (
            f"condition too large: {nodes} comparisons (in/not_in count one per value); "
            f"at most {MAX_CONDITION_NODES}"
        )
    return None
