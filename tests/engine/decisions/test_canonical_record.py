"""``canonical_record`` writes the record field by field: byte for byte what json.dumps gives."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from engine.decisions.canonical import canonical_record, encode_json

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
