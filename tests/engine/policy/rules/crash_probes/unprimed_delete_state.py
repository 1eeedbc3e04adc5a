"""The hazard the adapter's priming avoids: ``delete_state`` on unprimed sessions.

``unprimed``: two rulesets whose sessions were created by partly matched facts, then
``delete_state`` on each: dies with ``free(): invalid pointer`` on durable_rules 2.0.28 in most
heap layouts (undefined behaviour: in some it corrupts memory silently instead).
``primed``: the same after a fact matching a prime rule created each session: prints
"survived". Run as ``python unprimed_delete_state.py unprimed|primed``; the tests run
``primed`` only (an undefined-behaviour crash cannot be asserted; ``unprimed`` is for hand runs).
"""

from __future__ import annotations

import json
import sys

import durable_rules_engine

RULES = {
    f"r{n}": {"all": [{"m": {"$and": [{"$neq": {"q": n}}, {"$gt": {"a": n}}]}}]} for n in range(48)
}
RULES["prime"] = {"all": [{"m": {"prm": 1}}]}


def prime(handle: int) -> None:
    code, state = durable_rules_engine.assert_fact(
        handle, json.dumps({"sid": "0", "id": "p", "prm": 1})
    )
    assert code == 0 and durable_rules_engine.start_action_for_state(handle, state)
    assert durable_rules_engine.complete_and_start_action(handle, state) is None
    durable_rules_engine.retract_fact(handle, json.dumps({"sid": "0", "id": "p"}))


def main() -> None:
    handles = [
        durable_rules_engine.create_ruleset(f"probe{n}", json.dumps(RULES)) for n in range(2)
    ]
    for handle in handles:
        if sys.argv[1] == "primed":
            prime(handle)
        # Passes every marker test but no rule: a partly matched, unhandled fact.
        fact = json.dumps({"sid": "0", "id": "x", "q": 5, "a": -100})
        assert durable_rules_engine.assert_fact(handle, fact)[0] == 1
    for handle in handles:
        durable_rules_engine.delete_state(handle, "0")
        durable_rules_engine.delete_ruleset(handle)
    print("survived")


if __name__ == "__main__":
    main()
