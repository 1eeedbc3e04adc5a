"""CompiledPolicy: every trigger fires, versions coexist, limits hold, errors surface."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from engine.errors import RuleEngineError
from engine.policy.rules import RULES_PER_RULESET, CompiledPolicy, TriggerMatch, adapter
from engine.policy.rules.adapter import RuleHost, check_property_names, fnv1a_32
from measures import InvalidBundle
from measures.schema import AllOf, AnyOf, Comparison
from tests.engine.policy.rules.rules_helpers import make_bundle, reference_holds


def _gte(field: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": "gte", "value": value}


def test_every_memorandum_on_one_list_fires() -> None:
    # Events would fire one rule only (notes); twelve memoranda on one list must all fire.
    memoranda = [
        {"id": f"memo-{n:02d}", "triggers": [{"list": "debtor", "when": _gte("amount", n)}]}
        for n in range(12)
    ]
    with CompiledPolicy.compile(make_bundle(memoranda)) as policy:
        matches = policy.triggered(list_code="debtor", subject_kind="org", attributes={"amount": 5})
        assert matches == [TriggerMatch(f"memo-{n:02d}", 0) for n in range(6)]
        everything = policy.triggered(
            list_code="debtor", subject_kind="person", attributes={"amount": 99}
        )
        assert [m.memorandum_id for m in everything] == [m["id"] for m in memoranda]


def test_results_follow_bundle_order_not_firing_order() -> None:
    memoranda: list[dict[str, Any]] = [
        {"id": "zeta", "triggers": [{"list": "l", "when": _gte("a", 1)}, {"list": "l"}]},
        {"id": "alpha", "triggers": [{"list": "l"}]},
    ]
    with CompiledPolicy.compile(make_bundle(memoranda)) as policy:
        matches = policy.triggered(list_code="l", subject_kind="org", attributes={"a": 1})
    assert matches == [TriggerMatch("zeta", 0), TriggerMatch("zeta", 1), TriggerMatch("alpha", 0)]


def test_two_versions_evaluate_side_by_side() -> None:
    def bundle(threshold: int) -> Any:
        memo = {"id": "fines", "triggers": [{"list": "penalty", "when": _gte("amount", threshold)}]}
        return make_bundle([memo])

    old, new = bundle(100), bundle(1000)
    assert old.version != new.version
    with CompiledPolicy.compile(old) as before, CompiledPolicy.compile(new) as after:
        for amount, expect_old, expect_new in [(50, 0, 0), (500, 1, 0), (5000, 1, 1)] * 3:
            attributes = {"amount": amount}
            got_old = before.triggered(
                list_code="penalty", subject_kind="org", attributes=attributes
            )
            got_new = after.triggered(
                list_code="penalty", subject_kind="org", attributes=attributes
            )
            assert (len(got_old), len(got_new)) == (expect_old, expect_new)


def test_one_version_compiled_twice_and_closed_once() -> None:
    bundle = make_bundle([{"id": "m", "triggers": [{"list": "l"}]}])
    first, second = CompiledPolicy.compile(bundle), CompiledPolicy.compile(bundle)
    assert {r.name for r in first.rulesets}.isdisjoint(r.name for r in second.rulesets)
    first.triggered(list_code="l", subject_kind="org", attributes={})
    first.close()
    first.close()  # idempotent
    with pytest.raises(RuleEngineError, match="closed"):
        first.triggered(list_code="l", subject_kind="org", attributes={})
    assert second.triggered(list_code="l", subject_kind="org", attributes={}) == [
        TriggerMatch("m", 0)
    ]
    second.close()


def test_no_background_threads() -> None:
    # durable's Host starts timer threads that crash after delete_state (notes).
    before = threading.active_count()
    with CompiledPolicy.compile(make_bundle([{"id": "m", "triggers": [{"list": "l"}]}])) as p:
        p.triggered(list_code="l", subject_kind="org", attributes={})
        assert threading.active_count() == before


def test_unknown_list_and_bad_subject_kind() -> None:
    with CompiledPolicy.compile(make_bundle([{"id": "m", "triggers": [{"list": "l"}]}])) as p:
        assert p.triggered(list_code="nobody_watches", subject_kind="org", attributes={}) == []
        with pytest.raises(ValueError, match="subject_kind"):
            p.triggered(list_code="l", subject_kind="robot", attributes={})


DERIVATION = {
    "id": "repeat",
    "from_list": "penalty",
    "at_least": 3,
    "within_days": 365,
    "derive_list": "focus",
}


@pytest.mark.parametrize("counts", [{}, {"repeat": -1}, {"repeat": True}, {"repeat": "3"}])
def test_derivation_counts_must_be_counts(counts: dict[str, Any]) -> None:
    bundle = make_bundle([{"id": "m", "triggers": [{"list": "focus"}]}], derivations=[DERIVATION])
    with CompiledPolicy.compile(bundle) as policy, pytest.raises(ValueError, match="repeat"):
        policy.derivations_met(list_code="penalty", window_counts=counts)


def test_derivations_ignore_other_lists_counts() -> None:
    bundle = make_bundle([{"id": "m", "triggers": [{"list": "focus"}]}], derivations=[DERIVATION])
    with CompiledPolicy.compile(bundle) as policy:
        counts = {"repeat": 3, "unrelated": 99}
        assert policy.derivations_met(list_code="penalty", window_counts=counts) == ["repeat"]
        assert policy.derivations_met(list_code="focus", window_counts={"repeat": 9}) == []


# --- limits: rulesets stay small enough that no bundle can fail or freeze the engine ---------


def test_two_thousand_triggers_on_one_list() -> None:
    thresholds = list(range(2000))
    memoranda = [
        {"id": f"m{n:04d}", "triggers": [{"list": "big", "when": _gte("amount", n)}]}
        for n in thresholds
    ]
    with CompiledPolicy.compile(make_bundle(memoranda, loader=False)) as policy:
        assert all(info.rules <= RULES_PER_RULESET for info in policy.rulesets)
        assert len(policy.rulesets) >= 2000 // RULES_PER_RULESET
        # Every rule of every ruleset matches: the worst case for durable's 64-node stack.
        everything = policy.triggered(
            list_code="big", subject_kind="org", attributes={"amount": 10**6}
        )
        assert [m.memorandum_id for m in everything] == [m["id"] for m in memoranda]
        for amount in (-1, 0, 47, 48, 1234.5, 1999):
            matches = policy.triggered(
                list_code="big", subject_kind="org", attributes={"amount": amount}
            )
            assert len(matches) == sum(1 for n in thresholds if amount >= n)


def test_one_trigger_on_each_of_six_hundred_lists() -> None:
    memoranda = [
        {"id": f"m{n:03d}", "triggers": [{"list": f"list_{n:03d}", "when": _gte("level", n % 7)}]}
        for n in range(600)
    ]
    with CompiledPolicy.compile(make_bundle(memoranda, loader=False)) as policy:
        # Small lists share rulesets: one ruleset and state per list would cost ~0.26 MiB each.
        assert len(policy.rulesets) == -(-600 // RULES_PER_RULESET)
        for n in random.Random(7).sample(range(600), 60):
            for level in (n % 7 - 1, n % 7):
                matches = policy.triggered(
                    list_code=f"list_{n:03d}", subject_kind="person", attributes={"level": level}
                )
                assert matches == ([TriggerMatch(f"m{n:03d}", 0)] if level >= n % 7 else [])


@pytest.mark.parametrize(("per_ruleset", "fails"), [(64, False), (65, True)])
def test_a_matching_rule_costs_one_pending_node(
    monkeypatch: pytest.MonkeyPatch, per_ruleset: int, fails: bool
) -> None:
    # The layout's claim: a message keeps one node pending per rule, whatever the condition
    # (the $or of in/ne/not_in included), so durable's 64 is reached at exactly 64 rules.
    monkeypatch.setattr("engine.policy.rules.policy.RULES_PER_RULESET", per_ruleset)
    shapes: list[dict[str, Any]] = [
        {"field": "a", "op": "ne", "value": 1},
        {"field": "a", "op": "not_in", "value": [1, "x", True]},
        {"field": "a", "op": "in", "value": [1, 2, "y", 3.5]},
        {"all": [{"field": "a", "op": "exists", "value": True}, _gte("a", 2)]},
    ]
    memoranda = [
        {"id": f"m{n:02d}", "triggers": [{"list": "l", "when": shapes[n % 4]}]}
        for n in range(per_ruleset)
    ]
    with CompiledPolicy.compile(make_bundle(memoranda, loader=False)) as policy:
        assert [info.rules for info in policy.rulesets] == [per_ruleset]
        if fails:
            with pytest.raises(RuleEngineError, match="303"):
                policy.triggered(list_code="l", subject_kind="org", attributes={"a": 2})
        else:
            matches = policy.triggered(list_code="l", subject_kind="org", attributes={"a": 2})
            assert len(matches) == per_ruleset


def test_a_trigger_expanding_past_a_ruleset_is_refused() -> None:
    pairs = [{"any": [_gte(f"a{n}", 1), _gte(f"b{n}", 1)]} for n in range(6)]  # 2**6 rules
    memo = {"id": "wide", "triggers": [{"list": "l"}, {"list": "l", "when": {"all": pairs}}]}
    with pytest.raises(InvalidBundle):  # lint refuses it first ...
        make_bundle([memo])
    with pytest.raises(RuleEngineError, match=r"wide trigger 1: .*64 alternative rules"):
        # ... and the compiler still guards a bundle that did not go through lint.
        CompiledPolicy.compile(make_bundle([memo], loader=False))


def test_a_huge_string_constant_is_refused() -> None:
    memo = {"id": "m", "triggers": [{"list": "l", "when": _gte("s", "x" * 20_000)}]}
    with pytest.raises(InvalidBundle):
        make_bundle([memo])
    with pytest.raises(RuleEngineError, match="memorandum m trigger 0: string constant"):
        CompiledPolicy.compile(make_bundle([memo], loader=False))


def test_property_names_with_one_durable_hash_are_refused() -> None:
    # durable identifies a property by its 32-bit hash alone; these two names share one.
    assert fnv1a_32("all") == 321211332  # a constant from durable's rete.c
    assert fnv1a_32("t439599") == fnv1a_32("t622382")
    check_property_names(["t439599", "t0", "n0"])
    with pytest.raises(RuleEngineError, match="share a durable hash"):
        check_property_names(["t439599", "t622382"])


# --- actions: errors surface, stale facts are refused, the engine recovers -------------------


def _two_rules(host: RuleHost) -> None:
    host.add_ruleset(
        "rs",
        {
            "bad": {"all": [{"m": {"$gt": {"x": 10}}}], "run": "bad"},
            "good": {"all": [{"m": {"$gt": {"x": 0}}}], "run": "good"},
        },
    )


def test_an_error_reading_actions_is_raised_and_the_engine_recovers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read = adapter._action

    def faulty(text: str) -> tuple[str, dict[str, Any]]:
        rule, fact = read(text)
        if rule == "bad":
            raise ValueError("boom while reading an action")
        return rule, fact

    monkeypatch.setattr(adapter, "_action", faulty)
    host = RuleHost()
    _two_rules(host)
    with pytest.raises(RuleEngineError, match="boom while reading an action"):
        host.post([("rs", {"x": 11})])
    # Every queued action was completed: a started one would block the session for good.
    assert host.post([("rs", {"x": 5})]) == ["good"]
    assert host.post([("rs", {"x": 6})]) == ["good"]
    host.close()


def test_actions_of_another_evaluation_are_refused() -> None:
    import durable_rules_engine  # only to leave a stray fact, as a failed evaluation could

    host = RuleHost()
    _two_rules(host)
    assert host.post([("rs", {"x": 1})]) == ["good"]  # primes the session
    handle = host._rulesets["rs"].handle
    code, _ = durable_rules_engine.assert_fact(
        handle, json.dumps({"sid": "0", "id": "stray", "x": 20, "tok": -7})
    )
    assert code == 0  # matched; its actions wait in the session's queue
    with pytest.raises(RuleEngineError, match="evaluation -7 seen in evaluation"):
        host.post([("rs", {"x": 5})])
    assert host.post([("rs", {"x": 5})]) == ["good"]
    host.close()


def test_a_fact_left_behind_fails_one_post_only() -> None:
    import durable_rules_engine  # only to leave our fact behind, as a failed retract could

    host = RuleHost()
    _two_rules(host)
    assert host.post([("rs", {"x": 1})]) == ["good"]
    handle = host._rulesets["rs"].handle
    code, state = durable_rules_engine.assert_fact(
        handle, json.dumps({"sid": "0", "id": "f", "x": 1, "tok": -7})
    )
    assert code == 0 and durable_rules_engine.start_action_for_state(handle, state)
    assert durable_rules_engine.complete_and_start_action(handle, state) is None
    with pytest.raises(RuleEngineError, match="still held a fact"):
        host.post([("rs", {"x": 5})])
    assert host.post([("rs", {"x": 5})]) == ["good"]
    host.close()


# --- concurrency -------------------------------------------------------------------------------


def test_concurrent_evaluations_from_threads() -> None:
    conditions = [
        _gte("amount", 100),
        {"field": "category", "op": "in", "value": ["a", "b"]},
        {"any": [{"field": "category", "op": "ne", "value": "a"}, _gte("amount", 1000)]},
        None,
    ]
    memoranda = [
        {"id": f"m{n}", "triggers": [{"list": "l", **({"when": c} if c else {})}]}
        for n, c in enumerate(conditions)
    ]
    bundle = make_bundle(memoranda)
    other = make_bundle(memoranda, salt="second version")
    rng = random.Random(3)
    inputs = [
        {"amount": rng.choice([0, 100, 999, 1000, 5000]), "category": rng.choice("abc")}
        for _ in range(400)
    ]
    triggers = [t for memo in bundle.memoranda.values() for t in memo.triggers]

    def expected(attributes: dict[str, Any]) -> list[str]:
        return [t.memorandum_id for t in triggers if reference_holds(t.when, attributes)]

    with CompiledPolicy.compile(bundle) as first, CompiledPolicy.compile(other) as second:

        def work(n: int) -> bool:
            policy = first if n % 2 else second
            attributes = inputs[n % len(inputs)]
            got = policy.triggered(list_code="l", subject_kind="org", attributes=attributes)
            return [m.memorandum_id for m in got] == expected(attributes)

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(work, range(4000)))
    assert all(results)


# --- conditions compile to rules that fire once ------------------------------------------------


def test_exclusive_alternatives_fire_once() -> None:
    # durable's $or fires once per satisfied alternative (measured: 2**k for k nested pairs);
    # the $or this compiler writes (in, ne, not_in) must never have two satisfied alternatives.
    from engine.policy.rules.conditions import Encoder

    comparisons = [
        Comparison(field="x", op="in", value=[1, 1.0, "1", True, False, "a"]),
        Comparison(field="x", op="ne", value=1),
        Comparison(field="x", op="not_in", value=[1, "a", True]),
        Comparison(field="x", op="not_in", value=["a", "b"]),
    ]
    encoder = Encoder.for_conditions([AnyOf(any=comparisons)])
    host = RuleHost()
    host.add_ruleset(
        "rs",
        {
            f"r{n}": {"all": [{"m": encoder.comparison(c)}], "run": f"c{n}"}
            for n, c in enumerate(comparisons)
        },
    )
    values: list[Any] = [None, 1, 1.0, 2, "1", "a", "b", "c", True, False, [1], {"a": 1}]
    for value in values:
        fired = host.post([("rs", encoder.encode(["x"], {"x": value}))])
        assert len(fired) == len(set(fired)), (value, fired)
        expected = [f"c{n}" for n, c in enumerate(comparisons) if reference_holds(c, {"x": value})]
        assert sorted(fired) == expected, value
    host.close()


def test_nested_any_becomes_separate_rules() -> None:
    from engine.policy.rules.conditions import Encoder

    condition = AllOf(
        all=[
            AnyOf(
                any=[
                    Comparison(field="a", op="gt", value=0),
                    Comparison(field="b", op="gt", value=0),
                ]
            ),
            AnyOf(
                any=[
                    Comparison(field="c", op="eq", value=1),
                    Comparison(field="c", op="in", value=[2]),
                ]
            ),
        ]
    )
    encoder = Encoder.for_conditions([condition])
    # eq/in on one field merge into one (exclusive) test: 2 x 1 rules, not 2 x 2.
    assert len(encoder.conjunctions(condition, limit=48)) == 2
    assert "$nex" not in repr(encoder.conjunctions(condition, limit=48))
