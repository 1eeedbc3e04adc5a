"""Values a database would refuse (a 500) or change (NaN becoming null) are a 422, field named."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tests.api.conftest import Running, auth
from tests.api.test_entries_endpoints import ORG, djd


def _post(running: Running, path: str, body: Any, who: str) -> Any:
    # json.dumps writes NaN and Infinity as a lenient client would; \x00 becomes \u0000.
    headers = {**auth(who), "Content-Type": "application/json"}
    return running.client.post(path, content=json.dumps(body), headers=headers)


@pytest.mark.parametrize(
    ("path", "body", "who", "field"),
    [
        ("/v1/entries", djd(attributes={"amount": math.nan}), "court", "attributes"),
        ("/v1/entries", djd(attributes={"a": {"b": [math.inf]}}), "court", "attributes"),
        ("/v1/entries", djd(attributes={"note": "a\x00b"}), "court", "attributes"),
        ("/v1/entries", djd(doc_no="D\x001"), "court", "doc_no"),
        (
            "/v1/subjects",
            [{"id": ORG, "kind": "org", "name": "a\x00"}],
            "registrar",
            "items[0].name",
        ),
        (
            "/v1/checks",
            {"subject_id": ORG, "matter": "bidding", "reference": "\x00"},
            "finance",
            "reference",
        ),
    ],
    ids=[
        "nan",
        "nested-infinity",
        "nul-in-attribute",
        "nul-in-doc-no",
        "nul-in-name",
        "nul-in-reference",
    ],
)
def test_unstorable_values_are_refused(
    running: Running, path: str, body: Any, who: str, field: str
) -> None:
    response = _post(running, path, body, who)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert running.service.state.entries == {}


def test_lifecycle_texts_refuse_nul(running: Running) -> None:
    entry_id = _post(running, "/v1/entries", djd(), "court").json()["entry"]["id"]
    response = _post(running, f"/v1/entries/{entry_id}/objection", {"reason": "x\x00"}, "admin")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "reason"
