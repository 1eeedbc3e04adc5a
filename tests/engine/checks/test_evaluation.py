"""``engine.checks.evaluation``: which measures apply to a subject for a matter on a day.

Unit tests on a ``State`` and a compiled ``PolicyRuntime`` built in code (no database); the
rules they pin are docs/api.md#hits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest

from engine.checks.evaluation import (
    Evaluation,
    Via,
    counterparts,
    evaluate,
    measure_end,
    propagates,
)
from engine.policy.runtime import PolicyRuntime
from engine.state import RoleHolding
from measures.bundle import Measure
from measures.schema import Effect, Propagation, SubjectKind
from tests.engine.builders import (
    LEGAL,
    PRINCIPAL,
    Log,
    compiled_policy,
    make_bundle,
    measure,
    memorandum,
)

D = dt.date(2025, 1, 1)
DAY = dt.date(2026, 11, 22)
LISTS: dict[str, dict[str, Any]] = {
    "debtor": {"kind": "black"},
    "penalty": {"kind": "record"},
    "a_grade": {"kind": "red"},
    "watch": {"kind": "black"},
}


RED = memorandum("a-grade", "a_grade", [measure("green-lane", "incentive")], kind="incentive")
"""An incentive memorandum: entries on the red list ``a_grade`` give the ``green-lane`` hit."""


def _with_incentive(log: Log, subject_id: str, start: dt.date = D) -> None:
    log.entry("a_grade", subject_id, start)


def day(offset: int) -> dt.date:
    return D + dt.timedelta(days=offset)


@contextmanager
def policy(
    *memoranda: Mapping[str, Any], settings: Mapping[str, Any] | None = None
) -> Iterator[PolicyRuntime]:
    with compiled_policy(make_bundle(memoranda, lists=LISTS, settings=settings)) as runtime:
        yield runtime


def to_persons(*roles: str, at: str = "decision") -> dict[str, Any]:
    return {"to": "persons", "roles": list(roles), "role_held_at": at}


def to_orgs(*roles: str, at: str = "decision") -> dict[str, Any]:
    return {"to": "orgs", "roles": list(roles), "role_held_at": at}


def hits(evaluation: Evaluation) -> list[tuple[str, str, str | None]]:
    """(measure id, entry id, via subject id) of every hit, in order."""
    return [
        (hit.measure.id, hit.entry.id, None if hit.via is None else hit.via.subject_id)
        for hit in evaluation.hits
    ]


def check(
    log: Log, runtime: PolicyRuntime, subject_id: str, matter: str = "bidding", on: dt.date = DAY
) -> Evaluation:
    return evaluate(log.state, runtime, subject_id=subject_id, matter=matter, day=on)


# --- own entries ---------------------------------------------------------------------------


def test_an_unregistered_subject_is_unknown_even_with_entries_on_its_id() -> None:
    log = Log()
    log.entry("debtor", "org-a", D)  # an entry without a subject_upserted event
    with policy(memorandum("m", "debtor", [measure("p", "prohibit")])) as runtime:
        evaluation = check(log, runtime, "org-a")
    assert evaluation == Evaluation(
        known_subject=False, subject_kind=None, hits=(), incentives_withheld=False
    )
    assert evaluation.outcome == evaluation.binding_outcome == "clear"


def test_own_hits_are_the_measures_for_the_matter_and_the_subjects_kind() -> None:
    log = Log()
    log.subject("org-a", "org")
    log.subject("person-p", "person")
    org_entry = log.entry("debtor", "org-a", D)
    person_entry = log.entry("debtor", "person-p", D)
    memo = memorandum(
        "m",
        "debtor",
        [
            measure("bid-prohibit", "prohibit", mandatory=True),
            measure("fin-restrict", "restrict", matters=["financing"]),
            measure("bid-review-persons", "review", subject_kinds=["person"]),
            measure("both-notice", "notice", matters=["bidding", "financing"]),
        ],
    )
    with policy(memo) as runtime:
        bidding = check(log, runtime, "org-a")
        financing = check(log, runtime, "org-a", "financing")
        person = check(log, runtime, "person-p")
    assert bidding.known_subject and bidding.subject_kind is SubjectKind.org
    assert hits(bidding) == [
        ("bid-prohibit", org_entry.id, None),
        ("both-notice", org_entry.id, None),
    ]
    assert (bidding.outcome, bidding.binding_outcome) == ("prohibit", "prohibit")
    assert hits(financing) == [
        ("fin-restrict", org_entry.id, None),
        ("both-notice", org_entry.id, None),
    ]
    assert (financing.outcome, financing.binding_outcome) == ("restrict", "clear")
    assert hits(person) == [
        ("bid-prohibit", person_entry.id, None),
        ("bid-review-persons", person_entry.id, None),
        ("both-notice", person_entry.id, None),
    ]
    assert [hit.until for hit in person.hits] == [None, None, None]


@pytest.mark.parametrize(
    ("on", "in_force"),
    [(day(-1), False), (day(0), True), (day(364), True), (day(365), False)],
)
def test_an_entry_gives_hits_from_effective_from_until_the_day_before_effective_to(
    on: dt.date, in_force: bool
) -> None:
    log = Log()
    log.subject("org-a", "org")
    entry = log.entry("debtor", "org-a", day(0), day(365))
    with policy(memorandum("m", "debtor", [measure("p", "prohibit")])) as runtime:
        evaluation = check(log, runtime, "org-a", on=on)
    assert hits(evaluation) == ([("p", entry.id, None)] if in_force else [])
    assert evaluation.outcome == ("prohibit" if in_force else "clear")


@pytest.mark.parametrize("status_change", ["revoke", "object_to", "repair"])
def test_an_entry_that_is_not_active_gives_no_hits(status_change: str) -> None:
    log = Log()
    log.subject("org-a", "org")
    entry = log.entry("debtor", "org-a", D)
    getattr(log, status_change)(entry)
    with policy(memorandum("m", "debtor", [measure("p", "prohibit")])) as runtime:
        evaluation = check(log, runtime, "org-a")
    assert evaluation.known_subject
    assert evaluation.hits == ()
    assert evaluation.outcome == "clear"


# --- order ---------------------------------------------------------------------------------


def test_hits_are_ordered_by_effect_mandatory_memorandum_and_position() -> None:
    log = Log()
    log.subject("org-a", "org")
    log.entry("debtor", "org-a", D)
    later_in_bundle_but_first_by_id = memorandum(
        "m-a",
        "debtor",
        [measure("a-review", "review"), measure("a-prohibit", "prohibit")],
    )
    first_in_bundle = memorandum(
        "m-b",
        "debtor",
        [
            measure("b-notice", "notice"),
            measure("b-restrict-recommended", "restrict"),
            measure("b-restrict-mandatory", "restrict", mandatory=True),
            measure("b-z-review", "review"),  # position 3: before b-a-review, whatever its id
            measure("b-a-review", "review"),
        ],
    )
    with policy(first_in_bundle, later_in_bundle_but_first_by_id) as runtime:
        evaluation = check(log, runtime, "org-a")
    assert [hit.measure.id for hit in evaluation.hits] == [
        "a-prohibit",
        "b-restrict-mandatory",
        "b-restrict-recommended",
        "a-review",
        "b-z-review",
        "b-a-review",
        "b-notice",
    ]
    assert [hit.position for hit in evaluation.hits] == [1, 2, 1, 0, 3, 4, 0]
    assert (evaluation.outcome, evaluation.binding_outcome) == ("prohibit", "restrict")


def test_hits_of_one_measure_follow_the_entries_registration_order_own_or_propagated() -> None:
    log = Log()
    log.subject("person-p", "person")
    for org in ("org-b", "org-a"):
        log.subject(org, "org")
        log.relation(org, "person-p")
    from_b = log.entry("debtor", "org-b", day(30))
    from_a = log.entry("debtor", "org-a", day(20))
    own_first = log.entry("debtor", "person-p", day(10))
    own_second = log.entry("debtor", "person-p", day(0))  # earlier start, registered later
    memo = memorandum("m", "debtor", [measure("p", "prohibit", propagate=[to_persons(LEGAL)])])
    with policy(memo) as runtime:
        evaluation = check(log, runtime, "person-p")
    assert hits(evaluation) == [
        ("p", from_b.id, "org-b"),
        ("p", from_a.id, "org-a"),
        ("p", own_first.id, None),
        ("p", own_second.id, None),
    ]
    assert [hit.via for hit in evaluation.hits[:2]] == [
        Via("org", "org-b", LEGAL),
        Via("org", "org-a", LEGAL),
    ]


def test_an_entry_reaching_a_subject_through_two_roles_gives_one_hit_per_measure() -> None:
    log = Log()
    log.subject("org-a", "org")
    log.subject("person-p", "person")
    log.relation("org-a", "person-p", PRINCIPAL)
    log.relation("org-a", "person-p", LEGAL)
    log.relation("org-a", "person-p", LEGAL, start=dt.date(2010, 1, 1), end=dt.date(2015, 1, 1))
    entry = log.entry("debtor", "org-a", D)
    memo = memorandum(
        "m", "debtor", [measure("p", "prohibit", propagate=[to_persons(LEGAL, PRINCIPAL)])]
    )
    with policy(memo) as runtime:
        evaluation = check(log, runtime, "person-p")
    assert hits(evaluation) == [("p", entry.id, "org-a")]
    # The first holding in the graph's order (org, person, role, start) names the role.
    assert evaluation.hits[0].via == Via("org", "org-a", LEGAL)


# --- propagation ---------------------------------------------------------------------------


def test_to_persons_reaches_role_holders_of_a_listed_org_whatever_the_measures_kinds() -> None:
    log = Log()
    log.subject("org-a", "org")
    for person in ("person-legal", "person-principal", "person-unrelated"):
        log.subject(person, "person")
    log.relation("org-a", "person-legal", LEGAL)
    log.relation("org-a", "person-principal", PRINCIPAL)
    entry = log.entry("debtor", "org-a", D)
    memo = memorandum(
        "m",
        "debtor",
        [
            # subject_kinds [org] does not restrict propagation (docs/policy-format.md).
            measure("orgs-only", "prohibit", subject_kinds=["org"], propagate=[to_persons(LEGAL)]),
            measure("not-propagated", "restrict"),
            measure("other-matter", "review", matters=["financing"], propagate=[to_persons(LEGAL)]),
            measure("to-orgs", "notice", propagate=[to_orgs(LEGAL)]),
        ],
    )
    with policy(memo) as runtime:
        legal = check(log, runtime, "person-legal")
        principal = check(log, runtime, "person-principal")
        unrelated = check(log, runtime, "person-unrelated")
        listed = check(log, runtime, "org-a")
    assert hits(legal) == [("orgs-only", entry.id, "org-a")]
    assert legal.hits[0].via is not None
    assert legal.hits[0].via.to_dict() == {"org_id": "org-a", "role": LEGAL}
    assert hits(principal) == hits(unrelated) == []
    assert [hit.measure.id for hit in listed.hits] == ["orgs-only", "not-propagated", "to-orgs"]


def test_to_orgs_reaches_orgs_where_a_listed_person_holds_a_role() -> None:
    log = Log()
    log.subject("person-p", "person")
    log.subject("org-a", "org")
    log.subject("org-b", "org")
    log.relation("org-a", "person-p", LEGAL)
    log.relation("org-b", "person-p", PRINCIPAL)
    entry = log.entry("debtor", "person-p", D)
    memo = memorandum(
        "m",
        "debtor",
        [
            measure("to-orgs", "restrict", propagate=[to_orgs(LEGAL)]),
            measure("to-persons", "prohibit", propagate=[to_persons(LEGAL)]),
        ],
    )
    with policy(memo) as runtime:
        org_a = check(log, runtime, "org-a")
        org_b = check(log, runtime, "org-b")
    assert hits(org_a) == [("to-orgs", entry.id, "person-p")]
    assert org_a.hits[0].via is not None
    assert org_a.hits[0].via.to_dict() == {"person_id": "person-p", "role": LEGAL}
    assert org_a.outcome == "restrict"
    assert hits(org_b) == []


@pytest.mark.parametrize(
    ("at", "reached"),
    [("decision", ["person-then"]), ("check", ["person-now"])],
)
def test_role_held_at_decision_or_check(at: str, reached: list[str]) -> None:
    log = Log()
    log.subject("org-a", "org")
    for person in ("person-then", "person-now"):
        log.subject(person, "person")
    log.relation("org-a", "person-then", LEGAL, start=day(-365), end=day(59))
    log.relation("org-a", "person-now", LEGAL, start=day(60))
    log.entry("debtor", "org-a", day(0), decided_on=day(59))
    memo = memorandum(
        "m", "debtor", [measure("p", "prohibit", propagate=[to_persons(LEGAL, at=at)])]
    )
    with policy(memo) as runtime:
        got = [p for p in ("person-then", "person-now") if check(log, runtime, p).hits]
    assert got == reached


def test_a_propagated_hit_or_block_needs_the_entry_in_force_on_the_day() -> None:
    log = Log()
    log.subject("org-a", "org")
    log.subject("person-p", "person")
    log.relation("org-a", "person-p", LEGAL)
    entry = log.entry("debtor", "org-a", day(0), day(100))
    revoked = log.entry("debtor", "org-a", day(-50))
    log.revoke(revoked)
    _with_incentive(log, "person-p", day(-365))
    memo = memorandum("m", "debtor", [measure("p", "prohibit", propagate=[to_persons(LEGAL)])])
    with policy(memo, RED) as runtime:
        in_force = check(log, runtime, "person-p", on=day(99))
        before = check(log, runtime, "person-p", on=day(-1))
        after = check(log, runtime, "person-p", on=day(100))
    assert hits(in_force) == [("p", entry.id, "org-a")]
    assert in_force.incentives_withheld
    for evaluation in (before, after):
        assert [hit.measure.id for hit in evaluation.hits] == ["green-lane"]
        assert not evaluation.incentives_withheld


# --- propagates and counterparts -------------------------------------------------------------


def _measure(*rules: dict[str, Any]) -> Measure:
    return Measure(
        id="m1",
        memorandum_id="m",
        text="m1",
        effect=Effect.notice,
        mandatory=False,
        matters=("bidding",),
        implementing=("court",),
        legal_basis=None,
        subject_kinds=(SubjectKind.org, SubjectKind.person),
        duration_days=None,
        propagate=tuple(Propagation.model_validate(rule) for rule in rules),
    )


HOLDING = RoleHolding("org-a", "person-p", LEGAL, day(10), day(20))


@pytest.mark.parametrize(
    ("rules", "via_kind", "decided_on", "on", "expected"),
    [
        # role_held_at decision: held on decided_on; the check's day does not matter
        ([to_persons(LEGAL)], "org", day(10), day(500), True),
        ([to_persons(LEGAL)], "org", day(20), day(500), True),
        ([to_persons(LEGAL)], "org", day(9), day(15), False),
        ([to_persons(LEGAL)], "org", day(21), day(15), False),
        # role_held_at check: held on the check's day; the decision day does not matter
        ([to_persons(LEGAL, at="check")], "org", day(0), day(10), True),
        ([to_persons(LEGAL, at="check")], "org", day(15), day(21), False),
        # direction: "org" (a person checked) needs to: persons, "person" needs to: orgs
        ([to_persons(LEGAL)], "person", day(15), day(15), False),
        ([to_orgs(LEGAL)], "person", day(15), day(15), True),
        ([to_orgs(LEGAL)], "org", day(15), day(15), False),
        # the role must be named; one matching rule of several is enough
        ([to_persons(PRINCIPAL)], "org", day(15), day(15), False),
        ([to_persons(PRINCIPAL), to_persons(LEGAL, at="check")], "org", day(0), day(15), True),
        ([], "org", day(15), day(15), False),
    ],
)
def test_propagates(
    rules: list[dict[str, Any]], via_kind: str, decided_on: dt.date, on: dt.date, expected: bool
) -> None:
    log = Log()
    entry = log.new_entry("debtor", "org-a", day(0), decided_on=decided_on)
    assert propagates(_measure(*rules), via_kind, HOLDING, entry, on) is expected


def test_counterparts_are_the_other_side_of_each_holding_by_the_checked_kind() -> None:
    log = Log()
    log.relation("org-a", "person-p", LEGAL)
    log.relation("org-a", "person-q", PRINCIPAL)
    log.relation("org-b", "person-p", PRINCIPAL, start=D)
    of_person = counterparts(log.state, "person-p", SubjectKind.person)
    of_org = counterparts(log.state, "org-a", SubjectKind.org)
    assert [(other, via) for _holding, other, via in of_person] == [
        ("org-a", Via("org", "org-a", LEGAL)),
        ("org-b", Via("org", "org-b", PRINCIPAL)),
    ]
    assert [h.start for h, _other, _via in of_person] == [dt.date(2020, 1, 1), D]
    assert [(other, via) for _holding, other, via in of_org] == [
        ("person-p", Via("person", "person-p", LEGAL)),
        ("person-q", Via("person", "person-q", PRINCIPAL)),
    ]
    # A subject is looked up on its own side only.
    assert counterparts(log.state, "person-p", SubjectKind.org) == []
    assert counterparts(log.state, "org-a", SubjectKind.person) == []
    assert counterparts(log.state, "nobody", SubjectKind.org) == []


# --- duration and until --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effective_from", "effective_to", "duration_days", "end"),
    [
        (D, None, None, None),
        (D, day(365), None, day(365)),
        (D, None, 30, day(30)),
        (D, day(10), 30, day(10)),
        (D, day(30), 30, day(30)),
        (D, day(365), 30, day(30)),
        # past the end of the calendar: no end from the duration
        (dt.date(9999, 12, 1), None, 60, None),
        (dt.date(9999, 12, 1), dt.date(9999, 12, 20), 60, dt.date(9999, 12, 20)),
        (dt.date(9999, 12, 1), None, 30, dt.date(9999, 12, 31)),
    ],
)
def test_measure_end_is_the_earlier_of_effective_to_and_the_duration(
    effective_from: dt.date,
    effective_to: dt.date | None,
    duration_days: int | None,
    end: dt.date | None,
) -> None:
    entry = Log().new_entry("debtor", "org-a", effective_from, effective_to)
    timed = Measure(**{**_fields(_measure()), "duration_days": duration_days})
    assert measure_end(timed, entry) == end


def _fields(value: Measure) -> dict[str, Any]:
    return {name: getattr(value, name) for name in Measure.__dataclass_fields__}


def test_a_measure_with_a_duration_ends_before_its_entry() -> None:
    log = Log()
    log.subject("org-a", "org")
    log.subject("person-p", "person")
    log.relation("org-a", "person-p", LEGAL)
    entry = log.entry("debtor", "org-a", D, day(365))
    memo = memorandum(
        "m",
        "debtor",
        [
            measure("thirty-days", "prohibit", duration_days=30, propagate=[to_persons(LEGAL)]),
            measure("whole-entry", "notice", propagate=[to_persons(LEGAL)]),
        ],
    )
    with policy(memo) as runtime:
        last_day = check(log, runtime, "org-a", on=day(29))
        after = check(log, runtime, "org-a", on=day(30))
        propagated = check(log, runtime, "person-p", on=day(29))
        entry_end = check(log, runtime, "org-a", on=day(364))
    assert [(h.measure.id, h.until) for h in last_day.hits] == [
        ("thirty-days", day(29)),
        ("whole-entry", day(364)),
    ]
    assert [(h.measure.id, h.until) for h in after.hits] == [("whole-entry", day(364))]
    assert after.outcome == "notice"
    assert [(h.measure.id, h.until) for h in propagated.hits] == [
        ("thirty-days", day(29)),
        ("whole-entry", day(364)),
    ]
    assert [(h.measure.id, h.entry.id, h.until) for h in entry_end.hits] == [
        ("whole-entry", entry.id, day(364))
    ]


# --- incentives ----------------------------------------------------------------------------


def test_an_incentive_hit_stands_when_nothing_blocks_it() -> None:
    log = Log()
    log.subject("org-a", "org")
    _with_incentive(log, "org-a")
    log.entry("penalty", "org-a", D)  # a record list: not in incentives_blocked_by
    with policy(RED, memorandum("m", "penalty", [measure("n", "notice")])) as runtime:
        evaluation = check(log, runtime, "org-a")
    assert [hit.measure.id for hit in evaluation.hits] == ["n", "green-lane"]
    assert not evaluation.incentives_withheld
    assert (evaluation.outcome, evaluation.binding_outcome) == ("notice", "clear")


def test_an_own_black_entry_in_force_withholds_incentives_even_without_memoranda() -> None:
    log = Log()
    log.subject("org-a", "org")
    _with_incentive(log, "org-a")
    log.entry("watch", "org-a", D)  # no memorandum is triggered by "watch"
    with policy(RED) as runtime:
        evaluation = check(log, runtime, "org-a")
        before = check(log, runtime, "org-a", on=day(-1))
    assert evaluation.hits == ()
    assert evaluation.incentives_withheld
    assert evaluation.outcome == "clear"
    # Before either entry is in force: nothing at all.
    assert (before.hits, before.incentives_withheld) == ((), False)


def test_a_black_entry_not_in_force_withholds_nothing() -> None:
    log = Log()
    log.subject("org-a", "org")
    _with_incentive(log, "org-a")
    ended = log.entry("debtor", "org-a", D, day(10))
    revoked = log.entry("debtor", "org-a", D)
    log.revoke(revoked)
    with policy(RED) as runtime:
        evaluation = check(log, runtime, "org-a", on=day(10))
    assert ended.id != revoked.id
    assert [hit.measure.id for hit in evaluation.hits] == ["green-lane"]
    assert not evaluation.incentives_withheld
    assert evaluation.outcome == "incentive"


def test_incentives_blocked_by_names_the_list_kinds_that_block() -> None:
    log = Log()
    log.subject("org-a", "org")
    _with_incentive(log, "org-a")
    log.entry("penalty", "org-a", D)
    with policy(RED, settings={"incentives_blocked_by": ["black", "record"]}) as runtime:
        evaluation = check(log, runtime, "org-a")
    assert evaluation.hits == ()
    assert evaluation.incentives_withheld


@pytest.mark.parametrize(
    ("propagate", "role", "withheld"),
    [
        # reaching for another matter is enough: withholding does not depend on the matter
        ([to_persons(LEGAL)], LEGAL, True),
        ([], LEGAL, False),
        ([to_persons(LEGAL)], PRINCIPAL, False),
        ([to_orgs(LEGAL)], LEGAL, False),
    ],
)
def test_a_related_black_entry_withholds_incentives_when_one_of_its_measures_reaches(
    propagate: list[dict[str, Any]], role: str, withheld: bool
) -> None:
    log = Log()
    log.subject("org-a", "org")
    log.subject("person-p", "person")
    log.relation("org-a", "person-p", role)
    log.entry("debtor", "org-a", D)
    _with_incentive(log, "person-p")
    memo = memorandum(
        "m", "debtor", [measure("fin", "restrict", matters=["financing"], propagate=propagate)]
    )
    with policy(RED, memo) as runtime:
        evaluation = check(log, runtime, "person-p")
    assert evaluation.incentives_withheld is withheld
    assert [hit.measure.id for hit in evaluation.hits] == ([] if withheld else ["green-lane"])
    assert evaluation.outcome == ("clear" if withheld else "incentive")


def test_withheld_incentives_leave_the_other_hits() -> None:
    log = Log()
    log.subject("org-a", "org")
    _with_incentive(log, "org-a")
    entry = log.entry("debtor", "org-a", D)
    with policy(RED, memorandum("m", "debtor", [measure("r", "review")])) as runtime:
        evaluation = check(log, runtime, "org-a")
    assert hits(evaluation) == [("r", entry.id, None)]
    assert evaluation.incentives_withheld
    assert evaluation.outcome == "review"
