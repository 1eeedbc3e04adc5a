"""The registry core: validation, upsert counts, all-or-nothing batches, the subject page."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import col, select

from engine.batches import Counts, Plan, Problem, Rejected, item_ref
from engine.errors import InvalidRequest, NotFound
from engine.registry import service as registry
from engine.registry.identifiers import (
    china_today,
    org_code_check_char,
    ric_check_char,
    subject_id_problem,
    uscc_check_char,
)
from engine.registry.service import plan_relations, plan_subjects
from engine.registry.views import subject_detail
from engine.service import Service
from engine.settings import Settings
from engine.state import Entry, EntryStatus, State
from engine.store.db import session_scope
from engine.store.events import EventType, NewEvent
from engine.store.tables import Event
from measures.schema import SubjectKind
from tests.conftest import CONTRACT_BUNDLE

TODAY = dt.date(2026, 11, 22)
ROLES = {"legal_representative": "法定代表人", "principal": "主要负责人"}


def org(i: int) -> str:
    """A valid 统一社会信用代码, distinct per ``i`` (digits only, 天河区)."""
    body = f"{i:08d}"
    head = "91440106" + body + org_code_check_char(body)
    return head + uscc_check_char(head)


def person(i: int) -> str:
    """A valid 公民身份号码 born 1980-01-01 in 天河区, distinct per ``i`` < 1000."""
    body = f"44010619800101{i:03d}"
    return body + ric_check_char(body)


def ambiguous_id() -> str:
    """An 18-digit id valid both as an org code and as a citizen number (rare, but real)."""
    for month, day, seq in itertools.product(range(1, 13), range(1, 29), range(1000)):
        body = f"1101051980{month:02d}{day:02d}{seq:03d}"
        candidate = body + ric_check_char(body)
        if subject_id_problem("org", candidate, today=TODAY) is None:
            return candidate
    raise AssertionError("no id valid as both kinds in the search range")


def wrong_check(subject_id: str) -> str:
    """The id with a wrong last character."""
    return subject_id[:-1] + ("1" if subject_id[-1] != "1" else "2")


def subject_item(subject_id: str, kind: str, name: str = "某某", **more: Any) -> dict[str, Any]:
    return {"id": subject_id, "kind": kind, "name": name, **more}


def relation_item(org_id: str, person_id: str, **more: Any) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "person_id": person_id,
        "role": "legal_representative",
        "start": "2020-01-01",
        "end": None,
        **more,
    }


def state_with(plans: list[Plan]) -> State:
    """A state after applying the events of ``plans`` in order."""
    state = State()
    seq = itertools.count(1)
    for plan in plans:
        assert plan.problems == []
        for event in plan.events:
            state.apply(next(seq), event.type.value, event.payload)
    return state


def where(problems: list[Problem]) -> list[tuple[int, str]]:
    return [(p.index, p.field) for p in problems]


# --- subjects --------------------------------------------------------------------------------


def test_new_subjects_make_one_event_each_with_normalised_ids() -> None:
    rows = [
        subject_item("91110000600037341l", "org", "某公司", region="110105"),
        subject_item(" 11010519491231002x ", "person", "张三"),
    ]
    plan = plan_subjects(State(), rows, today=TODAY, actor="registrar", department="market")
    assert plan.counts == Counts(created=2)
    assert [(e.type, e.payload, e.subject_id, e.actor) for e in plan.events] == [
        (
            EventType.subject_upserted,
            {"id": "91110000600037341L", "kind": "org", "name": "某公司", "region": "110105"},
            "91110000600037341L",
            "registrar",
        ),
        (
            EventType.subject_upserted,
            {"id": "11010519491231002X", "kind": "person", "name": "张三", "region": None},
            "11010519491231002X",
            "registrar",
        ),
    ]


def test_upsert_counts_created_updated_and_leaves_identical_items_out() -> None:
    state = state_with(
        [
            plan_subjects(
                State(),
                [
                    subject_item(org(1), "org", "甲", region="440106"),
                    subject_item(org(2), "org", "乙", region="440106"),
                ],
                today=TODAY,
            )
        ]
    )
    rows = [
        subject_item(org(1), "org", "甲", region="440106"),  # identical
        subject_item(org(2), "org", "乙"),  # region omitted: cleared
        subject_item(org(3), "org", "丙"),
    ]
    plan = plan_subjects(state, rows, today=TODAY)
    assert plan.counts == Counts(created=1, updated=1, unchanged=1)
    assert [e.payload["id"] for e in plan.events] == [org(2), org(3)]
    assert plan.events[0].payload["region"] is None


def test_every_bad_item_is_named_and_nothing_is_planned() -> None:
    rows = [
        subject_item(org(1), "org"),
        subject_item(wrong_check(org(2)), "org"),
        subject_item(person(1), "org"),
        subject_item(org(3), "company"),
        {"id": org(4), "kind": "org"},
        subject_item(org(5), "org", regoin="x"),
        "not an object",
        subject_item(org(1).lower(), "org"),
        subject_item(org(6), "org", name="   "),
    ]
    plan = plan_subjects(State(), rows, today=TODAY)
    assert plan.events == []
    assert plan.counts == Counts()
    assert where(plan.problems) == [
        (1, "id"),
        (2, "kind"),
        (3, "kind"),
        (4, "name"),
        (5, "regoin"),
        (6, ""),
        (7, "id"),
        (8, "name"),
    ]
    by_index = {p.index: p for p in plan.problems}
    assert "check character" in by_index[1].message
    assert by_index[2].message == "the id is a 公民身份号码, so kind must be person"
    assert by_index[7].describe(item_ref) == (
        "the same subject as items[0]: give each subject once"
    )


def test_the_kind_of_a_stored_subject_cannot_change() -> None:
    both = ambiguous_id()
    state = state_with([plan_subjects(State(), [subject_item(both, "org")], today=TODAY)])
    plan = plan_subjects(state, [subject_item(both, "person")], today=TODAY)
    assert where(plan.problems) == [(0, "kind")]
    assert "registered as org" in plan.problems[0].message


# --- relations -------------------------------------------------------------------------------


@pytest.fixture
def registered() -> State:
    """Orgs 1-2 and persons 1-2 stored."""
    rows = [
        subject_item(org(1), "org"),
        subject_item(org(2), "org"),
        subject_item(person(1), "person"),
        subject_item(person(2), "person"),
    ]
    return state_with([plan_subjects(State(), rows, today=TODAY)])


def test_relations_are_checked_item_by_item(registered: State) -> None:
    rows = [
        relation_item(org(1), person(1)),
        relation_item(org(9), person(1)),  # unknown org
        relation_item(person(1), person(2)),  # a person where an org goes
        relation_item(org(1), org(2)),  # an org where a person goes
        relation_item(org(1), person(1), role="chairman"),
        relation_item(org(1), person(2), start="2020-01-01", end="2019-12-31"),
        relation_item(org(1), person(2), start="2020-02-30"),
        relation_item(org(1), person(1), end="2021-01-01"),  # repeats item 0's identity
        relation_item(org(1), wrong_check(person(2))),
    ]
    plan = plan_relations(registered, rows, roles=ROLES, today=TODAY)
    assert plan.events == []
    assert where(plan.problems) == [
        (1, "org_id"),
        (2, "org_id"),
        (3, "person_id"),
        (4, "role"),
        (5, "end"),
        (6, "start"),
        (7, ""),
        (8, "person_id"),
    ]
    messages = {p.index: p.describe(item_ref) for p in plan.problems}
    assert messages[1].startswith("unknown subject")
    assert messages[2] == "this is a 公民身份号码, not an org's 统一社会信用代码"
    assert (
        messages[4]
        == "unknown role 'chairman'; the policy's roles: legal_representative, principal"
    )
    assert messages[5] == "2019-12-31 is before start 2020-01-01"
    assert messages[6] == "2020-02-30 is not a calendar date"
    assert "as items[0]" in messages[7]


def test_a_stored_subject_of_the_other_kind_is_refused() -> None:
    both = ambiguous_id()
    state = state_with(
        [
            plan_subjects(
                State(),
                [subject_item(both, "person"), subject_item(person(1), "person")],
                today=TODAY,
            )
        ]
    )
    plan = plan_relations(state, [relation_item(both, person(1))], roles=ROLES, today=TODAY)
    assert where(plan.problems) == [(0, "org_id")]
    assert plan.problems[0].message == "the subject is registered as person, not org"


def test_reposting_a_holding_with_another_end_records_the_end(registered: State) -> None:
    first = plan_relations(registered, [relation_item(org(1), person(1))], roles=ROLES, today=TODAY)
    assert first.counts == Counts(created=1)
    state = registered
    state.apply(state.seq + 1, EventType.relation_recorded.value, first.events[0].payload)
    rows = [
        relation_item(org(1), person(1), end="2024-06-30"),
        relation_item(org(1), person(1), role="principal", start="2021-01-01"),
    ]
    again = plan_relations(state, rows, roles=ROLES, today=TODAY)
    assert again.counts == Counts(created=1, updated=1)
    for event in again.events:
        state.apply(state.seq + 1, event.type.value, event.payload)
    [holding, _principal] = state.graph.relations_of(person(1))
    assert (holding.role, holding.end) == ("legal_representative", dt.date(2024, 6, 30))
    same = plan_relations(state, rows, roles=ROLES, today=TODAY)
    assert (same.counts, same.events) == (Counts(unchanged=2), [])


# --- on a database ---------------------------------------------------------------------------


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:
    started = Service.start(Settings(db=db_url, policy=CONTRACT_BUNDLE))
    yield started
    started.close()


def _event_types(service: Service) -> list[str]:
    with session_scope(service.engine) as session:
        return list(session.exec(select(Event.type).order_by(col(Event.seq))).all())


def test_a_batch_with_one_bad_item_stores_nothing(service: Service) -> None:
    before = _event_types(service)
    rows = [subject_item(org(1), "org"), subject_item(wrong_check(org(2)), "org")]
    with pytest.raises(Rejected) as raised:
        registry.upsert_subjects(service, rows, actor="t")
    assert raised.value.status == 422
    assert raised.value.details == [
        {"field": "items[1].id", "message": raised.value.problems[0].message}
    ]
    assert _event_types(service) == before
    assert org(1) not in service.state.subjects


def test_dry_run_validates_without_storing(service: Service) -> None:
    counts = registry.upsert_subjects(service, [subject_item(org(1), "org")], dry_run=True)
    assert counts == Counts(created=1)
    assert org(1) not in service.state.subjects
    assert EventType.subject_upserted.value not in _event_types(service)


def test_a_restarted_service_rebuilds_the_same_subjects_and_graph(
    service: Service, db_url: str
) -> None:
    registry.upsert_subjects(
        service, [subject_item(org(1), "org", region="440106"), subject_item(person(1), "person")]
    )
    registry.record_relations(service, [relation_item(org(1), person(1))])
    registry.record_relations(service, [relation_item(org(1), person(1), end="2025-01-31")])
    assert (
        _event_types(service)[-4:]
        == [EventType.subject_upserted.value] * 2 + [EventType.relation_recorded.value] * 2
    )
    fresh = Service.start(Settings(db=db_url, policy=CONTRACT_BUNDLE))
    try:
        assert fresh.state.subjects == service.state.subjects
        assert fresh.state.graph.relations_of(org(1)) == service.state.graph.relations_of(org(1))
        assert [h.end for h in fresh.state.graph.relations_of(person(1))] == [dt.date(2025, 1, 31)]
    finally:
        fresh.close()


def _register_entry(
    service: Service,
    subject_id: str,
    kind: SubjectKind,
    *,
    decided_on: dt.date,
    effective_to: dt.date | None = None,
    attributes: dict[str, Any] | None = None,
) -> Entry:
    entry = Entry(
        id=f"e-{subject_id}-{decided_on}-{len(service.state.entries)}",
        list="dishonest_judgment_debtor",
        subject_id=subject_id,
        subject_kind=kind,
        department="court",
        decided_on=decided_on,
        effective_from=decided_on,
        effective_to=effective_to,
        doc_no="(2024)粤01执1号",
        reason=None,
        attributes=attributes or {},
        status=EntryStatus.active,
        registered_seq=0,
    )
    payload = {"entry": entry.to_payload(), "triggered": []}
    service.write(lambda _s, _st: [NewEvent(EventType.entry_registered, payload)])
    return service.state.entries[entry.id]


def test_the_subject_page_shows_relations_entries_and_what_reaches_it(service: Service) -> None:
    registry.upsert_subjects(
        service,
        [
            subject_item(org(1), "org", "某公司"),
            subject_item(person(1), "person", "张三"),
            subject_item(person(2), "person", "李四"),
        ],
    )
    registry.record_relations(
        service,
        [
            relation_item(org(1), person(1)),
            # principal only from after the decision: the measure looks at the decision date
            relation_item(org(1), person(2), role="principal", start="2025-01-01"),
        ],
    )
    serious: dict[str, Any] = {"amount": 2_000_000, "category": "tax_evasion"}
    listed = _register_entry(
        service, org(1), SubjectKind.org, decided_on=dt.date(2024, 3, 1), attributes=serious
    )
    _register_entry(
        service, org(1), SubjectKind.org, decided_on=dt.date(2024, 4, 1), attributes={"amount": 10}
    )
    own = _register_entry(
        service, person(1), SubjectKind.person, decided_on=dt.date(2024, 5, 1), attributes=serious
    )

    page = subject_detail(service, person(1).lower())
    assert (page["id"], page["kind"], page["name"]) == (person(1), "person", "张三")
    assert page["relations"] == [
        {
            "org_id": org(1),
            "person_id": person(1),
            "role": "legal_representative",
            "role_name": "法定代表人",
            "start": "2020-01-01",
            "end": None,
        },
    ]
    assert [e["id"] for e in page["entries"]] == [own.id]
    assert page["entries"][0]["status"] == "active"
    assert [(e["id"], e["via"]) for e in page["reaching_entries"]] == [
        (listed.id, {"org_id": org(1), "role": "legal_representative"})
    ]

    # The reverse direction: the listed person reaches the org where they are legal rep today.
    org_page = subject_detail(service, org(1))
    assert [(e["id"], e["via"]) for e in org_page["reaching_entries"]] == [
        (own.id, {"person_id": person(1), "role": "legal_representative"})
    ]
    assert [e["id"] for e in org_page["entries"]] == [
        listed.id,
        *[e.id for e in service.state.entries_of(org(1)) if e.id != listed.id],
    ]
    assert subject_detail(service, person(2))["reaching_entries"] == []


def test_an_expired_entry_shows_as_expired(service: Service) -> None:
    registry.upsert_subjects(service, [subject_item(org(1), "org")])
    _register_entry(
        service,
        org(1),
        SubjectKind.org,
        decided_on=dt.date(2020, 1, 1),
        effective_to=china_today(),
    )
    [shown] = subject_detail(service, org(1))["entries"]
    assert shown["status"] == "expired"


def test_unknown_and_malformed_ids(service: Service) -> None:
    with pytest.raises(NotFound) as unknown:
        subject_detail(service, org(7))
    assert unknown.value.code == "unknown_subject"
    with pytest.raises(InvalidRequest) as malformed:
        subject_detail(service, "12345")
    assert malformed.value.details == [{"field": "id", "message": "must be 18 characters, got 5"}]
    with pytest.raises(InvalidRequest) as both:
        subject_detail(service, wrong_check(person(1)))
    assert "as a 统一社会信用代码" in both.value.details[0]["message"]
    assert "as a 公民身份号码: check character mismatch" in both.value.details[0]["message"]
