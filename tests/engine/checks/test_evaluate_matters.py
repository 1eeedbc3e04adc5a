"""``evaluate_matters``: one walk per subject answers every matter exactly as ``evaluate`` does.

The state is realistic: the shipped bundle, entries on every list (black, red and record;
the tax list's condition on both sides of its threshold), entries revoked, expired or not yet
in force, persons holding every role in listed orgs, tenures that ended before or began after
a decision, and listed persons who hold roles in orgs (reverse propagation, incentives
withheld through a role). Every subject is evaluated for every matter of the vocabulary, on
several days.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from engine.checks.evaluation import evaluate, evaluate_matters
from engine.settings import SHIPPED_POLICY_DIR
from measures.loader import load_bundle
from tests.engine.builders import Log, compiled_policy

DAYS = (dt.date(2024, 6, 1), dt.date(2026, 3, 1), dt.date(2026, 6, 1))


def _state(seed: int) -> Log:
    rng = random.Random(seed)
    bundle = load_bundle(SHIPPED_POLICY_DIR)
    lists = sorted(bundle.vocabulary.lists)
    roles = sorted(bundle.vocabulary.roles)
    log = Log()
    orgs = [log.subject(f"org-{i:03d}", "org") for i in range(60)]
    persons = [log.subject(f"person-{i:03d}", "person") for i in range(60)]
    for _ in range(150):
        org, person = rng.choice(orgs), rng.choice(persons)
        start = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(0, 2400))
        end = rng.choice([None, start + dt.timedelta(days=rng.randrange(30, 900))])
        log.relation(org, person, rng.choice(roles), start, end)
    tax = [
        {"category": "tax_evasion", "unpaid_tax_amount": 1_000_000, "unpaid_tax_ratio": 0.1},
        {"category": "tax_evasion", "unpaid_tax_amount": 999_999, "unpaid_tax_ratio": 0.5},
        {"category": "absconding"},
        {},
    ]
    for _ in range(160):
        code = rng.choice(lists)
        subject = rng.choice(orgs + persons)
        start = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(0, 1300))
        end = rng.choice([None, start + dt.timedelta(days=rng.randrange(60, 1200))])
        attributes = rng.choice(tax) if code == "major_tax_violation" else {}
        entry = log.entry(code, subject, start, end, attributes=attributes)
        if rng.random() < 0.1:
            log.revoke(entry)
    return log


@pytest.mark.parametrize("seed", [1, 2])
def test_one_walk_equals_evaluate_for_every_subject_and_matter(seed: int) -> None:
    log = _state(seed)
    bundle = load_bundle(SHIPPED_POLICY_DIR)
    matters = sorted(bundle.vocabulary.matters)
    compared = hits = via = withheld = 0
    with compiled_policy(bundle) as runtime:
        for day in DAYS:
            for subject_id in [*sorted(log.state.subjects), "unknown-subject"]:
                answers = evaluate_matters(
                    log.state, runtime, subject_id=subject_id, matters=matters, day=day
                )
                assert list(answers) == matters
                for matter in matters:
                    one = evaluate(
                        log.state, runtime, subject_id=subject_id, matter=matter, day=day
                    )
                    assert answers[matter] == one, (subject_id, matter, day)
                    compared += 1
                    hits += len(one.hits)
                    via += sum(hit.via is not None for hit in one.hits)
                    withheld += one.incentives_withheld
    # The state is not trivial: many answers have hits, some through roles, some withheld.
    assert compared == len(DAYS) * 121 * len(matters)
    assert hits > 500 and via > 20 and withheld > 50


def test_a_matter_asked_twice_is_answered_once_and_explain_needs_one_matter() -> None:
    log = _state(3)
    bundle = load_bundle(SHIPPED_POLICY_DIR)
    with compiled_policy(bundle) as runtime:
        subject = sorted(log.state.subjects)[0]
        answers = evaluate_matters(
            log.state, runtime, subject_id=subject, matters=["bidding", "bidding"], day=DAYS[-1]
        )
        assert list(answers) == ["bidding"]
        with pytest.raises(ValueError, match="exactly one matter"):
            evaluate_matters(
                log.state,
                runtime,
                subject_id=subject,
                matters=["bidding", "honours"],
                day=DAYS[-1],
                explain=True,
            )
