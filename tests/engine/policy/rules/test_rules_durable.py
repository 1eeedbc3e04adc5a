"""durable_rules 2.0.28 behaviour that engine.rules works around, pinned.

Each test states a measured fact the adapter or the condition compiler depends on. If one
fails after an engine change, the workaround it justifies needs another look. Crashing
behaviour is pinned in test_rules_subprocess.py instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import durable_rules_engine as dre  # pins of the engine itself; project code uses the adapter
import pytest

from engine.errors import RuleEngineError
from engine.policy.rules.adapter import RuleHost


@pytest.fixture
def host() -> Iterator[RuleHost]:
    rule_host = RuleHost()
    yield rule_host
    rule_host.close()


def _one_rule(host: RuleHost, condition: dict[str, Any]) -> None:
    host.add_ruleset("rs", {"r": {"all": [{"m": condition}], "run": "hit"}})


def _fires(host: RuleHost, fact: dict[str, Any]) -> bool:
    return host.post([("rs", fact)]) == ["hit"]


def test_a_fact_fires_every_rule_an_event_only_one() -> None:
    rules = {f"r{n}": {"all": [{"m": {"$gte": {"a": n}}}]} for n in range(3)}
    handle = dre.create_ruleset("events", json.dumps(rules))
    for assert_message, expected in [
        (dre.assert_event, 1),
        (dre.assert_fact, 3),
    ]:
        code, state = assert_message(handle, json.dumps({"sid": "0", "id": "m", "a": 5}))
        assert code == 0
        started = dre.start_action_for_state(handle, state)
        fired = 0
        text = started[1] if started else None
        while text:
            fired += 1
            text = dre.complete_and_start_action(handle, state)
        assert fired == expected
        dre.retract_fact(handle, json.dumps({"sid": "0", "id": "m"}))


@pytest.mark.parametrize(
    ("constant", "value"), [(1, "1"), ("1", 1), (1, True), (True, 1), (0, False)]
)
def test_equality_across_types_is_loose(host: RuleHost, constant: Any, value: Any) -> None:
    # Why conditions test typed slots: "1" == 1 and true == 1 inside durable.
    _one_rule(host, {"a": constant})
    assert _fires(host, {"a": value})


def test_ordering_across_types_is_arbitrary(host: RuleHost) -> None:
    _one_rule(host, {"$gte": {"a": 1}})
    assert _fires(host, {"a": "a string"})


def test_ints_and_doubles_compare_by_value(host: RuleHost) -> None:
    host.add_ruleset(
        "rs",
        {
            "eq": {"all": [{"m": {"a": 1}}], "run": "eq"},
            "gte": {"all": [{"m": {"$gte": {"a": 1.5}}}], "run": "gte"},
        },
    )
    assert host.post([("rs", {"a": 1.0})]) == ["eq"]
    assert host.post([("rs", {"a": 2})]) == ["gte"]


@pytest.mark.parametrize("number", [1e20, 1e-05])
def test_floats_with_an_exponent_are_refused(host: RuleHost, number: float) -> None:
    # Why numbers travel as int64 keys: Python writes these as 1e+20 and 1e-05.
    _one_rule(host, {"$gt": {"a": 0}})
    with pytest.raises(RuleEngineError) as error:
        host.post([("rs", {"a": number})])
    assert error.value.details[0]["engine_code"] == "204"


@pytest.mark.parametrize(("length", "confused"), [(65_534, False), (65_536, True)])
def test_long_strings_compare_by_a_prefix(host: RuleHost, length: int, confused: bool) -> None:
    # Why strings are cut one byte past the longest constant: lengths are 16-bit inside.
    _one_rule(host, {"s": "a" * length})
    assert _fires(host, {"s": "a" * length + "b"}) is confused


def test_or_fires_once_per_satisfied_alternative(host: RuleHost) -> None:
    # Why policy-level "any" becomes separate rules and "$or" is only used exclusively.
    pair = [{"$or": [{f"a{n}": 1}, {f"b{n}": 1}]} for n in range(3)]
    _one_rule(host, {"$and": pair})
    fact = {f"{prefix}{n}": 1 for n in range(3) for prefix in "ab"}
    assert host.post([("rs", fact)]) == ["hit"] * 2**3


def test_a_test_on_a_missing_property_is_false(host: RuleHost) -> None:
    _one_rule(host, {"$neq": {"b": 5}})  # the notes expected "true" here (as "$ne")
    assert not _fires(host, {"a": 1})
    assert _fires(host, {"b": 4})


def test_ne_is_not_an_operator(host: RuleHost) -> None:
    with pytest.raises(RuleEngineError) as error:
        _one_rule(host, {"$ne": {"b": 5}})
    assert error.value.details[0]["engine_code"] == "202"


def test_fact_identity_protocol() -> None:
    handle = dre.create_ruleset("facts", json.dumps({"r": {"all": [{"m": {"a": 1}}]}}))

    def assert_fact(fact: dict[str, Any]) -> int:
        code, state = dre.assert_fact(handle, json.dumps({"sid": "0", **fact}))
        if code == 0:
            assert dre.start_action_for_state(handle, state)
            assert dre.complete_and_start_action(handle, state) is None
        return int(code)

    def facts() -> list[Any]:
        return list(json.loads(dre.get_facts(handle, "0")))

    def retract(fact_id: str) -> None:
        dre.retract_fact(handle, json.dumps({"sid": "0", "id": fact_id}))

    assert assert_fact({"id": "f", "a": 1}) == 0
    assert assert_fact({"id": "f", "a": 1, "other": 2}) == 2  # same id alive: "observed"
    retract("f")
    assert facts() == []
    assert assert_fact({"id": "f", "a": 1}) == 0  # an id can be used again once retracted
    retract("f")
    assert assert_fact({"id": "f", "a": 2}) == 1  # no rule matched: nothing is stored
    assert facts() == []
    retract("missing")  # harmless


def test_a_started_action_blocks_its_session() -> None:
    # Why the adapter completes every queued action, even after an error.
    rules = {"r1": {"all": [{"m": {"a": 1}}]}, "r2": {"all": [{"m": {"a": 1}}]}}
    handle = dre.create_ruleset("blocked", json.dumps(rules))
    code, state = dre.assert_fact(handle, json.dumps({"sid": "0", "id": "f", "a": 1}))
    assert code == 0 and dre.start_action_for_state(handle, state)
    dre.abandon_action(handle, state)  # gives it back: it starts again
    assert dre.start_action_for_state(handle, state)
    assert dre.complete_and_start_action(handle, state)  # r2 started, left so
    dre.retract_fact(handle, json.dumps({"sid": "0", "id": "f"}))
    code, state = dre.assert_fact(handle, json.dumps({"sid": "0", "id": "g", "a": 1}))
    assert code == 0  # matched ...
    assert dre.start_action_for_state(handle, state) is None  # ... yet no action


def test_the_stack_limit_is_real() -> None:
    # Why rulesets hold at most RULES_PER_RULESET rules: a message pending more than 64
    # condition nodes fails with engine code 303 (notes). Each rule here adds one.
    def host_with(rules: int) -> RuleHost:
        host = RuleHost()
        host.add_ruleset(
            "stack",
            {f"r{n}": {"all": [{"m": {"$neq": {"q": n}}}], "run": f"a{n}"} for n in range(rules)},
        )
        return host

    fits = host_with(64)
    assert len(fits.post([("stack", {"q": -1})])) == 64
    fits.close()
    too_many = host_with(65)
    with pytest.raises(RuleEngineError) as error:
        too_many.post([("stack", {"q": -1})])
    assert error.value.details[0]["engine_code"] == "303"
    too_many.close()
