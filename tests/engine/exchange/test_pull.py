"""Pulling in process: two services on two databases, the feed read directly (no HTTP).

The two-instance test over loopback is ``test_two_instances.py``; this one covers the
lifecycle steps, ignored lists, paging, the cursor, snapshots and what the receiver shows.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import engine.registry  # noqa: F401 (first: engine.entries imported first is a cycle on main)
from engine.entries import lifecycle
from engine.entries.objections import objections_page, raise_objection, resolve_objection
from engine.entries.registration import register
from engine.entries.schemas import EntryCreate, ResolutionBody
from engine.errors import Conflict
from engine.exchange.feed import feed_page
from engine.exchange.peers import Peer
from engine.exchange.pull import PullReport, apply_page, local_entry_id, pull
from engine.exchange.verify import Cursor, ExchangeRefused, verify_page
from engine.publication.feed import list_entries
from engine.reports.history import histories
from engine.service import Service
from engine.settings import Settings
from engine.state import EntryStatus, State
from engine.store import events, snapshot
from tests.conftest import ROOT

DEBTOR = "91440101000010014P"
TAXED = "91440101000010022J"
PERSON = "440106198001010115"


def _bundle(tmp_path: Path, name: str, exchange: str) -> Path:
    bundle = tmp_path / name
    shutil.copytree(ROOT / "memoranda", bundle)
    (bundle / "exchange.yaml").write_text(exchange, encoding="utf-8")
    return bundle


@pytest.fixture
def pair(tmp_path: Path, two_dbs: tuple[str, str]) -> Iterator[tuple[Service, Service, Peer]]:
    a = Service.start(Settings(db=two_dbs[0], policy=_bundle(tmp_path, "a", """
exports: [dishonest_judgment_debtor, major_tax_violation, administrative_penalty]
""")))  # fmt: skip
    b = Service.start(Settings(db=two_dbs[1], policy=_bundle(tmp_path, "b", """
exports: [dishonest_judgment_debtor, major_tax_violation]
imports:
  dishonest_judgment_debtor: dishonest_judgment_debtor
  major_tax_violation: major_tax_violation
ignore: [administrative_penalty]
""")))  # fmt: skip
    key = Ed25519PrivateKey.generate()
    a.verifiable.use_key(key)
    b.verifiable.use_key(Ed25519PrivateKey.generate())
    peer = Peer("a", "440300", "http://a.invalid", "unused", key.public_key())
    try:
        yield a, b, peer
    finally:
        b.close()
        a.close()


def _fetch(publisher: Service) -> Any:
    def fetch(_peer: Peer, cursor: Cursor, limit: int) -> Any:
        page = feed_page(publisher, after=cursor.after, limit=limit, known_size=cursor.size,
                         region="440300")  # fmt: skip
        return json.loads(json.dumps(page))  # as it travels

    return fetch


def _pull(a: Service, b: Service, peer: Peer, limit: int = 500) -> PullReport:
    report = pull(b, peer, limit=limit, fetch=_fetch(a))
    assert report.refused is None, report.refused
    return report


def _register(service: Service, list_code: str, subject: str, doc_no: str, **more: Any) -> str:
    department = {"dishonest_judgment_debtor": "court"}.get(list_code, "tax")
    request = EntryCreate.model_validate({
        "list": list_code, "subject_id": subject, "subject_kind": "org",
        "decided_on": "2026-11-02", "doc_no": doc_no, **more,
    })  # fmt: skip
    answer = register(service, request, caller_name="测试", department=department)
    return str(answer["entry"]["id"])


def _tax(service: Service, doc_no: str, ratio: float) -> str:
    attributes = {"category": "tax_evasion", "unpaid_tax_ratio": ratio,
                  "unpaid_tax_amount": 2_000_000}  # fmt: skip
    return _register(service, "major_tax_violation", TAXED, doc_no, attributes=attributes)


def test_steps_follow_the_origin(pair: tuple[Service, Service, Peer]) -> None:
    a, b, peer = pair
    original = _tax(a, "穗税稽罚〔2026〕1号", 0.2)
    _register(a, "administrative_penalty", TAXED, "穗税罚〔2026〕2号",
              attributes={"penalty_kind": "fine"})  # fmt: skip
    report = _pull(a, b, peer)
    assert (report.imported, report.skipped) == (1, 1)
    local_id = local_entry_id(peer.key_id, original)
    imported = b.state.entries[local_id]
    assert imported.origin is not None and imported.origin["entry_id"] == original
    assert imported.list == "major_tax_violation" and imported.department == "tax"
    assert b.policy.runtime.memoranda_for(imported), "B's own memoranda bite on it"

    # An objection at the origin suspends it here; it is not B's credit office's work.
    raise_objection(a, original, "比例有误", actor="测试", department="ndrc")
    _pull(a, b, peer)
    assert b.state.entries[local_id].status is EntryStatus.under_objection
    assert objections_page(b, department=None)["items"] == []

    # The origin corrects the ratio below the threshold: B's memorandum no longer bites.
    body = ResolutionBody.model_validate(
        {"outcome": "corrected", "attributes": {"unpaid_tax_ratio": 0.06}, "note": "复核更正"}
    )
    resolve_objection(a, original, body, actor="测试", department="tax")
    report = _pull(a, b, peer)
    assert report.updated == 1
    corrected = b.state.entries[local_id]
    assert corrected.status is EntryStatus.active
    assert corrected.attributes["unpaid_tax_ratio"] == 0.06
    assert corrected.origin is not None and corrected.origin["type"] == "entry.objection_resolved"
    assert not b.policy.runtime.memoranda_for(corrected)
    steps = histories(b, TAXED, [local_id], from_seq=0)[local_id]
    assert [s["step"] for s in steps] == ["registered", "objection", "resolution"]
    assert steps[2]["detail"] == "corrected"

    # Read-only here, whatever the step.
    with pytest.raises(Conflict, match="imported from region 440300") as refused:
        raise_objection(b, local_id, "异议", actor="测试", department="ndrc")
    assert refused.value.code == "imported_entry"
    with pytest.raises(Conflict, match="imported"):
        lifecycle.repair(b, local_id, None, actor="测试", department="ndrc")
    with pytest.raises(Conflict, match="imported"):
        lifecycle.revoke(b, local_id, actor="测试", department="tax")


def test_pages_cursor_snapshot_and_what_b_shows(pair: tuple[Service, Service, Peer]) -> None:
    a, b, peer = pair
    ids = [_register(a, "dishonest_judgment_debtor", DEBTOR, f"(2026)粤0106执{n}号")
           for n in range(5)]  # fmt: skip
    lifecycle.revoke(a, ids[0], actor="测试", department="court")
    report = _pull(a, b, peer, limit=2)
    assert report.pages > 3 and (report.imported, report.updated) == (5, 1)
    again = _pull(a, b, peer)
    assert (again.records, again.imported, again.updated) == (0, 0, 0)
    locals_ = [local_entry_id(peer.key_id, i) for i in ids]
    assert b.state.entries[locals_[0]].status is EntryStatus.revoked
    cursor = b.state.exchange_cursors["a"]
    assert cursor["after"] == a.state.seq and cursor["region"] == "440300"

    # B's log alone rebuilds the same entries (what replay relies on), and a snapshot keeps
    # the origins and the cursor.
    rebuilt = State()
    with b.engine.connect() as connection:
        from sqlmodel import Session

        rebuilt.apply_all(events.read_facts(Session(bind=connection)))
    assert rebuilt.entries == b.state.entries
    restored = snapshot.restore(snapshot.dump(b.state))
    assert restored.entries == b.state.entries
    assert restored.exchange_cursors == b.state.exchange_cursors

    # B never serves imported entries again, nor publishes them.
    page = feed_page(b, after=0, limit=1000, known_size=0, region=None)
    assert not [r for r in page["records"] if "event" in r]
    assert list_entries(b, "dishonest_judgment_debtor")["items"] == []
    assert list_entries(a, "dishonest_judgment_debtor")["items"]


def test_a_stale_cursor_applies_nothing(pair: tuple[Service, Service, Peer]) -> None:
    a, b, peer = pair
    _register(a, "dishonest_judgment_debtor", DEBTOR, "(2026)粤0106执9号")
    page = _fetch(a)(peer, Cursor(), 500)
    verified = verify_page(page, peer, Cursor())
    apply_page(b, peer, Cursor(), verified)
    before = b.state.seq
    with pytest.raises(ExchangeRefused, match="another pull"):
        apply_page(b, peer, Cursor(), verified)
    assert b.state.seq == before


def test_an_unsigned_publisher_serves_no_feed(pair: tuple[Service, Service, Peer]) -> None:
    a, _b, _peer = pair
    a.verifiable.use_key(None)
    from engine.errors import NotFound

    with pytest.raises(NotFound, match="signing-key"):
        feed_page(a, after=0, limit=10, known_size=0, region=None)


def test_dates_travel_unchanged(pair: tuple[Service, Service, Peer]) -> None:
    a, b, peer = pair
    original = _register(a, "dishonest_judgment_debtor", DEBTOR, "(2026)粤0106执7号",
                         effective_to="2028-11-02")  # fmt: skip
    _pull(a, b, peer)
    here, there = b.state.entries[local_entry_id(peer.key_id, original)], a.state.entries[original]
    assert (here.decided_on, here.effective_to) == (there.decided_on, dt.date(2028, 11, 2))
    assert (here.doc_no, here.subject_id) == (there.doc_no, there.subject_id)
