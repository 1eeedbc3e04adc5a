"""``canonical_record`` writes the record field by field: byte for byte what json.dumps gives."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.decisions.canonical import canonical_record, dumps_sorted, encode_json, normalise_json

AWKWARD_TEXTS = ['引号"与\\反斜杠', "tab\tnew\nline\r\x01\x1f", "\u2028\u2029 é 😀", "", "a" * 300]


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_every_text_field_is_escaped_as_json_dumps_escapes_it(text: str) -> None:
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    fields = {
        "seq": 12345678901,
        "decision_id": text,
        "caller": text,
        "department": text,
        "subject_id": text,
        "matter": text,
        "policy_version": text,
        "event_seq": 0,
        "prev_hash": text,
    }
    request, response = {"k": text}, {"hits": [{"t": text}], "n": 2}
    record = canonical_record(
        decided_at=moment,
        request_json=encode_json(request),
        response_json=encode_json(response),
        **fields,
    )
    whole = {
        **fields,
        "decided_at": "2026-01-02T03:04:05.000006+00:00",
        "request": request,
        "response": response,
    }
    expected = json.dumps(whole, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert record == expected.encode("utf-8")


def _by_json_dumps(value: object) -> str:
    return dumps_sorted(normalise_json(value))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_encode_json_writes_what_json_dumps_writes(value: object) -> None:
    """orjson writes the canonical text (engine/decisions/canonical.py): byte for byte what
    ``json.dumps`` of the normalised value gives, floats and integers of every size included."""
    assert encode_json({"v": value}) == _by_json_dumps({"v": value})


@pytest.mark.parametrize(
    "value",
    [1e-05, 1.5e-07, 1e16, 1.2345e20, -0.0, 0.1, 1 / 3, 5e-324, 1.7976931348623157e308,
     2**63, -(2**63) - 1, 10**30, [1.0, 2.5, {"x": 1e-7}], "\x7f\u2028\ud7ff\ue000"],
)  # fmt: skip
def test_encode_json_on_the_forms_orjson_writes_otherwise(value: object) -> None:
    assert encode_json({"v": value}) == _by_json_dumps({"v": value})
