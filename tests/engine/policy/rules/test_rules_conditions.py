"""Condition semantics: the rule engine agrees with the contract's meaning on random inputs."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.policy.rules import CompiledPolicy
from engine.policy.rules.conditions import classify, number_key, string_key
from measures.schema import AllOf, AnyOf, Comparison, Condition
from tests.engine.policy.rules.rules_helpers import make_bundle, reference_holds

FIELDS = ["a", "b", "c"]
NUMBERS = st.one_of(
    st.sampled_from([0, 1, -1, 2, 1.0, 0.5, -0.0, 1e-5, 1e20, 2**53, 10**30, math.inf, -math.inf]),
    st.integers(-3, 3),
    st.floats(allow_nan=False, width=64),
)
STRINGS = st.one_of(
    st.sampled_from(["", "a", "ab", "b", "1", 'a"b', "a\\b", "a\nb", "你好", "😀", "2021-01-01"]),
    st.text(max_size=4),
)
SCALARS = st.one_of(NUMBERS, STRINGS, st.booleans())
field_names = st.sampled_from(FIELDS)

comparisons = st.one_of(
    st.builds(Comparison, field=field_names, op=st.sampled_from(["eq", "ne"]), value=SCALARS),
    st.builds(
        Comparison,
        field=field_names,
        op=st.sampled_from(["gt", "gte", "lt", "lte"]),
        value=st.one_of(NUMBERS, STRINGS),
    ),
    st.builds(
        Comparison,
        field=field_names,
        op=st.sampled_from(["in", "not_in"]),
        value=st.lists(SCALARS, min_size=1, max_size=4),
    ),
    st.builds(Comparison, field=field_names, op=st.just("exists"), value=st.booleans()),
)
conditions: st.SearchStrategy[Condition] = st.recursive(
    comparisons,
    lambda children: st.one_of(
        st.builds(AllOf, all=st.lists(children, min_size=1, max_size=3)),
        st.builds(AnyOf, any=st.lists(children, min_size=1, max_size=3)),
    ),
    max_leaves=8,
)
attribute_values = st.one_of(
    SCALARS,
    st.none(),
    st.sampled_from([[1], {"x": 1}, math.nan, "x" * 70_000, "a" * 70_000 + "b"]),
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2022, 12, 31)),
)
attribute_maps = st.dictionaries(field_names, attribute_values, max_size=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    triggers=st.lists(st.one_of(st.none(), conditions), min_size=1, max_size=6),
    samples=st.lists(attribute_maps, min_size=1, max_size=8),
)
def test_engine_agrees_with_the_reference(
    triggers: list[Condition | None], samples: list[dict[str, Any]]
) -> None:
    memoranda = [
        {
            "id": f"m{n}",
            "triggers": [{"list": "l", **({"when": c.model_dump()} if c is not None else {})}],
        }
        for n, c in enumerate(triggers)
    ]
    with CompiledPolicy.compile(make_bundle(memoranda, loader=False)) as policy:
        for attributes in samples:
            got = policy.triggered(list_code="l", subject_kind="org", attributes=attributes)
            expected = [f"m{n}" for n, c in enumerate(triggers) if reference_holds(c, attributes)]
            assert [m.memorandum_id for m in got] == expected, attributes


@given(st.floats(allow_nan=False), st.floats(allow_nan=False))
def test_number_keys_order_like_the_numbers(left: float, right: float) -> None:
    assert (number_key(left) < number_key(right)) == (left < right)
    assert (number_key(left) == number_key(right)) == (left == right)
    assert -(2**63) <= number_key(left) < 2**63  # an int64 for durable


@given(st.text(), st.text(max_size=8))
def test_cut_hex_strings_compare_like_the_strings(value: str, constant: str) -> None:
    limit = len(constant.encode("utf-8")) + 1  # one byte past the longest constant
    left, right = string_key(value, limit), string_key(constant, limit)
    assert (left < right) == (value < constant)
    assert (left == right) == (value == constant)


def test_classify() -> None:
    assert classify(None) == ("-", None)
    assert classify(True) == ("b", 1)
    assert classify(1) == classify(1.0) == ("n", number_key(1.0))
    assert classify(10**400)[0] == "n"  # beyond a double: compares as infinity
    assert classify(math.nan) == ("o", None)
    assert classify([1]) == ("o", None)
    assert classify(dt.date(2021, 3, 4)) == ("s", "2021-03-04")
