"""The feed's index (engine/publication/index.py) against a plain scan of the state.

The scan is the definition: every entry of the list active, in force and in its publicity
period today, shown masked, newest registration first, ``q`` a substring of the folded shown
name or the whole shown id. Hypothesis drives random logs (registrations, revocations,
objections, corrections, renames, a policy reload) and compares, for many queries and cursors,
an index kept current change by change, an index built from scratch, and the scan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.publication.feed import in_publicity
from engine.publication.index import FeedIndex, fold, grams_of, public_row, shown_id_of
from engine.state import State
from engine.state import projection as state_projection
from engine.store.events import EventType
from measures.loader import load_bundle
from measures.schema import ListDefinition
from tests.conftest import CONTRACT_BUNDLE
from tests.engine.registry.test_registry import org, person

TODAY = dt.date(2026, 12, 5)
LISTS_PLAIN = load_bundle(CONTRACT_BUNDLE).vocabulary.lists
# The judgment-debtor list with a publicity period, so entries leave the feed while in force.
LISTS = {
    **LISTS_PLAIN,
    "dishonest_judgment_debtor": LISTS_PLAIN["dishonest_judgment_debtor"].model_copy(
        update={"max_publicity_days": 30}
    ),
}
CODES = ("dishonest_judgment_debtor", "focus_supervision", "administrative_penalty")
SUBJECTS = [org(i) for i in range(4)] + [person(i) for i in range(4)]
# Letters where folding matters (full width, case, ligatures, combining marks), the mask's *.
ALPHABET = "张王示例公司Aa Ｂａｂ ßSsẞﬁİıé\u0301*1１"
names = st.one_of(st.none(), st.text(alphabet=ALPHABET, max_size=8))


def scan(
    state: State,
    lists: Mapping[str, ListDefinition],
    code: str,
    q: str | None,
    before: int | None,
    limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """The feed's page by the plain definition: a pass over every entry."""
    definition = lists[code]
    shown = sorted(
        (
            public_row(state, entry, definition)
            for entry in state.entries.values()
            if entry.list == code and in_publicity(entry, definition, TODAY)
        ),
        key=lambda row: row.seq,
        reverse=True,
    )
    needle = (q or "").strip()
    shown_id = shown_id_of(needle) if needle else None
    found = [
        row.item
        for row in shown
        if (before is None or row.seq < before)
        and (
            not needle
            or row.item["subject_id"] == shown_id
            or fold(needle) in fold(row.item["subject_name"] or "")
        )
    ]
    return found[:limit], len(found) > limit


class Log:
    """A state fed with events one at a time, as the service applies them."""

    def __init__(self) -> None:
        self.state = State()
        self.seq = 0
        self.entries: list[str] = []

    def apply(self, event_type: EventType, payload: dict[str, Any]) -> None:
        self.seq += 1
        self.state.apply(self.seq, event_type.value, payload)

    def step(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        if kind == "subject":
            _, who, name = op
            subject_id = SUBJECTS[who]
            subject_kind = "org" if who < 4 else "person"
            payload = {"id": subject_id, "kind": subject_kind, "name": name, "region": None}
            self.apply(EventType.subject_upserted, payload)
        elif kind == "register":
            _, who, code, start, length = op
            entry_id = f"e{len(self.entries)}"
            effective_from = TODAY + dt.timedelta(days=start)
            effective_to = None if length is None else effective_from + dt.timedelta(days=length)
            entry = {
                "id": entry_id,
                "list": CODES[code],
                "subject_id": SUBJECTS[who],
                "subject_kind": "org" if who < 4 else "person",
                "department": "court",
                "decided_on": effective_from.isoformat(),
                "effective_from": effective_from.isoformat(),
                "effective_to": None if effective_to is None else effective_to.isoformat(),
                "doc_no": f"(2026)粤01执{len(self.entries)}号",
                "reason": None,
                "attributes": {},
            }
            self.entries.append(entry_id)
            self.apply(EventType.entry_registered, {"entry": entry})
        elif self.entries:
            entry_id = self.entries[op[1] % len(self.entries)]
            status = self.state.entries[entry_id].status.value
            if kind == "revoke" and status == "active":
                self.apply(EventType.entry_revoked, {"entry_id": entry_id, "on": TODAY.isoformat()})
            elif kind == "object" and status == "active":
                self.apply(EventType.objection_raised, {"entry_id": entry_id, "reason": "x"})
            elif kind == "resolve" and status == "under_objection":
                outcome = op[2]
                payload: dict[str, Any] = {"entry_id": entry_id, "outcome": outcome}
                if outcome == "corrected":
                    payload["effective_to"] = (TODAY + dt.timedelta(days=op[3])).isoformat()
                self.apply(EventType.objection_resolved, payload)


registrations = st.tuples(
    st.just("register"),
    st.integers(0, 7),
    st.integers(0, 2),
    st.integers(-35, 1),
    st.one_of(st.none(), st.integers(1, 90)),
)
ops = st.one_of(
    st.tuples(st.just("subject"), st.integers(0, 7), names),
    registrations,
    registrations,
    registrations,
    st.tuples(st.just("revoke"), st.integers(0, 50)),
    st.tuples(st.just("object"), st.integers(0, 50)),
    st.tuples(
        st.just("resolve"),
        st.integers(0, 50),
        st.sampled_from(["upheld", "rejected", "corrected"]),
        st.integers(-3, 30),
    ),
)


def queries(state: State) -> list[str | None]:
    """Empty and blank ``q``, every name and its pieces, whole ids (full and lower case), junk."""
    found: list[str | None] = [None, "", " ", "*", "张*", "a", "SS", "ＡＢ", "\x00", "😀", ".*"]
    for subject in state.subjects.values():
        found += [subject.id, subject.id.lower(), subject.id[:17]]
        name = subject.name or ""
        for i in range(len(name)):
            found += [name[i:], name[i : i + 1], name[i : i + 2], name[: i + 1]]
    return found


def pages(index: FeedIndex, state: State, code: str, q: str | None) -> None:
    """Every page of ``q`` (limits 1 and 3, following cursors) equals the scan's."""
    for limit in (1, 3):
        before = None
        while True:
            got, more = index.page(code, today=TODAY, q=q, before=before, limit=limit)
            assert ([row.item for row in got], more) == scan(state, LISTS, code, q, before, limit)
            if not more:
                break
            before = got[-1].seq


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(names, min_size=8, max_size=8),
    st.lists(registrations, min_size=3, max_size=30),
    st.lists(ops, max_size=40),
    st.integers(0, 70),
)
def test_index_pages_equal_a_plain_scan(
    first_names: list[str | None],
    first_entries: list[tuple[Any, ...]],
    changes: list[tuple[Any, ...]],
    built_at: int,
) -> None:
    log = Log()
    for who, name in enumerate(first_names):
        log.step(("subject", who, name))
    steps = first_entries + changes
    for op in steps[:built_at]:
        log.step(op)
    kept = FeedIndex.build(log.state, LISTS)
    for op in steps[built_at:]:
        log.step(op)
        assert kept.current(log.state, LISTS)
        kept.refresh(LISTS)
    fresh = FeedIndex.build(log.state, LISTS)
    for code in ("dishonest_judgment_debtor", "focus_supervision"):
        for q in queries(log.state):
            pages(kept, log.state, code, q)
        assert [row.item for row in fresh.page(code, today=TODAY, limit=100)[0]] == [
            row.item for row in kept.page(code, today=TODAY, limit=100)[0]
        ]
    counts = {code: len(scan(log.state, LISTS, code, None, None, 10_000)[0]) for code in kept.lists}
    assert kept.counts(TODAY) == counts == fresh.counts(TODAY)
    assert set(kept.lists) == {"dishonest_judgment_debtor", "a_grade_taxpayer", "focus_supervision"}


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=2, max_size=8), st.integers(0, 3))
def test_a_masked_person_is_found_by_no_unmasked_part(name: str, who: int) -> None:
    """Only ``q`` that the masked name (``张*``) or masked id holds finds a person."""
    log = Log()
    log.step(("subject", 4 + who, name))
    log.step(("register", 4 + who, 0, -1, None))
    index = FeedIndex.build(log.state, LISTS)
    someone = SUBJECTS[4 + who]
    shown = fold(name[0] + "*")
    probes = [name[i:j] for i in range(len(name)) for j in range(i + 1, len(name) + 1)]
    probes += [someone[i:j] for i in range(18) for j in range(i + 1, 19)]
    for q in probes:
        got, _ = index.page("dishonest_judgment_debtor", today=TODAY, q=q)
        folded = fold(q.strip())
        findable = q.strip() == "" or folded in shown or shown_id_of(q) is not None
        assert bool(got) == findable, q
        for row in got:
            assert row.item["subject_id"] == someone[:6] + "********" + someone[14:]
            assert row.item["subject_name"] == name[0] + "*"
    # The name index holds the shown name's characters and pairs only.
    grams = index.lists["dishonest_judgment_debtor"].grams
    assert set(grams) <= grams_of(shown)


def test_the_index_follows_changes_and_rebuilds_when_it_must() -> None:
    log = Log()
    log.step(("subject", 0, "广州示例贸易有限公司"))
    log.step(("register", 0, 0, -1, None))
    index = FeedIndex.build(log.state, LISTS)
    assert [r.item["subject_name"] for r in index.page(CODES[0], today=TODAY, q="示例")[0]] == [
        "广州示例贸易有限公司"
    ]
    log.step(("subject", 0, "广州新名有限公司"))  # renamed: found by its new name only
    index.refresh(LISTS)
    assert index.page(CODES[0], today=TODAY, q="示例")[0] == []
    assert len(index.page(CODES[0], today=TODAY, q="新名")[0]) == 1
    # Found both by name and by whole id: one row, once.
    log.step(("subject", 1, f"{SUBJECTS[1]}有限公司"))
    log.step(("register", 1, 0, -1, None))
    index.refresh(LISTS)
    assert len(index.page(CODES[0], today=TODAY, q=SUBJECTS[1])[0]) == 1
    # The same day the entry leaves its 30-day period: no rebuild, another answer.
    assert index.page(CODES[0], today=TODAY + dt.timedelta(days=29))[0] != []
    assert len(index.page(CODES[0], today=TODAY + dt.timedelta(days=30))[0]) == 0
    # A policy that changes what is published or for how long: the index is rebuilt.
    assert index.current(log.state, LISTS)
    assert not index.current(log.state, LISTS_PLAIN)
    # More changes than the state keeps: the index is too far behind to catch up.
    for i in range(state_projection.CHANGES_KEPT + 1):
        log.apply(EventType.subject_upserted, {"id": SUBJECTS[0], "kind": "org", "name": f"n{i}"})
    assert not index.current(log.state, LISTS)
    assert FeedIndex.build(log.state, LISTS).current(log.state, LISTS)
