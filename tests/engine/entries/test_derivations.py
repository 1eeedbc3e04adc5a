"""``engine.entries.derivations.derive``: which entries a new entry derives (README, Derivations).

Unit tests on a ``State`` built in code and a compiled policy (the rule engine evaluates the
``at_least`` threshold, as in the service); no database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

from engine.entries.derivations import MAX_DEPTH, SYSTEM_DEPARTMENT, derive
from engine.policy.runtime import PolicyRuntime
from engine.state import Entry, EntryStatus
from measures.bundle import Bundle
from measures.schema import SubjectKind
from tests.engine.builders import Log, compiled_policy, make_bundle

DAY = dt.date(2025, 3, 1)
"""The new entry's effective_from in most tests."""

LISTS: dict[str, dict[str, Any]] = {
    "penalty": {"kind": "record"},
    "serious": {"kind": "black", "default_duration_days": 365},
    "very_serious": {"kind": "black"},
    "open_ended": {"kind": "black"},
}
THREE_IN_30_DAYS = {
    "id": "repeat-penalties",
    "from_list": "penalty",
    "at_least": 3,
    "within_days": 30,
    "derive_list": "serious",
}
TWO_SERIOUS_IN_A_YEAR = {
    "id": "repeat-serious",
    "from_list": "serious",
    "at_least": 2,
    "within_days": 365,
    "derive_list": "very_serious",
    "duration_days": 100,
}


def days_before(n: int) -> dt.date:
    return DAY - dt.timedelta(days=n)


class Policy:
    def __init__(self, bundle: Bundle, runtime: PolicyRuntime) -> None:
        self.bundle = bundle
        self.runtime = runtime

    def derive(self, log: Log, entry: Entry) -> list[Entry]:
        return derive(log.state, self.bundle, self.runtime, entry)


@contextmanager
def policy_of(derivations: Sequence[Mapping[str, Any]]) -> Iterator[Policy]:
    bundle = make_bundle([], lists=LISTS, derivations=derivations)
    with compiled_policy(bundle) as runtime:
        yield Policy(bundle, runtime)


@pytest.fixture
def policy() -> Iterator[Policy]:
    """Three penalties within 30 days derive ``serious``; two of those in a year derive more."""
    with policy_of([THREE_IN_30_DAYS, TWO_SERIOUS_IN_A_YEAR]) as both:
        yield both


@pytest.fixture
def log() -> Log:
    log = Log()
    log.subject("org-a", "org")
    log.subject("org-b", "org")
    return log


def penalties(log: Log, *starts: dt.date, subject_id: str = "org-a") -> list[Entry]:
    return [log.entry("penalty", subject_id, start) for start in starts]


def test_exactly_at_least_entries_derive_one_entry(policy: Policy, log: Log) -> None:
    sources = penalties(log, days_before(20), days_before(10))
    new = log.new_entry("penalty", "org-a", DAY)
    (derived,) = policy.derive(log, new)
    assert derived.list == "serious"
    assert derived.subject_id == "org-a"
    assert derived.subject_kind is SubjectKind.org
    assert derived.department == SYSTEM_DEPARTMENT == "system"
    assert derived.derivation_id == "repeat-penalties"
    assert derived.derived_from == tuple(sorted([*(s.id for s in sources), new.id]))
    assert derived.decided_on == derived.effective_from == DAY
    # No duration_days on the derivation: the derived list's default (365 days).
    assert derived.effective_to == DAY + dt.timedelta(days=365)
    assert derived.status is EntryStatus.active
    assert derived.doc_no == "派生:repeat-penalties"
    assert derived.reason == "依据派生规则 repeat-penalties:3 条penalty记录"
    assert derived.attributes == {}


def test_one_entry_short_derives_nothing(policy: Policy, log: Log) -> None:
    penalties(log, days_before(10))
    assert policy.derive(log, log.new_entry("penalty", "org-a", DAY)) == []


@pytest.mark.parametrize(
    ("oldest", "derives"),
    [
        (days_before(29), True),  # the window is the 30 days ending on the new entry's start
        (days_before(30), False),
    ],
)
def test_the_window_is_within_days_long_ending_on_the_new_entry(
    policy: Policy, log: Log, oldest: dt.date, derives: bool
) -> None:
    penalties(log, oldest, days_before(1))
    derived = policy.derive(log, log.new_entry("penalty", "org-a", DAY))
    assert len(derived) == (1 if derives else 0)


def test_only_entries_in_force_on_the_new_entrys_start_and_not_after_it_qualify(
    policy: Policy, log: Log
) -> None:
    penalties(log, days_before(10))
    ended = log.entry("penalty", "org-a", days_before(9), DAY)  # effective_to is exclusive
    revoked = log.entry("penalty", "org-a", days_before(8))
    log.revoke(revoked)
    objected = log.entry("penalty", "org-a", days_before(7))
    log.object_to(objected)
    penalties(log, DAY + dt.timedelta(days=1))  # starts after the new entry
    penalties(log, days_before(5), subject_id="org-b")  # another subject's
    log.entry("serious", "org-a", days_before(3))  # another list
    assert ended.effective_to == DAY
    assert policy.derive(log, log.new_entry("penalty", "org-a", DAY)) == []


def test_an_entry_counts_toward_one_derived_entry_only(policy: Policy, log: Log) -> None:
    first = penalties(log, days_before(9), days_before(8), days_before(7))
    log.entry(
        "serious",
        "org-a",
        days_before(7),
        derivation_id="repeat-penalties",
        derived_from=sorted(e.id for e in first),
        department="system",
    )
    # The fourth: three qualify by date, but those three derived already.
    assert policy.derive(log, log.new_entry("penalty", "org-a", days_before(6))) == []
    fresh = penalties(log, days_before(6), days_before(5))
    new = log.new_entry("penalty", "org-a", DAY)
    derived = policy.derive(log, new)
    assert [d.list for d in derived] == ["serious", "very_serious"]
    assert derived[0].derived_from == tuple(sorted([*(e.id for e in fresh), new.id]))


def test_a_revoked_derived_entry_frees_its_sources(policy: Policy, log: Log) -> None:
    first = penalties(log, days_before(9), days_before(8), days_before(7))
    earlier = log.entry(
        "serious",
        "org-a",
        days_before(7),
        derivation_id="repeat-penalties",
        derived_from=sorted(e.id for e in first),
        department="system",
    )
    log.revoke(earlier)
    new = log.new_entry("penalty", "org-a", DAY)
    (derived,) = policy.derive(log, new)
    assert derived.derived_from == tuple(sorted([*(e.id for e in first), new.id]))


def test_derived_entries_chain(policy: Policy, log: Log) -> None:
    standing = log.entry("serious", "org-a", days_before(200))
    penalties(log, days_before(2), days_before(1))
    new = log.new_entry("penalty", "org-a", DAY)
    serious, very_serious = policy.derive(log, new)
    assert (serious.list, serious.derivation_id) == ("serious", "repeat-penalties")
    assert (very_serious.list, very_serious.derivation_id) == ("very_serious", "repeat-serious")
    assert very_serious.derived_from == tuple(sorted([standing.id, serious.id]))
    assert very_serious.effective_from == DAY
    assert very_serious.effective_to == DAY + dt.timedelta(days=100)  # the derivation's own


def test_a_chain_stops_at_max_depth() -> None:
    loop = [
        {"id": "there", "from_list": "penalty", "at_least": 1, "within_days": 1,
         "derive_list": "serious"},
        {"id": "back", "from_list": "serious", "at_least": 1, "within_days": 1,
         "derive_list": "penalty"},
    ]  # fmt: skip
    log = Log()
    log.subject("org-a", "org")
    with policy_of(loop) as policy:
        derived = policy.derive(log, log.new_entry("penalty", "org-a", DAY))
    assert len(derived) == MAX_DEPTH == 8
    assert [d.list for d in derived[:3]] == ["serious", "penalty", "serious"]


def test_a_list_without_a_default_duration_derives_an_open_ended_entry(log: Log) -> None:
    two = {**THREE_IN_30_DAYS, "at_least": 2, "derive_list": "open_ended"}
    penalties(log, days_before(1))
    with policy_of([two]) as policy:
        (derived,) = policy.derive(log, log.new_entry("penalty", "org-a", DAY))
    assert derived.list == "open_ended"
    assert derived.effective_to is None


def test_a_derived_entry_whose_end_is_past_the_calendar_is_open_ended(
    policy: Policy, log: Log
) -> None:
    late = dt.date(9999, 12, 1)
    penalties(log, late, late)
    (derived,) = policy.derive(log, log.new_entry("penalty", "org-a", late))
    assert (derived.effective_from, derived.effective_to) == (late, None)


def test_an_entry_on_a_list_no_derivation_reads_derives_nothing(policy: Policy, log: Log) -> None:
    log.entry("very_serious", "org-a", days_before(1))
    assert policy.derive(log, log.new_entry("very_serious", "org-a", DAY)) == []
