"""Trigger and derivation evaluation with durable_rules (only ``engine.rules.adapter`` imports it).

``CompiledPolicy.compile(bundle)`` builds one policy version's rulesets; ``triggered`` and
``derivations_met`` evaluate them; ``close`` releases them. Condition semantics are documented
in ``engine.rules.conditions``, the ruleset layout in ``engine.rules.policy``.
"""

from engine.policy.rules.policy import CompiledPolicy, RulesetInfo, TriggerMatch
from measures.limits import RULES_PER_RULESET

__all__ = ["RULES_PER_RULESET", "CompiledPolicy", "RulesetInfo", "TriggerMatch"]
