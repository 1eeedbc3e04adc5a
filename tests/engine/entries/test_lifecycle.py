"""``engine.entries.lifecycle``: revocation, objection, resolution and repair of an entry.

Each step is a ``Service.write``, so these tests run a service on the test database (the
contract example's vocabulary: ``dishonest_judgment_debtor`` owned by court, repairable at
once; ``administrative_penalty`` owned by market and tax, repairable after 90 days;
``a_grade_taxpayer`` owned by tax, not repairable). "Today" is fixed, so that the boundaries
of expiry and of the publicity period are exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from engine import entries
from engine.entries import lifecycle, objections, views
from engine.entries.registration import EntryCreate
from engine.errors import Code, Conflict, Forbidden, JrpError, NotFound
from engine.service import Service
from engine.settings import Settings
from engine.state import EntryStatus
from engine.store import events
from engine.store.db import session_scope
from engine.store.events import EventType, StoredEvent
from tests.conftest import CONTRACT_BUNDLE
from tests.engine.registry.test_registry import org

TODAY = dt.date(2026, 11, 22)
OWNER = {
    "dishonest_judgment_debtor": "court",
    "administrative_penalty": "market",
    "a_grade_taxpayer": "tax",
}


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "china_today", lambda: TODAY)
    monkeypatch.setattr(objections, "china_today", lambda: TODAY)
    monkeypatch.setattr(views, "china_today", lambda: TODAY)


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:
    started = Service.start(Settings(db=db_url, policy=CONTRACT_BUNDLE))
    yield started
    started.close()


class Entries:
    """Registers entries, each on its own org (so that no derivation ever fires)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.count = 0

    def register(self, list_code: str, decided_on: dt.date, **more: Any) -> str:
        """An entry decided on ``decided_on``, effective from then unless ``more`` says."""
        self.count += 1
        body = {
            "list": list_code,
            "subject_id": org(self.count),
            "subject_kind": "org",
            "decided_on": decided_on.isoformat(),
            "doc_no": f"D{self.count}",
            **more,
        }
        answer = entries.register(
            self.service,
            EntryCreate.model_validate(body),
            caller_name="t",
            department=OWNER[list_code],
        )
        entry_id: str = answer["entry"]["id"]
        return entry_id

    def debtor(self, decided_on: dt.date = TODAY - dt.timedelta(days=30), **more: Any) -> str:
        return self.register("dishonest_judgment_debtor", decided_on, **more)

    def penalty(self, decided_on: dt.date, **more: Any) -> str:
        return self.register("administrative_penalty", decided_on, **more)

    def expired(self) -> str:
        return self.debtor(TODAY - dt.timedelta(days=100), effective_to=TODAY.isoformat())

    def status(self, entry_id: str) -> EntryStatus:
        return self.service.state.entries[entry_id].status


@pytest.fixture
def made(service: Service) -> Entries:
    return Entries(service)


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def last_event(service: Service) -> StoredEvent:
    with session_scope(service.engine) as session:
        return list(events.read(session))[-1]


def revoke(service: Service, entry_id: str, department: str = "court") -> dict[str, Any]:
    return entries.revoke(service, entry_id, actor="某法院", department=department)


def object_to(service: Service, entry_id: str) -> dict[str, Any]:
    return entries.raise_objection(service, entry_id, "已履行", actor="张三", department="ndrc")


def resolve(service: Service, entry_id: str, outcome: str) -> dict[str, Any]:
    return entries.resolve_objection(
        service, entry_id, outcome, "核实", actor="李四", department="ndrc"
    )


def repair(service: Service, entry_id: str) -> dict[str, Any]:
    return entries.repair(service, entry_id, "已整改", actor="王五", department="market")


def refused(action: Callable[[], object], error: type[JrpError], code: str) -> JrpError:
    """The error ``action`` raises, which must be of this type and code."""
    with pytest.raises(error) as raised:
        action()
    assert raised.value.code == code
    return raised.value


# --- revocation ----------------------------------------------------------------------------


def test_the_owning_department_revokes_its_active_entry(service: Service, made: Entries) -> None:
    entry_id = made.debtor()
    view = revoke(service, entry_id)
    assert view["id"] == entry_id
    assert view["status"] == "revoked"
    assert made.status(entry_id) is EntryStatus.revoked
    event = last_event(service)
    assert (event.type, event.payload) == (
        EventType.entry_revoked,
        {"entry_id": entry_id, "on": TODAY.isoformat()},
    )
    assert (event.actor, event.department, event.subject_id) == ("某法院", "court", org(1))


def test_another_department_may_not_revoke_and_nothing_is_written(
    service: Service, made: Entries
) -> None:
    entry_id = made.debtor()
    seq = service.state.seq
    error = refused(lambda: revoke(service, entry_id, "market"), Forbidden, Code.forbidden)
    assert error.status == 403
    assert error.message == f"entry {entry_id} belongs to department court"
    assert made.status(entry_id) is EntryStatus.active
    assert service.state.seq == seq == last_event(service).seq


def test_an_entry_under_objection_or_expired_can_be_revoked(
    service: Service, made: Entries
) -> None:
    objected, expired = made.debtor(), made.expired()
    object_to(service, objected)
    assert revoke(service, objected)["status"] == "revoked"
    assert views.entry_view(service.state.entries[expired])["status"] == "expired"
    assert revoke(service, expired)["status"] == "revoked"
    assert made.status(expired) is EntryStatus.revoked


@pytest.mark.parametrize(("first", "status"), [(revoke, "revoked"), (repair, "repaired")])
def test_a_revoked_or_repaired_entry_cannot_be_revoked(
    service: Service, made: Entries, first: Callable[[Service, str], object], status: str
) -> None:
    entry_id = made.debtor()
    first(service, entry_id)
    error = refused(lambda: revoke(service, entry_id), Conflict, Code.invalid_state)
    assert error.status == 409
    assert error.details == [{"status": status}]
    assert error.message == (
        f"cannot revoke an entry that is {status} (only active or under_objection)"
    )


@pytest.mark.parametrize(
    "action",
    [revoke, object_to, lambda s, e: resolve(s, e, "upheld"), repair],
    ids=["revoke", "objection", "resolution", "repair"],
)
def test_an_unknown_entry_is_404(service: Service, action: Callable[[Service, str], Any]) -> None:
    error = refused(lambda: action(service, "no-such-entry"), NotFound, Code.unknown_entry)
    assert error.status == 404
    assert error.message == "no entry no-such-entry"
    with pytest.raises(NotFound):
        entries.show_entry(service, "no-such-entry")


# --- objection and resolution ----------------------------------------------------------------


def test_any_department_raises_an_objection_on_an_active_entry(
    service: Service, made: Entries
) -> None:
    entry_id = made.debtor()
    assert object_to(service, entry_id)["status"] == "under_objection"
    assert made.status(entry_id) is EntryStatus.under_objection
    event = last_event(service)
    assert event.type == EventType.objection_raised
    assert {key: event.payload[key] for key in ("entry_id", "reason", "received_on")} == {
        "entry_id": entry_id,
        "reason": "已履行",
        "received_on": TODAY.isoformat(),
    }
    assert (event.actor, event.department) == ("张三", "ndrc")
    assert entries.show_entry(service, entry_id)["status"] == "under_objection"


@pytest.mark.parametrize("state", ["under_objection", "revoked", "repaired", "expired"])
def test_an_objection_only_on_an_active_entry(service: Service, made: Entries, state: str) -> None:
    entry_id = made.expired() if state == "expired" else made.debtor()
    if state != "expired":
        {"under_objection": object_to, "revoked": revoke, "repaired": repair}[state](
            service, entry_id
        )
    error = refused(lambda: object_to(service, entry_id), Conflict, Code.invalid_state)
    assert error.details == [{"status": state}]
    assert error.message == f"cannot raise an objection on an entry that is {state} (only active)"


@pytest.mark.parametrize(
    ("outcome", "view_status", "status"),
    [("upheld", "revoked", EntryStatus.revoked), ("rejected", "active", EntryStatus.active)],
)
def test_a_resolution_revokes_the_entry_or_makes_it_active_again(
    service: Service, made: Entries, outcome: str, view_status: str, status: EntryStatus
) -> None:
    entry_id = made.debtor()
    object_to(service, entry_id)
    assert resolve(service, entry_id, outcome)["status"] == view_status
    assert made.status(entry_id) is status
    event = last_event(service)
    assert event.type == EventType.objection_resolved
    assert {key: event.payload[key] for key in ("entry_id", "outcome", "note")} == {
        "entry_id": entry_id,
        "outcome": outcome,
        "note": "核实",
    }


def test_only_an_entry_under_objection_can_be_resolved(service: Service, made: Entries) -> None:
    entry_id = made.debtor()
    error = refused(lambda: resolve(service, entry_id, "rejected"), Conflict, Code.invalid_state)
    assert error.details == [{"status": "active"}]
    object_to(service, entry_id)
    resolve(service, entry_id, "rejected")
    refused(lambda: resolve(service, entry_id, "upheld"), Conflict, Code.invalid_state)
    assert made.status(entry_id) is EntryStatus.active


# --- repair --------------------------------------------------------------------------------


def test_an_active_entry_is_repaired_once_its_publicity_period_is_over(
    service: Service, made: Entries
) -> None:
    on_the_day = made.penalty(days(-90))  # min_publicity_days 90: repairable from TODAY
    at_once = made.debtor(TODAY)  # min_publicity_days 0
    assert repair(service, on_the_day)["status"] == "repaired"
    assert repair(service, at_once)["status"] == "repaired"
    assert made.status(on_the_day) is made.status(at_once) is EntryStatus.repaired
    event = last_event(service)
    assert (event.type, event.payload) == (
        EventType.entry_repaired,
        {"entry_id": at_once, "note": "已整改", "on": TODAY.isoformat()},
    )


def test_entries_on_a_list_that_is_not_repairable_are_refused_first(
    service: Service, made: Entries
) -> None:
    active = made.register("a_grade_taxpayer", days(-400))
    revoked = made.register("a_grade_taxpayer", days(-10))
    entries.revoke(service, revoked, actor="t", department="tax")
    for entry_id in (active, revoked):  # not repairable, whatever the state
        error = refused(lambda e=entry_id: repair(service, e), Conflict, Code.not_repairable)
        assert error.status == 409
        assert error.message == "entries on a_grade_taxpayer are not repairable"


@pytest.mark.parametrize("state", ["under_objection", "revoked", "repaired", "expired"])
def test_only_an_active_entry_can_be_repaired(service: Service, made: Entries, state: str) -> None:
    entry_id = made.expired() if state == "expired" else made.debtor()
    if state != "expired":
        {"under_objection": object_to, "revoked": revoke, "repaired": repair}[state](
            service, entry_id
        )
    error = refused(lambda: repair(service, entry_id), Conflict, Code.invalid_state)
    assert error.details == [{"status": state}]
    assert error.message == f"cannot repair an entry that is {state} (only active)"


@pytest.mark.parametrize(("start", "earliest"), [(-89, 1), (-10, 80), (0, 90), (5, 95)])
def test_a_repair_before_the_publicity_period_is_over_names_the_earliest_day(
    service: Service, made: Entries, start: int, earliest: int
) -> None:
    entry_id = made.penalty(days(start))
    error = refused(lambda: repair(service, entry_id), Conflict, Code.repair_too_early)
    assert error.status == 409
    assert error.details == [{"earliest": days(earliest).isoformat()}]
    assert error.message == f"repair is possible from {days(earliest).isoformat()}"
    assert made.status(entry_id) is EntryStatus.active


def test_the_publicity_period_runs_from_effective_from_not_decided_on(
    service: Service, made: Entries
) -> None:
    entry_id = made.penalty(days(-100), effective_from=days(-10).isoformat())
    error = refused(lambda: repair(service, entry_id), Conflict, Code.repair_too_early)
    assert error.details == [{"earliest": days(80).isoformat()}]


def test_a_repair_whose_earliest_day_is_past_the_calendar_is_too_early_with_no_date(
    service: Service, made: Entries
) -> None:
    # 9999-12-01 + 90 days is past the calendar: never repairable (and open-ended, as the
    # list's default duration of 1095 days ends past the calendar too).
    entry_id = made.penalty(dt.date(9999, 12, 1))
    assert service.state.entries[entry_id].effective_to is None
    error = refused(lambda: repair(service, entry_id), Conflict, Code.repair_too_early)
    assert error.status == 409
    assert error.details == [{"earliest": None}]
    assert error.message == "repair is possible from after the end of the calendar"
    assert error.to_dict()["details"] == [{"earliest": None}]
