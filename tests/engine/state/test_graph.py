from __future__ import annotations

import gc
import random
import threading
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.state.graph import CompactRoleGraph, RoleHolding, Row, holding_order

ORG = "91110000600037341L"
ORG2 = "91440300708461136T"
PERSON = "11010519491231002X"
PERSON2 = "440106198001010019"
LEGAL = "legal_representative"
PRINCIPAL = "principal"
BOTH = (LEGAL, PRINCIPAL)
D = date(2020, 1, 10)


def day(offset: int) -> date:
    return D + timedelta(days=offset)


@pytest.fixture
def graph() -> CompactRoleGraph:
    return CompactRoleGraph()


def test_period_boundaries(graph: CompactRoleGraph) -> None:
    graph.add(ORG, PERSON, LEGAL, D, day(10))
    held = [RoleHolding(ORG, PERSON, LEGAL, D, day(10))]
    assert graph.holders(ORG, BOTH, day(-1)) == []
    assert graph.holders(ORG, BOTH, D) == held
    assert graph.holders(ORG, BOTH, day(10)) == held
    assert graph.holders(ORG, BOTH, day(11)) == []
    assert graph.positions(PERSON, BOTH, day(-1)) == []
    assert graph.positions(PERSON, BOTH, day(10)) == held
    assert graph.positions(PERSON, BOTH, day(11)) == []


def test_open_end_is_held_from_start_on(graph: CompactRoleGraph) -> None:
    graph.add(ORG, PERSON, LEGAL, D, None)
    assert graph.holders(ORG, [LEGAL], day(-1)) == []
    assert graph.holders(ORG, [LEGAL], date(2100, 1, 1)) == [
        RoleHolding(ORG, PERSON, LEGAL, D, None)
    ]


def test_one_day_period(graph: CompactRoleGraph) -> None:
    graph.add(ORG, PERSON, LEGAL, D, D)
    assert [h.start for h in graph.holders(ORG, [LEGAL], D)] == [D]
    assert graph.holders(ORG, [LEGAL], day(1)) == []


def test_end_before_start_is_refused_and_nothing_is_stored(graph: CompactRoleGraph) -> None:
    with pytest.raises(ValueError, match="before start"):
        graph.add(ORG, PERSON, LEGAL, D, day(-1))
    with pytest.raises(ValueError):
        graph.load([(ORG, PERSON, LEGAL, D, None), (ORG, PERSON2, LEGAL, D, day(-1))])
    assert len(graph) == 0
    assert graph.relations_of(ORG) == []


def test_two_roles_in_one_org_are_both_kept(graph: CompactRoleGraph) -> None:
    graph.add(ORG, PERSON, PRINCIPAL, D, None)
    graph.add(ORG, PERSON, LEGAL, D, None)
    assert len(graph) == 2
    assert [h.role for h in graph.holders(ORG, BOTH, D)] == [LEGAL, PRINCIPAL]
    assert [h.role for h in graph.holders(ORG, {PRINCIPAL}, D)] == [PRINCIPAL]
    assert [h.role for h in graph.positions(PERSON, BOTH, D)] == [LEGAL, PRINCIPAL]
    assert graph.holders(ORG, ["director"], D) == []
    assert graph.holders(ORG, [], D) == []


def test_several_periods_of_one_role(graph: CompactRoleGraph) -> None:
    graph.add(ORG, PERSON, LEGAL, date(2020, 1, 1), None)
    graph.add(ORG, PERSON, LEGAL, date(2018, 1, 1), date(2018, 12, 31))
    assert len(graph) == 2
    assert [h.start.year for h in graph.relations_of(ORG)] == [2018, 2020]
    assert graph.holders(ORG, [LEGAL], date(2019, 6, 1)) == []
    assert [h.start.year for h in graph.holders(ORG, [LEGAL], date(2018, 6, 1))] == [2018]
    assert [h.start.year for h in graph.positions(PERSON, [LEGAL], date(2021, 1, 1))] == [2020]


def test_overlapping_periods_are_kept_as_registered(graph: CompactRoleGraph) -> None:
    graph.add(ORG, PERSON, LEGAL, date(2018, 1, 1), None)
    graph.add(ORG, PERSON, LEGAL, date(2019, 1, 1), date(2019, 12, 31))
    assert len(graph.holders(ORG, [LEGAL], date(2019, 6, 1))) == 2


def test_readding_the_same_start_replaces_the_end_on_both_sides(graph: CompactRoleGraph) -> None:
    assert graph.add(ORG, PERSON, LEGAL, D, None) is True
    assert graph.add(ORG, PERSON, LEGAL, D, day(30)) is False  # left office
    assert len(graph) == 1
    ended = [RoleHolding(ORG, PERSON, LEGAL, D, day(30))]
    assert graph.relations_of(ORG) == ended
    assert graph.relations_of(PERSON) == ended
    assert graph.holders(ORG, [LEGAL], day(31)) == []
    assert graph.positions(PERSON, [LEGAL], day(31)) == []
    assert graph.add(ORG, PERSON, LEGAL, D, None) is False  # a correction reopens it
    assert graph.positions(PERSON, [LEGAL], day(31)) == [RoleHolding(ORG, PERSON, LEGAL, D, None)]


def test_both_directions(graph: CompactRoleGraph) -> None:
    graph.add(ORG, PERSON, LEGAL, D, None)
    graph.add(ORG2, PERSON, PRINCIPAL, D, None)
    graph.add(ORG, PERSON2, PRINCIPAL, D, None)
    assert [h.person_id for h in graph.holders(ORG, BOTH, D)] == [PERSON, PERSON2]
    assert [h.org_id for h in graph.positions(PERSON, BOTH, D)] == [ORG, ORG2]
    assert [(h.org_id, h.person_id) for h in graph.relations_of(PERSON)] == [
        (ORG, PERSON),
        (ORG2, PERSON),
    ]


def test_unknown_ids_give_empty_answers(graph: CompactRoleGraph) -> None:
    graph.add(ORG, PERSON, LEGAL, D, None)
    assert graph.holders(ORG2, BOTH, D) == []
    assert graph.holders(PERSON, BOTH, D) == []  # a person is not an org
    assert graph.positions(PERSON2, BOTH, D) == []
    assert graph.positions(ORG, BOTH, D) == []
    assert graph.relations_of(ORG2) == []


def test_an_id_both_org_and_person_lists_each_holding_once(graph: CompactRoleGraph) -> None:
    both = PERSON2  # the graph does not know id formats
    graph.add(both, PERSON, LEGAL, D, None)
    graph.add(ORG, both, LEGAL, D, None)
    graph.add(both, both, PRINCIPAL, D, None)
    assert [(h.org_id, h.person_id) for h in graph.relations_of(both)] == [
        (both, PERSON),
        (both, both),
        (ORG, both),
    ]


def test_order_does_not_depend_on_insertion_order() -> None:
    rows: list[Row] = [
        (org, person, role, day(start), None)
        for org in (ORG, ORG2)
        for person in (PERSON, PERSON2)
        for role in BOTH
        for start in (0, 5)
    ]
    answers = []
    for seed in range(5):
        random.Random(seed).shuffle(rows)
        graph = CompactRoleGraph()
        for row in rows:
            graph.add(*row)
        answer = graph.holders(ORG, BOTH, day(6)) + graph.positions(PERSON, BOTH, day(6))
        answers.append(answer + graph.relations_of(PERSON2))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][:8] == sorted(answers[0][:8], key=holding_order)


def test_ids_roles_and_days_are_stored_once(graph: CompactRoleGraph) -> None:
    graph.add("".join(ORG), "".join(PERSON), "".join(LEGAL), date(2020, 1, 1), None)
    graph.add("".join(ORG), "".join(PERSON2), "".join(LEGAL), date(2020, 1, 1), None)
    graph.load([("".join(ORG2), "".join(PERSON2), "".join(LEGAL), date(2020, 1, 1), None)])
    a, b = graph.relations_of(ORG)
    (c,) = graph.relations_of(ORG2)
    assert a.org_id is b.org_id
    assert b.person_id is c.person_id
    assert a.role is b.role is c.role
    assert a.start is b.start is c.start


def test_load_pauses_gc_and_restores_it(graph: CompactRoleGraph) -> None:
    gc.unfreeze()  # an earlier load in this process froze the heap already
    assert gc.isenabled()
    graph.load([(ORG, PERSON, LEGAL, D, None)])
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    gc.disable()
    graph.load([(ORG2, PERSON, LEGAL, D, None)])
    assert not gc.isenabled()
    gc.enable()


ids = st.sampled_from(["o1", "o2", "o3", "p1"])
persons = st.sampled_from(["p1", "p2", "p3"])
rows_strategy = st.lists(
    st.tuples(
        ids,
        persons,
        st.sampled_from(BOTH),
        st.integers(0, 6).map(day),
        st.one_of(st.none(), st.integers(0, 4)),
    ).map(lambda r: (r[0], r[1], r[2], r[3], None if r[4] is None else r[3] + timedelta(r[4]))),
    max_size=30,
)


# No deadline: an example checks up to 30 rows against a model for 7 subjects x 13 days x 2
# role sets, and the first one also pays for warming caches; on the shared 2-core machine,
# with another xdist worker busy, that crossed Hypothesis's 200 ms default now and then
# (DeadlineExceeded, then Flaky on the fast re-run). Correctness, not speed, is tested here.
@settings(max_examples=200, deadline=None)
@given(rows_strategy, st.integers(0, 30))
def test_matches_a_brute_force_model(rows: list[Row], split: int) -> None:
    model: dict[tuple[str, str, str, date], RoleHolding] = {}
    for org, person, role, start, end in rows:
        model[(org, person, role, start)] = RoleHolding(org, person, role, start, end)
    added, loaded = CompactRoleGraph(), CompactRoleGraph()
    created = [added.add(*row) for row in rows]
    loaded.load(rows[:split])  # two loads: the second merges into stored tuples
    loaded.load(rows[split:])
    assert sum(created) == len(added) == len(loaded) == len(model)
    everything = sorted(model.values(), key=holding_order)
    for subject in ("o1", "o2", "o3", "p1", "p2", "p3", "nobody"):
        expected = [h for h in everything if subject in (h.org_id, h.person_id)]
        assert added.relations_of(subject) == loaded.relations_of(subject) == expected
        for on in map(day, range(-1, 12)):
            for roles in (BOTH, [LEGAL]):
                held = [h for h in everything if h.role in roles and h.held_on(on)]
                as_org = [h for h in held if h.org_id == subject]
                as_person = [h for h in held if h.person_id == subject]
                assert added.holders(subject, roles, on) == as_org
                assert loaded.holders(subject, roles, on) == as_org
                assert added.positions(subject, roles, on) == as_person
                assert loaded.positions(subject, roles, on) == as_person


def test_readers_see_whole_tuples_while_a_writer_adds(graph: CompactRoleGraph) -> None:
    writes = 3000
    done = threading.Event()
    problems: list[str] = []

    def read() -> None:
        seen = 0
        while not done.is_set() or seen < len(graph):
            found = graph.holders(ORG, [LEGAL], day(writes))
            ends = graph.positions(PERSON, [LEGAL], day(writes))
            if len(found) < seen or found != sorted(found, key=holding_order):
                problems.append(f"holders went from {seen} to {len(found)} or out of order")
                return
            if ends != sorted(ends, key=holding_order):
                problems.append("positions out of order")
                return
            seen = len(found)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        for i in range(writes):
            graph.add(ORG, PERSON, LEGAL, day(writes - i), None)  # each lands at the front
    finally:
        done.set()
    for reader in readers:
        reader.join(timeout=60)
    assert not any(reader.is_alive() for reader in readers)
    assert problems == []
    assert len(graph.positions(PERSON, [LEGAL], day(writes))) == writes
