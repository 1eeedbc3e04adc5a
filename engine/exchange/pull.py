"""Pulling a peer's feed: fetch a page, verify it, apply it in one transaction, repeat.

A page becomes events of this instance's own log (``entry.imported``,
``entry.import_updated`` and the cursor, ``exchange.pulled``), appended by one
``Service.write``: all of it or nothing (docs/exchange.md#jrp-exchange-pull).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlmodel import Session

from engine.entries.derivations import SYSTEM_DEPARTMENT
from engine.entries.registration import subject_events
from engine.entries.views import triggered_view
from engine.errors import JrpError
from engine.exchange.feed import ENTRY_STEPS, MAX_LIMIT
from engine.exchange.peers import Peer
from engine.exchange.verify import Cursor, ExchangeRefused, VerifiedPage, verify_page
from engine.service import Service
from engine.state import Entry, State
from engine.store.events import EventType, NewEvent
from measures.schema import SubjectKind

log = structlog.get_logger(__name__)

_NAMESPACE = uuid.UUID("6f1d2a52-7a0e-4c55-9b1e-4a3c0e9d1f00")
TIMEOUT = 30.0


def local_entry_id(key_id: str, original_id: str) -> str:
    """The local id of an imported entry: stable for (publisher key, original id)."""
    return str(uuid.uuid5(_NAMESPACE, f"{key_id}:{original_id}"))


@dataclass
class PullReport:
    """What a pull did, page by page."""

    peer: str
    pages: int = 0
    records: int = 0
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    cursor: int = 0
    refused: str | None = None
    pages_detail: list[dict[str, int]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.peer}: {self.pages} pages, {self.records} records, {self.imported} imported, "
            f"{self.updated} updated, {self.skipped} skipped, cursor seq {self.cursor}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "peer": self.peer, "pages": self.pages, "records": self.records,
            "imported": self.imported, "updated": self.updated, "skipped": self.skipped,
            "cursor": self.cursor, "refused": self.refused,
        }  # fmt: skip


def fetch_page(peer: Peer, cursor: Cursor, *, limit: int) -> Any:
    """GET the page after the cursor; ExchangeRefused when the peer cannot answer it."""
    query = urllib.parse.urlencode(
        {"after": cursor.after, "limit": limit, "known_size": cursor.size}
    )
    url = f"{peer.url}/v1/exchange/events?{query}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {peer.api_key}"})
    try:
        with urllib.request.urlopen(
            request, timeout=TIMEOUT
        ) as answer:  # the URL is http(s) (peers file)
            body = answer.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:500]
        raise ExchangeRefused(f"{peer.name}: {url} answered {exc.code}: {detail}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ExchangeRefused(f"{peer.name}: cannot reach {url}: {reason}") from exc
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ExchangeRefused(f"{peer.name}: {url} answered no JSON") from exc


Fetch = Callable[[Peer, Cursor, int], Any]
"""Gets the page after a cursor (``fetch_page`` over HTTP; tests read a service directly)."""


def _http_fetch(peer: Peer, cursor: Cursor, limit: int) -> Any:
    return fetch_page(peer, cursor, limit=limit)


def pull(
    service: Service,
    peer: Peer,
    *,
    limit: int = 500,
    max_pages: int | None = None,
    fetch: Fetch | None = None,
) -> PullReport:
    """Pull pages until the peer has nothing more; a refused page ends it (``refused`` set)."""
    limit = max(1, min(limit, MAX_LIMIT))
    report = PullReport(peer.name)
    while max_pages is None or report.pages < max_pages:
        service.catch_up()
        cursor = Cursor.of(service.state.exchange_cursors.get(peer.name))
        report.cursor = cursor.after
        try:
            page = (fetch or _http_fetch)(peer, cursor, limit)
            verified = verify_page(page, peer, cursor)
            counts = apply_page(service, peer, cursor, verified)
        except ExchangeRefused as exc:
            report.refused = str(exc)
            log.warning("exchange.refused", peer=peer.name, reason=str(exc))
            return report
        report.pages += 1
        report.records += verified.count
        report.imported += counts["imported"]
        report.updated += counts["updated"]
        report.skipped += counts["skipped"]
        report.cursor = verified.upto
        log.info("exchange.pulled", peer=peer.name, upto=verified.upto, **counts)
        if not page.get("more") or verified.count == 0:
            break
    return report


def apply_page(service: Service, peer: Peer, cursor: Cursor, page: VerifiedPage) -> dict[str, int]:
    """Append the page's events and the new cursor in one transaction; nothing when refused."""
    counts = {"imported": 0, "updated": 0, "skipped": 0}
    if page.count == 0:
        return counts

    def build(_session: Session, state: State) -> list[NewEvent]:
        counts.update(imported=0, updated=0, skipped=0)
        if Cursor.of(state.exchange_cursors.get(peer.name)) != cursor:
            raise ExchangeRefused(
                f"{peer.name}: another pull applied pages meanwhile; run the pull again"
            )
        new = _page_events(service, state, peer, page, counts)
        new.append(
            NewEvent(
                EventType.exchange_pulled,
                {
                    "peer": peer.name,
                    "region": peer.region,
                    "key_id": peer.key_id,
                    "from_after": page.after,
                    "after": page.upto,
                    "first_index": page.first_index,
                    "next_index": page.first_index + page.count,
                    "last_hash": page.last_hash,
                    "checkpoint": page.checkpoint.to_dict(),
                    **counts,
                },
                actor=f"exchange:{peer.name}",
            )
        )
        return new

    service.write(build)
    return counts


def _page_events(
    service: Service, state: State, peer: Peer, page: VerifiedPage, counts: dict[str, int]
) -> list[NewEvent]:
    policy = service.policy
    bundle, runtime = policy.bundle, policy.runtime
    exchange = bundle.exchange
    imports = {} if exchange is None else dict(exchange.imports)
    ignored = set() if exchange is None else set(exchange.ignore)
    vocabulary = bundle.vocabulary
    new: list[NewEvent] = []
    seen_subjects: set[str] = set()
    page_entries: dict[str, Entry] = {}
    actor = f"exchange:{peer.name}"
    for record in page.records:
        where = f"{peer.name}: seq {record.seq}"
        if record.list in ignored:
            counts["skipped"] += 1
            continue
        local_list = imports.get(record.list)
        if local_list is None:
            raise ExchangeRefused(
                f"{where}: unknown list '{record.list}': map it in exchange.yaml (imports) or "
                "ignore it (ignore)"
            )
        if local_list not in vocabulary.lists:
            raise ExchangeRefused(f"{where}: the local list '{local_list}' is not in the policy")
        origin = {
            "peer": peer.name,
            "region": peer.region,
            "key_id": peer.key_id,
            "list": record.list,
            "seq": record.seq,
        }
        if record.type == EventType.entry_registered.value:
            original = record.payload["entry"]
            entry = _imported_entry(original, local_list, peer, where, vocabulary.departments)
            if entry.id in state.entries or entry.id in page_entries:
                raise ExchangeRefused(f"{where}: entry {original['id']} was imported already")
            origin["entry_id"] = str(original["id"])
            if entry.subject_id not in seen_subjects:
                try:
                    new += subject_events(state, entry.subject_id, entry.subject_kind, None)
                except JrpError as exc:
                    raise ExchangeRefused(f"{where}: {exc.message}") from exc
                seen_subjects.add(entry.subject_id)
            page_entries[entry.id] = entry
            payload = {
                "entry": entry.to_payload(),
                "origin": origin,
                "triggered": triggered_view(runtime, entry),
            }
            new.append(
                NewEvent(EventType.entry_imported, payload, subject_id=entry.subject_id,
                         actor=actor, department=entry.department)
            )  # fmt: skip
            counts["imported"] += 1
        elif record.type in ENTRY_STEPS:
            original_id = str(record.payload["entry_id"])
            local_id = local_entry_id(peer.key_id, original_id)
            known = state.entries.get(local_id) or page_entries.get(local_id)
            if known is None:
                # Registered before its list was exported there or imported here: this
                # instance never had it, so the step changes nothing here.
                log.info("exchange.step_skipped", peer=peer.name, seq=record.seq)
                counts["skipped"] += 1
                continue
            origin.update(entry_id=original_id, type=record.type)
            payload = {**record.payload, "entry_id": local_id, "origin": origin}
            new.append(
                NewEvent(EventType.entry_import_updated, payload, subject_id=known.subject_id,
                         actor=actor, department=known.department)
            )  # fmt: skip
            counts["updated"] += 1
        else:
            raise ExchangeRefused(f"{where}: event type {record.type} is not exchanged")
    return new


def _imported_entry(
    original: dict[str, Any], local_list: str, peer: Peer, where: str, departments: Any
) -> Entry:
    try:
        entry = Entry.from_payload(original, seq=0)
        SubjectKind(entry.subject_kind)
    except (KeyError, TypeError, ValueError) as exc:
        raise ExchangeRefused(f"{where}: malformed entry: {exc}") from exc
    if entry.department not in departments and entry.department != SYSTEM_DEPARTMENT:
        raise ExchangeRefused(
            f"{where}: department '{entry.department}' is not in the local vocabulary"
        )
    payload = entry.to_payload()
    payload.update(
        id=local_entry_id(peer.key_id, entry.id),
        list=local_list,
        derivation_id=None,
        derived_from=[],
    )
    return Entry.from_payload(payload, seq=0)
