"""The explanation's condition walk agrees with the rule engine on every golden trigger case.

``engine.checks.explain.first_failure`` only names *which* comparison failed once the rule
engine said a trigger is false; it must never disagree with the rule engine on whether it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.checks.explain import first_failure, holds
from engine.policy.rules import CompiledPolicy
from measures.schema import Comparison
from tests.engine.policy.rules.test_trigger_cases import CASES, case_bundle


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_python_walk_agrees_with_the_rule_engine(path: Path) -> None:
    case: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    bundle = case_bundle(case)
    compared = 0
    with CompiledPolicy.compile(bundle) as policy:
        for entry in case.get("entries", []):
            attributes = entry.get("attributes") or {}
            engine = {
                f"{m.memorandum_id}/{m.index}"
                for m in policy.triggered(
                    list_code=entry["list"],
                    subject_kind=entry["subject_kind"],
                    attributes=attributes,
                )
            }
            for trigger in bundle.triggers_by_list.get(entry["list"], ()):
                if entry["subject_kind"] not in trigger.subject_kinds:
                    continue
                name = f"{trigger.memorandum_id}/{trigger.index}"
                assert holds(trigger.when, attributes) == (name in engine), (entry, name)
                compared += 1
    if case.get("entries"):
        assert compared > 0


def test_first_failure_names_the_comparison_and_the_value() -> None:
    condition = Comparison(field="amount", op="gte", value=1000000)
    assert first_failure(condition, {"amount": 500000}) == (
        "amount gte 1000000: the entry has 500000"
    )
    assert first_failure(condition, {}) == "amount gte 1000000: the entry has no amount"
    assert first_failure(condition, {"amount": 1000000}) is None
