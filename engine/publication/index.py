"""The public feed's in-memory index: shown rows per list, a name index, a dict of shown ids.

One ``FeedIndex`` per process (per service), built once from the state and then kept current by
applying the state's recent changes (``State.changes``): a registration appends a row, a status
change or a subject's new name replaces one. Nothing in it depends on the day: whether a row is
in its publicity period is two integer comparisons at query time, so the index survives midnight
and a page costs what it reads, not a pass over the entries.

What it holds is only what the feed shows. For a person that is the masked id
(``440106********0115``) and the masked name (``张*``), so nothing built from the unmasked name
or id is ever in it and no search can find a person by the parts the feed hides.

- ``rows``: per published list, every entry of it ever seen in registration (``seq``) order,
  ``None`` where the entry is not active (revoked, repaired, under objection). Positions never
  move: a page walks them backwards from the cursor.
- ``grams``: per list, each pair of adjacent characters (bigram) of the *folded* shown names
  (NFKC, case folded: ``fold``) -> the ascending positions of the rows whose name holds it.
  ``q`` of two characters or more reads the shortest posting list of its pairs; ``q`` of one
  character walks the rows (a single character is mostly a common one: the page fills fast).
  Every candidate is then checked with the plain substring test, so a stale position (a renamed
  subject) or a pair match that is no substring never reaches an answer.
- ``ids``: per list, shown id -> ascending positions.
"""

from __future__ import annotations

import datetime as dt
import heapq
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.registry.access import mask_id, mask_name
from engine.registry.identifiers import mask_subject_id
from engine.state import Entry, EntryStatus, State
from measures.schema import ListDefinition, SubjectKind


def fold(text: str) -> str:
    """The form names and ``q`` are compared in: NFKC, case folded (``ＡＢＣ`` finds ``abc``)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def shown_id_of(q: str) -> str | None:
    """``q`` as an id in the form the feed shows ids in; None when it is no whole id."""
    candidate = q.strip().upper()
    if len(candidate) != 18 or not candidate.isalnum() or not candidate.isascii():
        return None
    return mask_subject_id(candidate)


@dataclass(frozen=True, slots=True)
class PublicRow:
    """One entry as the feed shows it, with what ``q`` is compared with and its shown days."""

    entry: Entry
    shown_name: str | None
    id_text: str  # the shown id
    folded_name: str  # fold(shown name)
    first: int  # ordinal of the first day it is shown (effective_from)
    last: int | None  # ordinal of the last day it is shown; None: while in force, no end

    @property
    def seq(self) -> int:
        return self.entry.registered_seq

    @property
    def subject_id(self) -> str:
        """The whole id, never shown: the public report looks an org up by it."""
        return self.entry.subject_id

    def shown_on(self, day: int) -> bool:
        """Whether the feed shows it on the day with ordinal ``day``."""
        return self.first <= day and (self.last is None or day <= self.last)

    @property
    def item(self) -> dict[str, Any]:
        """The feed's item (built when answered: a page reads 20 rows of 200,000)."""
        entry = self.entry
        return {
            "subject_name": self.shown_name,
            "subject_id": self.id_text,
            "subject_kind": entry.subject_kind.value,
            "department": entry.department,
            "doc_no": entry.doc_no,
            "decided_on": entry.decided_on.isoformat(),
            "effective_from": entry.effective_from.isoformat(),
            "effective_to": (
                None if entry.effective_to is None else entry.effective_to.isoformat()
            ),
            "reason": entry.reason,
        }


def public_row(state: State, entry: Entry, definition: ListDefinition) -> PublicRow:
    """The entry as the feed shows it (whether or not it is active or in its period today)."""
    subject = state.subjects.get(entry.subject_id)
    name = subject.name if subject is not None else None
    if entry.subject_kind is SubjectKind.person:
        shown_id, shown_name = mask_id(entry.subject_id), mask_name(name)
    else:
        shown_id, shown_name = mask_subject_id(entry.subject_id), name
    first = entry.effective_from.toordinal()
    last = None if entry.effective_to is None else entry.effective_to.toordinal() - 1
    if definition.max_publicity_days is not None:
        ends = first + definition.max_publicity_days
        last = ends if last is None else min(last, ends)
    return PublicRow(
        entry=entry,
        shown_name=shown_name,
        id_text=shown_id,
        folded_name=fold(shown_name) if shown_name else "",
        first=first,
        last=last,
    )


def row_matches(row: PublicRow, folded_q: str, shown_id: str | None) -> bool:
    """Whether ``q`` finds ``row``: a substring of the shown name, or the whole shown id."""
    return (shown_id is not None and row.id_text == shown_id) or folded_q in row.folded_name


def grams_of(folded: str) -> set[str]:
    """Every pair of adjacent characters of a folded name."""
    return {folded[i : i + 2] for i in range(len(folded) - 1)}


def publication_terms(lists: Mapping[str, ListDefinition]) -> tuple[tuple[str, int | None], ...]:
    """What of a policy decides the feed's rows: the published lists and their periods."""
    return tuple((code, d.max_publicity_days) for code, d in lists.items() if d.published)


def _add(postings: dict[str, list[int]], key: str, position: int) -> None:
    found = postings.get(key)
    if found is None:
        postings[key] = [position]
    elif found[-1] < position:
        found.append(position)
    else:
        at = bisect_left(found, position)
        if at == len(found) or found[at] != position:
            found.insert(at, position)


@dataclass(slots=True)
class ListIndex:
    """One published list's rows, name index and id index (see the module's docstring)."""

    definition: ListDefinition
    seqs: list[int] = field(default_factory=list)
    rows: list[PublicRow | None] = field(default_factory=list)
    grams: dict[str, list[int]] = field(default_factory=dict)
    ids: dict[str, list[int]] = field(default_factory=dict)

    def put(self, position: int, row: PublicRow | None) -> None:
        """Set the row at ``position`` (None: not shown) and index what it shows."""
        self.rows[position] = row
        if row is None:
            return
        for gram in grams_of(row.folded_name):
            _add(self.grams, gram, position)
        _add(self.ids, row.id_text, position)

    def index_all(self) -> None:
        """Index every row (a new index: positions ascend, so postings only grow at the end)."""
        grams: dict[str, list[int]] = {}
        ids: dict[str, list[int]] = {}
        get_gram, get_id = grams.get, ids.get
        for position, row in enumerate(self.rows):
            if row is None:
                continue
            name = row.folded_name
            for gram in {name[i : i + 2] for i in range(len(name) - 1)}:
                found = get_gram(gram)
                if found is None:
                    grams[gram] = [position]
                else:
                    found.append(position)
            found = get_id(row.id_text)
            if found is None:
                ids[row.id_text] = [position]
            else:
                found.append(position)
        self.grams, self.ids = grams, ids

    def append(self, seq: int, row: PublicRow | None) -> int:
        self.seqs.append(seq)
        self.rows.append(None)
        self.put(len(self.rows) - 1, row)
        return len(self.rows) - 1

    def candidates(self, folded_q: str, shown_id: str | None, below: int) -> Iterator[int]:
        """Positions below ``below``, descending, that may match ``q`` (a superset)."""
        sources: list[list[int] | range] = []
        if len(folded_q) < 2:  # no pair to look up: every row is a candidate
            sources.append(range(below))
        else:
            pairs = {folded_q[i : i + 2] for i in range(len(folded_q) - 1)}
            lists = [self.grams.get(pair) for pair in pairs]
            present = [found for found in lists if found is not None]
            if len(present) == len(lists):
                sources.append(min(present, key=len))
        if shown_id is not None and shown_id in self.ids:
            sources.append(self.ids[shown_id])
        walks = [_descending(source, below) for source in sources]
        if len(walks) == 1:
            yield from walks[0]
            return
        previous = -1
        for position in heapq.merge(*walks, reverse=True):
            if position != previous:
                yield position
                previous = position


def _descending(source: list[int] | range, below: int) -> Iterator[int]:
    for at in range(bisect_left(source, below) - 1, -1, -1):
        yield source[at]


class FeedIndex:
    """Every published list's ``ListIndex`` at one state position (``seq``)."""

    def __init__(self, state: State, lists: Mapping[str, ListDefinition]) -> None:
        self.state = state
        self.terms = publication_terms(lists)
        self.lists = {code: ListIndex(d) for code, d in lists.items() if d.published}
        self.where: dict[str, tuple[str, int]] = {}  # entry id -> (list, position)
        self.version = 0  # bumped at every change (the count cache's key)
        self._counts: tuple[tuple[int, int], dict[str, int]] | None = None
        with state.lock:
            self.seq = state.seq
            self.policy_version = state.policy_version
            entries = sorted(
                (e for e in state.entries.values() if e.list in self.lists),
                key=lambda entry: entry.registered_seq,
            )
        # Outside the lock: writes go on meanwhile, and ``refresh`` applies what they changed
        # (names are read as they are now, which the refresh would read too).
        for entry in entries:
            list_index = self.lists[entry.list]
            self.where[entry.id] = (entry.list, len(list_index.rows))
            list_index.seqs.append(entry.registered_seq)
            list_index.rows.append(self._row(entry, list_index))
        for list_index in self.lists.values():
            list_index.index_all()

    @classmethod
    def build(cls, state: State, lists: Mapping[str, ListDefinition]) -> FeedIndex:
        """A new index of ``state``, caught up with every change made while it was built."""
        while True:
            index = cls(state, lists)
            if index.current(state, lists):  # else more changed meanwhile than the state keeps
                index.refresh(lists)
                return index

    def current(self, state: State, lists: Mapping[str, ListDefinition]) -> bool:
        """Whether ``refresh`` can bring this index to ``state`` (else: build a new one)."""
        return (
            state is self.state
            and publication_terms(lists) == self.terms
            and self.seq >= state.changes_complete_after
        )

    def refresh(self, lists: Mapping[str, ListDefinition]) -> None:
        """Apply the state's changes since ``seq`` (the caller checked ``current``)."""
        state = self.state
        with state.lock:
            news: list[tuple[int, str, str]] = []
            for change in reversed(state.changes):
                if change[0] <= self.seq:
                    break
                news.append(change)
            news.reverse()
            for _seq, kind, key in news:
                if kind == "entry":
                    self._refresh_entry(key)
                elif kind == "subject":
                    for entry_id in state.entries_by_subject.get(key, ()):
                        self._refresh_entry(entry_id)
            if news:
                self.version += 1
            self.seq = state.seq
            self.policy_version = state.policy_version
            self.lists_definitions(lists)

    def lists_definitions(self, lists: Mapping[str, ListDefinition]) -> None:
        """Keep the definitions of the policy in force (names, kinds) for the answers."""
        for code, list_index in self.lists.items():
            list_index.definition = lists[code]

    def _register(self, entry: Entry) -> None:
        list_index = self.lists[entry.list]
        row = self._row(entry, list_index)
        self.where[entry.id] = (entry.list, list_index.append(entry.registered_seq, row))

    def _row(self, entry: Entry, list_index: ListIndex) -> PublicRow | None:
        if entry.status is not EntryStatus.active or entry.origin is not None:
            return None  # imported entries are the origin's to publish (docs/exchange.md)
        return public_row(self.state, entry, list_index.definition)

    def _refresh_entry(self, entry_id: str) -> None:
        entry = self.state.entries.get(entry_id)
        if entry is None or entry.list not in self.lists:
            return
        found = self.where.get(entry_id)
        if found is None:
            self._register(entry)
            return
        code, position = found
        list_index = self.lists[code]
        list_index.put(position, self._row(entry, list_index))

    # --- reading ---------------------------------------------------------------------------

    def page(
        self,
        code: str,
        *,
        today: dt.date,
        q: str | None = None,
        before: int | None = None,
        limit: int = 20,
    ) -> tuple[list[PublicRow], bool]:
        """Up to ``limit`` rows shown today, newest registration first, registered before the
        ``before`` seq, that ``q`` finds; and whether there are more."""
        list_index = self.lists[code]
        day = today.toordinal()
        below = len(list_index.rows) if before is None else bisect_left(list_index.seqs, before)
        needle = (q or "").strip()
        folded = fold(needle)
        shown_id = shown_id_of(needle) if needle else None
        walk: Iterable[int] = (
            list_index.candidates(folded, shown_id, below) if needle else range(below - 1, -1, -1)
        )
        page: list[PublicRow] = []
        rows = list_index.rows
        for position in walk:
            row = rows[position]
            if row is None or not row.shown_on(day):
                continue
            if needle and not row_matches(row, folded, shown_id):
                continue
            if len(page) == limit:
                return page, True
            page.append(row)
        return page, False

    def counts(self, today: dt.date) -> dict[str, int]:
        """Per published list, how many rows the feed shows today."""
        key = (self.version, today.toordinal())
        if self._counts is not None and self._counts[0] == key:
            return self._counts[1]
        day = key[1]
        counts = {
            code: sum(1 for row in list_index.rows if row is not None and row.shown_on(day))
            for code, list_index in self.lists.items()
        }
        self._counts = (key, counts)
        return counts

    def rows_of(self, subject_id: str, today: dt.date) -> list[tuple[str, PublicRow]]:
        """The (list, row) pairs shown today about one subject, newest registration first."""
        day = today.toordinal()
        found: list[tuple[str, PublicRow]] = []
        for entry_id in self.state.entries_by_subject.get(subject_id, ()):
            where = self.where.get(entry_id)
            if where is None:
                continue
            row = self.lists[where[0]].rows[where[1]]
            if row is not None and row.shown_on(day):
                found.append((where[0], row))
        found.sort(key=lambda pair: pair[1].seq, reverse=True)
        return found
