"""The fact state is a pure function of the events applied to it."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.state import Entry, EntryStatus, State
from engine.store.events import EventType
from measures.schema import SubjectKind

ORG = "91440101000010014P"
PERSON = "440106198001010115"


def _entry_payload(entry_id: str = "e1", **overrides: object) -> dict[str, object]:
    entry = {
        "id": entry_id,
        "list": "dishonest_judgment_debtor",
        "subject_id": ORG,
        "subject_kind": "org",
        "department": "court",
        "decided_on": "2025-01-01",
        "effective_from": "2025-01-01",
        "effective_to": "2026-01-01",
        "doc_no": "D1",
        "reason": None,
        "attributes": {"amount": 5},
        "derivation_id": None,
        "derived_from": [],
    }
    entry.update(overrides)
    return {"entry": entry, "triggered": []}


def _events() -> list[tuple[int, str, dict[str, object]]]:
    return [
        (1, EventType.policy_loaded.value, {"version": "v1"}),
        (
            2,
            EventType.subject_upserted.value,
            {"id": ORG, "kind": "org", "name": "某公司", "region": None},
        ),
        (
            3,
            EventType.relation_recorded.value,
            {
                "org_id": ORG,
                "person_id": PERSON,
                "role": "legal_representative",
                "start": "2020-01-01",
                "end": None,
            },
        ),
        (4, EventType.entry_registered.value, _entry_payload()),
        (5, EventType.objection_raised.value, {"entry_id": "e1", "reason": "x"}),
        (
            6,
            EventType.objection_resolved.value,
            {"entry_id": "e1", "outcome": "rejected", "note": None},
        ),
    ]


def test_apply_builds_subjects_graph_and_entries() -> None:
    state = State()
    state.apply_all(_events())
    assert state.seq == 6
    assert state.policy_version == "v1"
    assert state.subjects[ORG].kind is SubjectKind.org
    assert [
        h.person_id for h in state.graph.holders(ORG, ["legal_representative"], dt.date(2024, 1, 1))
    ] == [PERSON]
    (entry,) = state.entries_of(ORG)
    assert entry.status is EntryStatus.active
    assert entry.registered_seq == 4
    assert entry.attributes == {"amount": 5}


def test_applying_the_same_events_twice_changes_nothing() -> None:
    once, twice = State(), State()
    once.apply_all(_events())
    twice.apply_all(_events())
    twice.apply_all(_events())
    assert twice.entries == once.entries
    assert twice.seq == once.seq


@pytest.mark.parametrize(
    ("event_type", "payload", "status"),
    [
        (EventType.entry_revoked, {}, EntryStatus.revoked),
        (EventType.objection_raised, {"reason": "r"}, EntryStatus.under_objection),
        (EventType.objection_resolved, {"outcome": "upheld", "note": None}, EntryStatus.revoked),
        (EventType.entry_repaired, {"note": None}, EntryStatus.repaired),
    ],
)
def test_status_events(
    event_type: EventType, payload: dict[str, object], status: EntryStatus
) -> None:
    state = State()
    state.apply(1, EventType.entry_registered.value, _entry_payload())
    state.apply(2, event_type.value, {"entry_id": "e1", **payload})
    assert state.entries["e1"].status is status


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        State().apply(1, "entry.teleported", {})


def test_in_force_and_derived_expired_status() -> None:
    entry = Entry.from_payload(_entry_payload()["entry"], seq=1)  # type: ignore[arg-type]
    assert not entry.in_force(dt.date(2024, 12, 31))
    assert entry.in_force(dt.date(2025, 1, 1))
    assert entry.in_force(dt.date(2025, 12, 31))
    assert not entry.in_force(dt.date(2026, 1, 1))
    assert entry.status_on(dt.date(2025, 12, 31)) is EntryStatus.active
    assert entry.status_on(dt.date(2026, 1, 1)) is EntryStatus.expired


def test_payload_round_trip() -> None:
    entry = Entry.from_payload(_entry_payload(effective_to=None)["entry"], seq=9)  # type: ignore[arg-type]
    assert Entry.from_payload(entry.to_payload(), seq=9) == entry
    assert entry.effective_to is None
