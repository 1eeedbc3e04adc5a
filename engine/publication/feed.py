"""The public feed (红黑榜): entries of published lists in their publicity period, persons masked.

What is public is decided here and nowhere else:

- lists whose definition says ``publish`` (default: black and red lists, not record lists);
- entries active and in force today whose ``effective_from + max_publicity_days`` is not
  before today (a list without ``max_publicity_days`` keeps them while in force);
- for a person, only the masked id (``440106********0115``) and name (``张*``); orgs whole;
- never an entry imported from a peer instance (docs/exchange.md): its origin publishes it.

``q`` is matched against what the feed shows and nothing else: a substring of the shown name,
or a whole id, compared in its shown form (a citizen number is masked before it is compared).
So a person's full id or full name finds exactly what the masked feed shows to anyone who
reads it page by page, and two citizen numbers with the same masked form get the same answer:
no public route confirms that a full id or a full name is on a list.

The rows are built once per (event-log position, policy version, day) and shared by every
request until the state moves: a page is a slice and a filter over prepared rows.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from engine.decisions.queries import decode_cursor, encode_cursor
from engine.errors import NotFound
from engine.registry.access import mask_id, mask_name
from engine.registry.identifiers import mask_subject_id
from engine.service import Service
from engine.state import Entry, State
from engine.timing import china_today
from measures.schema import ListDefinition, SubjectKind

MAX_LIMIT = 100
MAX_Q_LENGTH = 200


@dataclass(frozen=True, slots=True)
class PublicRow:
    """One entry as the feed shows it, with what ``q`` is compared with."""

    seq: int
    entry_id: str
    subject_id: str  # the whole id, never shown: the public report looks an org up by it
    item: dict[str, Any]
    name_text: str
    id_text: str


@dataclass(frozen=True, slots=True)
class _Prepared:
    key: tuple[int, str | None, dt.date]
    rows: dict[str, list[PublicRow]]  # list code -> rows, newest registration first
    by_subject: dict[str, list[tuple[str, PublicRow]]]  # whole subject id -> (list, row)


_CACHE: weakref.WeakKeyDictionary[Service, _Prepared] = weakref.WeakKeyDictionary()
_BUILD = threading.Lock()


def in_publicity(entry: Entry, definition: ListDefinition, today: dt.date) -> bool:
    """In force today and not past the list's ``max_publicity_days`` from ``effective_from``."""
    if not entry.in_force(today):
        return False
    if definition.max_publicity_days is None:
        return True
    try:
        last = entry.effective_from + dt.timedelta(days=definition.max_publicity_days)
    except OverflowError:
        return True
    return today <= last


def public_item(state: State, entry: Entry) -> PublicRow:
    """The entry as the feed shows it."""
    subject = state.subjects.get(entry.subject_id)
    name = subject.name if subject is not None else None
    if entry.subject_kind is SubjectKind.person:
        shown_id, shown_name = mask_id(entry.subject_id), mask_name(name)
    else:
        shown_id, shown_name = mask_subject_id(entry.subject_id), name
    item = {
        "subject_name": shown_name,
        "subject_id": shown_id,
        "subject_kind": entry.subject_kind.value,
        "department": entry.department,
        "doc_no": entry.doc_no,
        "decided_on": entry.decided_on.isoformat(),
        "effective_from": entry.effective_from.isoformat(),
        "effective_to": None if entry.effective_to is None else entry.effective_to.isoformat(),
        "reason": entry.reason,
    }
    return PublicRow(
        seq=entry.registered_seq,
        entry_id=entry.id,
        subject_id=entry.subject_id,
        item=item,
        name_text=shown_name or "",
        id_text=shown_id,
    )


def _prepared(service: Service) -> _Prepared:
    """The feed's rows at the state's position (built when the state or the day moved)."""
    service.catch_up()
    today = china_today()
    key = (service.state.seq, service.state.policy_version, today)
    cached = _CACHE.get(service)
    if cached is not None and cached.key == key:
        return cached
    with _BUILD:
        cached = _CACHE.get(service)
        if cached is not None and cached.key == key:
            return cached
        with service.state.lock:
            state = service.state
            key = (state.seq, state.policy_version, today)
            lists = service.policy.bundle.vocabulary.lists
            published = {code: d for code, d in lists.items() if d.published}
            rows: dict[str, list[PublicRow]] = {code: [] for code in published}
            for entry in state.entries.values():
                definition = published.get(entry.list)
                if (
                    definition is not None
                    and entry.origin is None
                    and in_publicity(entry, definition, today)
                ):
                    rows[entry.list].append(public_item(state, entry))
        by_subject: dict[str, list[tuple[str, PublicRow]]] = {}
        for code, found in rows.items():
            found.sort(key=lambda row: row.seq, reverse=True)
            for row in found:
                by_subject.setdefault(row.subject_id, []).append((code, row))
        prepared = _Prepared(key=key, rows=rows, by_subject=by_subject)
        _CACHE[service] = prepared
        return prepared


def published_lists(service: Service) -> list[dict[str, Any]]:
    """``GET /public/v1/lists``: every published list (vocabulary order) with its entry count."""
    prepared = _prepared(service)
    lists = service.policy.bundle.vocabulary.lists
    return [
        {
            "list": code,
            "name": lists[code].name,
            "kind": lists[code].kind.value,
            "entries": len(rows),
        }
        for code, rows in prepared.rows.items()
        if code in lists
    ]


def _shown_id(text: str) -> str | None:
    """``q`` as an id in the form the feed shows ids in; None when it is no whole id."""
    candidate = text.strip().upper()
    if len(candidate) != 18 or not candidate.isalnum() or not candidate.isascii():
        return None
    return mask_subject_id(candidate)


def matches(row: PublicRow, q: str, shown_id: str | None) -> bool:
    """Whether ``q`` finds ``row``: a substring of the shown name, or the whole shown id."""
    return (shown_id is not None and row.id_text == shown_id) or q in row.name_text


def list_entries(
    service: Service,
    list_code: str,
    *,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    """``GET /public/v1/lists/{list}/entries``: newest registration first, ``limit`` a page.

    An unknown or unpublished list is 404 ``unknown_list`` (the same answer for both: the feed
    does not tell which lists exist but are kept off it).
    """
    prepared = _prepared(service)
    rows = prepared.rows.get(list_code)
    if rows is None:
        raise NotFound("no published list with this code", code="unknown_list")
    before = None if cursor is None else decode_cursor(cursor)
    needle = (q or "").strip()
    shown_id = _shown_id(needle) if needle else None
    page: list[PublicRow] = []
    more = False
    for row in rows:
        if before is not None and row.seq >= before:
            continue
        if needle and not matches(row, needle, shown_id):
            continue
        if len(page) == limit:
            more = True
            break
        page.append(row)
    return {
        "items": [row.item for row in page],
        "next_cursor": encode_cursor(page[-1].seq) if more and page else None,
    }


def public_entries_of(service: Service, subject_id: str) -> list[dict[str, Any]]:
    """The feed's items about one subject, every published list, newest first (with ``list``)."""
    prepared = _prepared(service)
    found = [
        (row.seq, {"list": code, **row.item})
        for code, row in prepared.by_subject.get(subject_id, [])
    ]
    return [item for _seq, item in sorted(found, key=lambda pair: pair[0], reverse=True)]
