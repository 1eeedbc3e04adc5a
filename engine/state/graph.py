"""The role graph: which person holds which role in which org, and when.

A holding is (org, person, role, start, end): the role is held from ``start`` through ``end``,
both days included; ``end`` None means still held. Its identity is (org, person, role, start):

- one person may hold several roles in one org, each its own holding;
- one (org, person, role) may have several periods, told apart by ``start``; overlapping
  periods are kept as registered, so a query may return both;
- adding a holding whose (org, person, role, start) is already there replaces its ``end``:
  that is how a registrar records that a legal representative has left office.

Every answer is sorted by (org_id, person_id, role, start), so it is the same on every worker
and in every replay.

:class:`CompactRoleGraph` is the representation the service uses. The product owner's first
choice, a networkx ``MultiDiGraph``, sits behind the same :class:`RoleGraph` interface in
``bench/graph_scale.py``; at city scale it needed several times the memory and was slower per
query (numbers in ``bench/README.md``), and nothing here needs graph algorithms: propagation is
one hop.
"""

from __future__ import annotations

import gc
import threading
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import islice
from operator import attrgetter
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RoleHolding:
    """One period in which a person holds a role in an org (``end`` None: still held)."""

    org_id: str
    person_id: str
    role: str
    start: date
    end: date | None

    def held_on(self, day: date) -> bool:
        """Whether the role is held on ``day`` (start and end days included)."""
        return self.start <= day and (self.end is None or day <= self.end)


def holding_order(holding: RoleHolding) -> tuple[str, str, str, date]:
    """The sort key of every answer: (org_id, person_id, role, start), unique per holding."""
    return (holding.org_id, holding.person_id, holding.role, holding.start)


class RoleGraph(Protocol):
    """What the check path and the registry need from the role graph, whatever stores it."""

    def add(self, org_id: str, person_id: str, role: str, start: date, end: date | None) -> bool:
        """Record a holding; True when new, False when it replaced the end of an existing one."""
        ...

    def holders(self, org_id: str, roles: Collection[str], on: date) -> list[RoleHolding]:
        """Who held any of ``roles`` in the org on day ``on``."""
        ...

    def positions(self, person_id: str, roles: Collection[str], on: date) -> list[RoleHolding]:
        """In which orgs the person held any of ``roles`` on day ``on``."""
        ...

    def relations_of(self, subject_id: str) -> list[RoleHolding]:
        """Every holding of the subject, as org or as person, at any date."""
        ...

    def __len__(self) -> int:
        """How many holdings are recorded."""
        ...


def check_period(start: date, end: date | None) -> None:
    """Refuse a period that ends before it starts (the registry reports it as a 422 first)."""
    if end is not None and end < start:
        raise ValueError(f"end {end} is before start {start}")


_org_side = attrgetter("person_id", "role", "start")  # order of an org's holdings
_person_side = attrgetter("org_id", "role", "start")  # order of a person's holdings

Row = tuple[str, str, str, date, date | None]
"""(org_id, person_id, role, start, end), as :meth:`CompactRoleGraph.load` takes them."""


_LOAD_CHUNK = 250_000


class CompactRoleGraph:
    """Role graph in two dicts of sorted tuples sharing one object per holding.

    Memory: one str per id, one date per day and one str per role are shared by every
    holding, and each holding is one slotted object referenced from its org's tuple and its
    person's tuple.

    Threads: readers take no lock. Writers are serialised by a lock; they build new tuples
    and store each with one dict assignment, atomic under the GIL, so a reader sees a
    subject's old tuple or its new one, never a half-built one. A holding may show on its
    org's side a moment before its person's side.
    """

    def __init__(self) -> None:
        self._by_org: dict[str, tuple[RoleHolding, ...]] = {}
        self._by_person: dict[str, tuple[RoleHolding, ...]] = {}
        self._roles: dict[str, str] = {}
        self._days: dict[date, date] = {}
        self._count = 0
        self._write = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def add(self, org_id: str, person_id: str, role: str, start: date, end: date | None) -> bool:
        """Record a holding; True when new, False when it replaced the end of an existing one."""
        check_period(start, end)
        with self._write:
            of_org = self._by_org.get(org_id, ())
            of_person = self._by_person.get(person_id, ())
            holding = self._holding(of_org, of_person, org_id, person_id, role, start, end)
            stored = _merged(of_org, [holding], _org_side)
            self._by_org[holding.org_id] = stored
            self._by_person[holding.person_id] = _merged(of_person, [holding], _person_side)
            created = len(stored) > len(of_org)
            self._count += created
            return created

    def load(self, rows: Iterable[Row]) -> int:
        """Add rows in order as ``add`` would, with the GC paused; returns how many are new."""
        rows = iter(rows)
        created = 0
        with self._write, paused_gc():
            # In chunks, so the grouping lists of one chunk at a time add to the peak memory.
            while chunk := list(islice(rows, _LOAD_CHUNK)):
                created += self._insert(chunk)
        return created

    def _insert(self, rows: Iterable[Row]) -> int:
        new_by_org: dict[str, list[RoleHolding]] = {}
        new_by_person: dict[str, list[RoleHolding]] = {}
        for org_id, person_id, role, start, end in rows:
            check_period(start, end)
            of_org = new_by_org.get(org_id)
            of_person = new_by_person.get(person_id)
            holding = self._holding(
                of_org or self._by_org.get(org_id),
                of_person or self._by_person.get(person_id),
                org_id,
                person_id,
                role,
                start,
                end,
            )
            if of_org is None:
                of_org = new_by_org[holding.org_id] = []
            if of_person is None:
                of_person = new_by_person[holding.person_id] = []
            of_org.append(holding)
            of_person.append(holding)
        created = 0
        for org_id, added in new_by_org.items():
            before = self._by_org.get(org_id, ())
            after = _merged(before, added, _org_side)
            self._by_org[org_id] = after
            created += len(after) - len(before)
        for person_id, added in new_by_person.items():
            self._by_person[person_id] = _merged(
                self._by_person.get(person_id, ()), added, _person_side
            )
        self._count += created
        return created

    def _holding(
        self,
        of_org: Sequence[RoleHolding] | None,
        of_person: Sequence[RoleHolding] | None,
        org_id: str,
        person_id: str,
        role: str,
        start: date,
        end: date | None,
    ) -> RoleHolding:
        """A holding made of the id, role and date objects already stored, where there are."""
        days = self._days
        return RoleHolding(
            # An id's str is taken from a holding that has it, so each id is stored once.
            of_org[0].org_id if of_org else org_id,
            of_person[0].person_id if of_person else person_id,
            self._roles.setdefault(role, role),
            days.setdefault(start, start),
            None if end is None else days.setdefault(end, end),
        )

    def sides(
        self,
    ) -> tuple[Mapping[str, tuple[RoleHolding, ...]], Mapping[str, tuple[RoleHolding, ...]]]:
        """Every org's and every person's holdings, each in its answer order (for snapshots)."""
        return self._by_org, self._by_person

    @classmethod
    def from_sides(
        cls,
        by_org: dict[str, tuple[RoleHolding, ...]],
        by_person: dict[str, tuple[RoleHolding, ...]],
        *,
        roles: Iterable[str],
        days: Iterable[date],
    ) -> CompactRoleGraph:
        """The graph whose ``sides()`` these are: both sides hold the same holding objects, made
        of the given role and day objects (shared with later ``add``s)."""
        graph = cls()
        graph._by_org = by_org
        graph._by_person = by_person
        graph._roles = {role: role for role in roles}
        graph._days = {day: day for day in days}
        graph._count = sum(map(len, by_org.values()))
        return graph

    def holders(self, org_id: str, roles: Collection[str], on: date) -> list[RoleHolding]:
        """Who held any of ``roles`` in the org on day ``on``."""
        return [h for h in self._by_org.get(org_id, ()) if h.role in roles and h.held_on(on)]

    def positions(self, person_id: str, roles: Collection[str], on: date) -> list[RoleHolding]:
        """In which orgs the person held any of ``roles`` on day ``on``."""
        return [h for h in self._by_person.get(person_id, ()) if h.role in roles and h.held_on(on)]

    def relations_of(self, subject_id: str) -> list[RoleHolding]:
        """Every holding of the subject, as org or as person, at any date."""
        as_org = self._by_org.get(subject_id, ())
        as_person = self._by_person.get(subject_id, ())
        if not as_person or not as_org:
            return list(as_org or as_person)
        # About 1 citizen number in 341 is also a valid org code: an id may be on both sides.
        unique = {id(h): h for h in (*as_org, *as_person)}
        return sorted(unique.values(), key=holding_order)


def _merged(
    held: tuple[RoleHolding, ...],
    added: list[RoleHolding],
    order: Callable[[RoleHolding], tuple[str, str, date]],
) -> tuple[RoleHolding, ...]:
    """``held`` with ``added`` put in order, each replacing a holding with the same key."""
    merged = list(held)
    for holding in added:
        # bisect, not a re-sort: a "professional legal representative" may hold thousands.
        wanted = order(holding)
        at = bisect_left(merged, wanted, key=order)
        if at < len(merged) and order(merged[at]) == wanted:
            merged[at] = holding
        else:
            merged.insert(at, holding)
    return tuple(merged)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Keep the cyclic GC out of a bulk load, then freeze what was loaded.

    Millions of new container objects would trigger many collections while loading and make
    every later full collection walk them (seconds); ``gc.freeze`` moves everything alive
    into the permanent generation. Meant for start-up: it freezes the whole process's heap.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
