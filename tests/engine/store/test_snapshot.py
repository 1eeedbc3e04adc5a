"""State snapshots: a snapshot at seq N equals applying the log to N, and is only a cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from engine import checks, entries
from engine.audit.replay import replay
from engine.entries.registration import EntryCreate
from engine.registry import service as registry
from engine.service import Service
from engine.settings import Settings
from engine.state import Entry, EntryStatus, State
from engine.store import snapshot
from engine.store.db import session_scope
from engine.store.events import EventType, NewEvent, read_facts
from measures.schema import SubjectKind
from tests.checking import decide
from tests.conftest import CONTRACT_BUNDLE
from tests.engine.registry.test_registry import org, person, relation_item, subject_item


def facts(state: State) -> dict[str, Any]:
    """Everything a state holds, in a form ``==`` compares completely (order included)."""
    by_org, by_person = state.graph.sides()
    return {
        "seq": state.seq,
        "policy_version": state.policy_version,
        "subjects": list(state.subjects.items()),
        "by_org": list(by_org.items()),
        "by_person": list(by_person.items()),
        "holdings": len(state.graph),
        "entries": list(state.entries.items()),
        "entries_by_subject": list(state.entries_by_subject.items()),
    }


def replayed(service: Service, upto: int | None = None) -> State:
    """The state applying the stored log event by event gives."""
    state = State()
    with session_scope(service.engine) as session:
        state.apply_all(read_facts(session, upto=upto))
    return state


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:
    started = Service.start(Settings(db=db_url, policy=CONTRACT_BUNDLE))
    yield started
    started.close()


def reopened(service: Service) -> Service:
    return Service.start(Settings(db=str(service.engine.url.render_as_string(False)),
                                  policy=CONTRACT_BUNDLE))  # fmt: skip


def populate(service: Service, offset: int = 0) -> None:
    """Subjects, holdings (one ended later), entries with every status, a derived entry."""
    registry.upsert_subjects(
        service,
        [subject_item(org(offset + i), "org", f"公司{i}", region="440106") for i in range(4)]
        + [subject_item(person(offset + i), "person", f"人{i}") for i in range(5)],
    )
    registry.record_relations(
        service,
        [relation_item(org(offset + i), person(offset + i)) for i in range(4)]
        + [relation_item(org(offset), person(offset + 4), role="principal", start="2021-05-01")],
    )
    # The end of a holding is recorded later: the holding is replaced, on both sides.
    registry.record_relations(
        service, [relation_item(org(offset), person(offset), end="2025-01-01")]
    )
    made = []
    for i, (list_code, department) in enumerate(
        [("dishonest_judgment_debtor", "court")] * 3 + [("a_grade_taxpayer", "tax")]
    ):
        request = EntryCreate(
            list=list_code,
            subject_id=org(offset + i),
            subject_kind=SubjectKind.org,
            decided_on=dt.date(2025, 3, 1 + i),
            doc_no=f"D{offset}-{i}",
            attributes={"amount": i * 1.5, "nested": {"k": [1, "二"]}},
        )
        made.append(entries.register(service, request, caller_name="t", department=department))
    first, second = (body["entry"]["id"] for body in made[:2])
    entries.revoke(service, first, actor="t", department="court")
    entries.raise_objection(service, second, "异议", actor="t", department="credit")
    for day in (1, 20, 40):  # three penalties in a year: a derived focus_supervision entry
        request = EntryCreate(
            list="administrative_penalty",
            subject_id=person(offset + 1),
            subject_kind=SubjectKind.person,
            decided_on=dt.date(2025, 6, 1) + dt.timedelta(days=day),
            doc_no=f"P{offset}-{day}",
        )
        entries.register(service, request, caller_name="t", department="market")
    # An event written around the API: a holding whose person is no registered subject.
    stray = {"org_id": org(offset), "person_id": person(900 + offset % 50), "role": "principal",
             "start": "2019-01-01", "end": None}  # fmt: skip
    service.write(lambda _s, _st: [NewEvent(EventType.relation_recorded, stray)])


def test_restore_of_dump_is_the_same_state(service: Service) -> None:
    populate(service)
    assert any(e.derivation_id for e in service.state.entries.values())
    assert {e.status for e in service.state.entries.values()} >= {
        EntryStatus.revoked,
        EntryStatus.under_objection,
        EntryStatus.active,
    }
    restored = snapshot.restore(snapshot.dump(service.state))
    assert facts(restored) == facts(service.state)
    # One object per holding, shared by both sides, as the live graph keeps it.
    by_org, by_person = restored.graph.sides()
    org_side = {id(h) for holdings in by_org.values() for h in holdings}
    assert {id(h) for holdings in by_person.values() for h in holdings} == org_side
    # The restored graph goes on like the original.
    for state in (restored, service.state):
        state.graph.add(org(0), person(3), "principal", dt.date(2026, 1, 1), None)
    assert facts(restored) == facts(service.state)


def test_a_snapshot_at_seq_n_equals_applying_the_log_to_n(service: Service) -> None:
    populate(service)
    stored = snapshot.save(service.engine, service.state)
    assert stored is not None and stored.seq == service.state.seq
    loaded = snapshot.load(service.engine)
    assert loaded is not None
    assert facts(loaded) == facts(replayed(service, upto=stored.seq)) == facts(service.state)


def test_start_loads_the_snapshot_then_catches_up(service: Service) -> None:
    populate(service)
    at = service.state.seq
    assert service.snapshot_if_behind(min_events=1)
    assert not service.snapshot_if_behind(min_events=1)  # nothing new since
    populate(service, offset=100)  # events after the snapshot
    again = reopened(service)
    try:
        assert snapshot.latest_seq(service.engine) == at
        assert facts(again.state) == facts(replayed(service)) == facts(service.state)
    finally:
        again.close()


def test_damaged_or_foreign_snapshots_are_ignored(service: Service) -> None:
    populate(service)
    assert snapshot.save(service.engine, service.state) is not None
    table = snapshot.SNAPSHOT_TABLE
    with service.engine.begin() as connection:
        connection.execute(table.update().values(data=b"not a snapshot"))
    again = reopened(service)
    try:
        assert facts(again.state) == facts(service.state)  # rebuilt from the log
    finally:
        again.close()
    with service.engine.begin() as connection:
        connection.execute(table.delete())
    assert snapshot.save(service.engine, service.state) is not None
    with service.engine.begin() as connection:
        connection.execute(table.update().values(format="jrp-state-0/py2.7/m1"))
    assert snapshot.load(service.engine) is None


def test_only_the_newest_snapshots_are_kept(service: Service) -> None:
    populate(service)
    for _ in range(snapshot.KEEP + 2):
        assert snapshot.save(service.engine, service.state) is not None
        registry.upsert_subjects(service, [subject_item(org(500 + service.state.seq), "org")])
    assert snapshot.save(service.engine, service.state) is not None
    kept = list(snapshot.positions(service.engine))
    assert len(kept) == snapshot.KEEP and kept[0] == service.state.seq
    assert snapshot.save(service.engine, service.state) is None  # this position exists


def test_a_snapshot_splits_into_parts(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(service)
    monkeypatch.setattr(snapshot, "PART_BYTES", 1000)
    stored = snapshot.save(service.engine, service.state)
    assert stored is not None and stored.parts > 1
    with service.engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(snapshot.SNAPSHOT_TABLE))
        assert count.scalar() == stored.parts
    loaded = snapshot.load(service.engine)
    assert loaded is not None and facts(loaded) == facts(service.state)


def test_entries_keep_every_field() -> None:
    state = State()
    entry = Entry(
        id="e1",
        list="l",
        subject_id=org(1),
        subject_kind=SubjectKind.org,
        department="court",
        decided_on=dt.date(2020, 2, 29),
        effective_from=dt.date(2020, 3, 1),
        effective_to=None,
        doc_no="号",
        reason=None,
        attributes={"a": None, "b": True, "c": 1e300, "d": [{"x": "y"}]},
        status=EntryStatus.repaired,
        registered_seq=7,
        derivation_id="d1",
        derived_from=("e0", "e-1"),
    )
    state.entries[entry.id] = entry
    state.entries_by_subject[entry.subject_id] = [entry.id]
    assert snapshot.restore(snapshot.dump(state)).entries == {"e1": entry}


def _check_all(service: Service, offset: int) -> int:
    made = 0
    for subject_id in [org(offset + i) for i in range(4)] + [person(offset + i) for i in range(5)]:
        for matter in ("government_procurement", "bidding"):
            request = checks.CheckRequest(subject_id=subject_id, matter=matter)
            decide(service, request, caller="t", department="finance")
            made += 1
    return made


def test_replay_starts_from_a_snapshot_and_stays_exact(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(service)
    made = _check_all(service, 0)
    early = snapshot.save(service.engine, service.state)
    populate(service, offset=100)
    made += _check_all(service, 100)
    assert snapshot.save(service.engine, service.state) is not None  # newer than early checks
    asked: list[int | None] = []
    load = snapshot.load

    def spy(engine: Any, *, at_most: int | None = None) -> State | None:
        asked.append(at_most)
        return load(engine, at_most=at_most)

    monkeypatch.setattr(snapshot, "load", spy)
    report = replay(service.engine)
    assert report.replayed == made and report.identical == made, report.changed
    # Not the newest snapshot: the first decision saw the log before it.
    assert early is not None and asked and asked[0] is not None and asked[0] < service.state.seq
