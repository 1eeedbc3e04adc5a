"""``engine.checks.normalized_request``: which ids a check accepts, and what it says of others."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from engine.checks import CheckRequest, normalized_request
from engine.checks.decide import new_decision_id
from engine.errors import InvalidRequest
from engine.registry.identifiers import subject_id_problem
from engine.timing import CHINA
from measures.schema import SubjectKind
from tests.engine.registry.test_registry import ambiguous_id, org, person, wrong_check

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=CHINA)
MATTERS = {"bidding": "招标投标"}


def normalise(subject_id: str) -> dict[str, object]:
    request = CheckRequest(subject_id=subject_id, matter="bidding")
    return normalized_request(request, vocabulary_matters=MATTERS, now=NOW)


@pytest.mark.parametrize("subject_id", [org(1), person(1), ambiguous_id(), org(2).lower()])
def test_an_id_valid_as_either_kind_is_accepted_upper_cased(subject_id: str) -> None:
    assert normalise(subject_id)["subject_id"] == subject_id.upper()


@pytest.mark.parametrize("subject_id", [wrong_check(org(1)), wrong_check(person(1)), "12345"])
def test_an_id_valid_as_neither_names_both_problems_org_first(subject_id: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        normalise(subject_id)
    [detail] = raised.value.details
    assert detail["field"] == "subject_id"
    org_problem = subject_id_problem(SubjectKind.org, subject_id)
    person_problem = subject_id_problem(SubjectKind.person, subject_id)
    # The same wording as GET /v1/subjects/{id} (one implementation): a problem both kinds
    # share is said once, others are named by kind.
    expected = (
        org_problem
        if org_problem == person_problem
        else f"as a 统一社会信用代码: {org_problem}; as a 公民身份号码: {person_problem}"
    )
    assert detail["message"] == expected


def test_decision_ids_are_canonical_uuid7s_in_the_order_they_were_made() -> None:
    ids = [new_decision_id() for _ in range(2000)]
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 7 for i in ids)
    # Time-ordered: each lands at the end of the decision_id index (docs/performance.md).
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
