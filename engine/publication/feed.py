"""The public feed (红黑榜): entries of published lists in their publicity period, persons masked.

What is public is decided here and nowhere else:

- lists whose definition says ``publish`` (default: black and red lists, not record lists);
- entries active and in force today whose ``effective_from + max_publicity_days`` is not
  before today (a list without ``max_publicity_days`` keeps them while in force);
- for a person, only the masked id (``440106********0115``) and name (``张*``); orgs whole.

``q`` is matched against what the feed shows and nothing else: a substring of the shown name,
or a whole id, compared in its shown form (a citizen number is masked before it is compared).
Names and ``q`` are compared folded (NFKC, case folded: ``ＡＢＣ`` and ``abc`` find ``Abc``).
So a person's full id or full name finds exactly what the masked feed shows to anyone who
reads it page by page, and two citizen numbers with the same masked form get the same answer:
no public route confirms that a full id or a full name is on a list.

Every request reads one in-memory index per process (``engine.publication.index``), kept
current by applying the state's changes since it was last read; it is built once, in the
background when the app starts (``warm``), or by the first request that needs it.
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
import time
import weakref
from typing import Any

import structlog

from engine.decisions.queries import decode_cursor, encode_cursor
from engine.errors import NotFound
from engine.publication.index import FeedIndex, PublicRow
from engine.service import Service
from engine.state import Entry
from engine.timing import china_today
from measures.schema import ListDefinition

MAX_LIMIT = 100
MAX_Q_LENGTH = 200

log = structlog.get_logger(__name__)

_INDEXES: weakref.WeakKeyDictionary[Service, FeedIndex] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
"""Held while the index is built, refreshed or read: one reader or writer of it at a time."""


def in_publicity(entry: Entry, definition: ListDefinition, today: dt.date) -> bool:
    """In force today and not past the list's ``max_publicity_days`` from ``effective_from``.

    The rule as a plain test of one entry; the index decides it with two integer comparisons
    (``PublicRow.shown_on``), and tests/engine/publication/test_feed_index.py checks that both
    give the same feed."""
    if not entry.in_force(today):
        return False
    if definition.max_publicity_days is None:
        return True
    try:
        last = entry.effective_from + dt.timedelta(days=definition.max_publicity_days)
    except OverflowError:
        return True
    return today <= last


def _index(service: Service) -> FeedIndex:
    """The service's feed index at the state's position (caught up first, ``_LOCK`` held)."""
    lists = service.policy.bundle.vocabulary.lists
    index = _INDEXES.get(service)
    if index is not None and index.current(service.state, lists):
        index.refresh(lists)
        return index
    started = time.perf_counter()
    index = FeedIndex.build(service.state, lists)
    _INDEXES[service] = index
    log.info(
        "publication.feed_built",
        rows=len(index.where),
        seq=index.seq,
        ms=round((time.perf_counter() - started) * 1000),
    )
    return index


def warm(service: Service) -> None:
    """Build the feed's index now (the app does it in the background when it starts)."""
    try:
        service.catch_up()
        with _LOCK:
            _index(service)
        # A million long-lived rows and postings: out of the cyclic GC's sight, as the state
        # is (``Service.start``), or a full collection walks them all in some request.
        gc.freeze()
    except Exception as error:  # a start without a policy or database: the first request retries
        log.warning("publication.feed_not_built", error=repr(error))


def published_lists(service: Service) -> list[dict[str, Any]]:
    """``GET /public/v1/lists``: every published list (vocabulary order) with its entry count."""
    service.catch_up()
    with _LOCK:
        index = _index(service)
        counts = index.counts(china_today())
    lists = service.policy.bundle.vocabulary.lists
    return [
        {"list": code, "name": lists[code].name, "kind": lists[code].kind.value, "entries": n}
        for code, n in counts.items()
        if code in lists
    ]


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
    before = None if cursor is None else decode_cursor(cursor)
    service.catch_up()
    with _LOCK:
        index = _index(service)
        if list_code not in index.lists:
            raise NotFound("no published list with this code", code="unknown_list")
        page, more = index.page(list_code, today=china_today(), q=q, before=before, limit=limit)
    return {
        "items": [row.item for row in page],
        "next_cursor": encode_cursor(page[-1].seq) if more and page else None,
    }


def public_entries_of(service: Service, subject_id: str) -> list[dict[str, Any]]:
    """The feed's items about one subject, every published list, newest first (with ``list``)."""
    service.catch_up()
    with _LOCK:
        found: list[tuple[str, PublicRow]] = _index(service).rows_of(subject_id, china_today())
    return [{"list": code, **row.item} for code, row in found]
