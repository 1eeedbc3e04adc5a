"""The credit report (信用报告) of a subject, and the public report of an org.

A report is a JSON object with an id, the time it was made, the policy version, and its
``sha256``: the SHA-256 of the report's canonical JSON (keys sorted, UTF-8, no spaces)
without the ``sha256`` key. The PDF prints the id and that hash on every page, so a PDF can
be matched with the JSON it was made from.

Bounded: the entries come a page at a time (``limit`` at most ``MAX_LIMIT``, ``cursor`` the
last registration seq of the previous page); reaching entries and holdings are cut at
``MAX_LISTED`` with their totals given, so a subject with thousands of entries or holdings
gives a report of bounded size and time.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from engine.checks.overview import by_matter
from engine.commitments import commitments_of
from engine.commitments.views import STATUS_NAMES
from engine.decisions.canonical import canonical_time
from engine.decisions.queries import decode_cursor, encode_cursor
from engine.entries.views import entry_view
from engine.errors import NotFound
from engine.publication.feed import public_entries_of
from engine.registry.access import record_access
from engine.registry.identifiers import either_kind_id
from engine.registry.views import _relation_view, reaching_entries
from engine.reports.history import histories
from engine.service import Service
from engine.store.tables import DECISION_TABLE
from engine.timing import china_today, utcnow
from measures.schema import SubjectKind

MAX_LIMIT = 500
MAX_LISTED = 500
_D = DECISION_TABLE.c


def seal(report: dict[str, Any]) -> dict[str, Any]:
    """``report`` with its ``sha256`` (of the canonical JSON of everything else)."""
    body = {key: value for key, value in report.items() if key != "sha256"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return {**body, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def _decisions(service: Service, subject_id: str) -> dict[str, Any]:
    query = sa.select(sa.func.count(), sa.func.max(_D.decided_at)).where(
        _D.subject_id == subject_id
    )
    with Session(service.engine) as session:
        count, last_at = session.execute(query).one()
    return {"count": int(count), "last_at": None if last_at is None else canonical_time(last_at)}


def subject_report(
    service: Service,
    raw_id: str,
    *,
    caller: str,
    department: str,
    cursor: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """``GET /v1/subjects/{id}/report``: the whole report (callers with a full view only).

    Every report holding a person's data is recorded in the access log.
    """
    subject_id = either_kind_id(raw_id, field="id")
    after = None if cursor is None else decode_cursor(cursor)
    today = china_today()
    service.catch_up()
    with service.state.lock:
        state = service.state
        subject = state.subjects.get(subject_id)
        if subject is None:
            raise NotFound("no subject with this id is registered", code="unknown_subject")
        policy = service.policy
        own = state.entries_of(subject_id)
        page = [e for e in own if after is None or e.registered_seq > after][: limit + 1]
        more = len(page) > limit
        page = page[:limit]
        reaching = reaching_entries(state, policy.runtime, subject, today)
        relations = state.graph.relations_of(subject_id)
        lists = policy.bundle.vocabulary.lists
        entries = [
            {
                **entry_view(entry, today=today),
                "list_name": lists[entry.list].name if entry.list in lists else entry.list,
            }
            for entry in page
        ]
        reaching_items = [
            {**entry_view(entry, today=today), "via": via.to_dict()}
            for entry, via in reaching[:MAX_LISTED]
        ]
        holdings = [
            _relation_view(h, policy.bundle.vocabulary.roles) for h in relations[:MAX_LISTED]
        ]
        vocabulary = policy.bundle.vocabulary
        commitments = [
            {
                **view,
                "status_name": STATUS_NAMES[view["status"]],
                "matter_name": vocabulary.matters.get(view["matter"], view["matter"]),
            }
            for view in commitments_of(service, subject_id, today)
        ]
        version = policy.bundle.version
    steps = histories(
        service,
        subject_id,
        [entry["id"] for entry in entries],
        from_seq=page[0].registered_seq if page else 0,
    )
    for entry in entries:
        entry["history"] = steps.get(entry["id"], [])
    in_force = [
        {
            "matter": item["matter"],
            "name": item["name"],
            "outcome": item["outcome"],
            "binding_outcome": item["binding_outcome"],
            "measure_ids": sorted({hit["measure_id"] for hit in item["hits"]}),
        }
        for item in by_matter(service, subject_id, today)
    ]
    report = {
        "report_id": uuid.uuid4().hex,
        "generated_at": canonical_time(utcnow()),
        "as_of": today.isoformat(),
        "policy_version": version,
        "subject": {
            "id": subject.id,
            "kind": subject.kind.value,
            "name": subject.name,
            "region": subject.region,
        },
        "entries": entries,
        "entries_total": len(own),
        "next_cursor": encode_cursor(page[-1].registered_seq) if more and page else None,
        "in_force": in_force,
        "reaching": reaching_items,
        "reaching_total": len(reaching),
        "commitments": commitments[:MAX_LISTED],
        "commitments_total": len(commitments),
        "holdings": holdings,
        "holdings_total": len(relations),
        "decisions": _decisions(service, subject_id),
    }
    if subject.kind is SubjectKind.person or relations or reaching:
        record_access(
            service.engine,
            caller=caller,
            department=department,
            subject_id=subject_id,
            route="/v1/subjects/{id}/report",
        )
    return seal(report)


def public_org_report(service: Service, raw_id: str) -> dict[str, Any]:
    """``GET /public/v1/orgs/{id}/report``: an org and its entries as the public feed shows them.

    Persons never have a public report: any id that is not a registered org, a citizen number
    included, is the same 404 ``unknown_subject``, so the route does not tell whether a person
    is registered. Holdings, decisions and the matters table are not public.
    """
    text = raw_id.strip().upper()
    subject = None
    if len(text) == 18 and text.isalnum() and text.isascii():
        service.catch_up()
        with service.state.lock:
            subject = service.state.subjects.get(text)
    if subject is None or subject.kind is not SubjectKind.org:
        raise NotFound("no org with this id is registered", code="unknown_subject")
    entries = public_entries_of(service, subject.id)
    lists = service.policy.bundle.vocabulary.lists
    for entry in entries:
        entry["list_name"] = lists[entry["list"]].name if entry["list"] in lists else entry["list"]
    report = {
        "report_id": uuid.uuid4().hex,
        "generated_at": canonical_time(utcnow()),
        "as_of": china_today().isoformat(),
        "policy_version": service.policy.bundle.version,
        "public": True,
        "subject": {"id": subject.id, "kind": subject.kind.value, "name": subject.name},
        "entries": entries[:MAX_LISTED],
        "entries_total": len(entries),
    }
    return seal(report)
