"""Two real instances on loopback (docs/exchange.md): A publishes, B pulls with ``jrp exchange
pull``; on SQLite (two files) and on PostgreSQL (two schemas), per ``JRP_TEST_DB``."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from engine.exchange.peers import load_peers
from engine.exchange.verify import Cursor, ExchangeRefused, verify_page
from tests.conftest import ROOT
from tests.serving import ServeProcess, ServerNotReady

PERSON = "440106198001010115"
OTHER = "440106198001010123"
EXCHANGE_A = """exports: [dishonest_judgment_debtor, major_tax_violation]
"""
EXCHANGE_B = """imports:
  dishonest_judgment_debtor: dishonest_judgment_debtor
"""


def _callers(path: Path, entries: list[tuple[str, str, list[str], str]]) -> Path:
    lines = ["callers:"]
    for name, department, roles, key in entries:
        digest = hashlib.sha256(key.encode()).hexdigest()
        lines += [f"  - name: {name}", f"    department: {department}",
                  f"    roles: [{', '.join(roles)}]", f"    key_sha256: {digest}"]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _bundle(tmp_path: Path, name: str, exchange: str) -> Path:
    bundle = tmp_path / name
    shutil.copytree(ROOT / "memoranda", bundle)
    (bundle / "exchange.yaml").write_text(exchange, encoding="utf-8")
    return bundle


def _keygen(path: Path) -> Path:
    """A new Ed25519 signing key at ``path`` (``jrp keygen``)."""
    subprocess.run([sys.executable, "-m", "api.cli", "keygen", str(path)], check=True,
                   capture_output=True)  # fmt: skip
    return path


def _serve(tmp_path: Path, name: str, db: str, bundle: Path, callers: Path,
           more: list[str]) -> ServeProcess:  # fmt: skip
    command = [sys.executable, "-m", "api.cli", "serve", "--policy", str(bundle), "--callers",
               str(callers), "--db", db, *more]  # fmt: skip
    server = ServeProcess(command, tmp_path / f"{name}.log", env={"JRP_REGION": "440100"})
    try:
        server.wait_ready(timeout=120)
    except ServerNotReady as exc:
        server.stop()
        pytest.fail(str(exc))
    return server


def _pull(db: str, bundle: Path, peers: Path, peer: str = "a") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "exchange", "pull", "--db", db, "--peers", str(peers),
         "--peer", peer, "--limit", "7"],
        capture_output=True, text=True, timeout=120, env={**_env(), "JRP_POLICY": str(bundle)},
    )  # fmt: skip


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _check(base: str, subject: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{base}/v1/checks",
        headers={"Authorization": "Bearer b-aviation"},
        json={"subject_id": subject, "matter": "air_travel"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _event_count(db: str) -> int:
    engine = sa.create_engine(db)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM event")).scalar_one())
    finally:
        engine.dispose()


def _register(base: str, subject: str, list_code: str, doc_no: str) -> dict[str, Any]:
    body = {"list": list_code, "subject_id": subject, "subject_kind": "person",
            "subject_name": "张示例", "decided_on": "2026-11-02", "doc_no": doc_no,
            "reason": "有履行能力而拒不履行"}  # fmt: skip
    if list_code == "major_tax_violation":
        body["attributes"] = {"unpaid_tax_ratio": 0.2, "unpaid_tax_amount": 2_000_000}
    key = "a-court" if list_code == "dishonest_judgment_debtor" else "a-tax"
    answer = httpx.post(f"{base}/v1/entries", headers={"Authorization": f"Bearer {key}"},
                        json=body, timeout=30)  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()["entry"]  # type: ignore[no-any-return]


def test_two_instances_exchange(tmp_path: Path, two_dbs: tuple[str, str]) -> None:
    db_a, db_b = two_dbs
    bundle_a = _bundle(tmp_path, "bundle-a", EXCHANGE_A)
    bundle_b = _bundle(tmp_path, "bundle-b", EXCHANGE_B)
    key = _keygen(tmp_path / "a.key")
    callers_a = _callers(tmp_path / "callers-a.yaml", [
        ("A 法院", "court", ["initiator"], "a-court"),
        ("A 税务", "tax", ["initiator"], "a-tax"),
        ("B 实例", "ndrc", ["peer"], "b-pulls-a"),
    ])  # fmt: skip
    callers_b = _callers(tmp_path / "callers-b.yaml", [
        ("B 民航", "civil_aviation", ["implementer"], "b-aviation"),
        ("B 法院", "court", ["initiator"], "b-court"),
        ("B 审计", "ndrc", ["auditor", "credit_office"], "b-auditor"),
    ])  # fmt: skip
    a = _serve(tmp_path, "a", db_a, bundle_a, callers_a, ["--signing-key", str(key)])
    b = _serve(tmp_path, "b", db_b, bundle_b, callers_b, [])
    try:
        # The peer key reads the feed and nothing else.
        peer = {"Authorization": "Bearer b-pulls-a"}
        assert httpx.get(f"{a.base}/v1/exchange/events", headers=peer).status_code == 200
        refused = httpx.get(f"{a.base}/v1/exchange/events",
                            headers={"Authorization": "Bearer a-court"})  # fmt: skip
        assert refused.status_code == 403
        bad = httpx.get(f"{a.base}/v1/exchange/events?limit=0", headers=peer)
        assert bad.status_code == 422 and "limit" in bad.text
        public = httpx.get(f"{a.base}/v1/audit/public-key").json()["public_key_pem"]
        (tmp_path / "a.pub.pem").write_text(public, encoding="utf-8")
        (tmp_path / "b-pulls-a.key").write_text("b-pulls-a\n", encoding="utf-8")
        (tmp_path / "wrong.pub.pem").write_text(
            httpx.get(f"{a.base}/v1/audit/public-key").json()["public_key_pem"], encoding="utf-8"
        )
        peers = tmp_path / "peers.yaml"
        peers.write_text(
            "peers:\n"
            f"  - {{name: a, region: '440300', url: '{a.base}', key_file: b-pulls-a.key,"
            " public_key: a.pub.pem}\n",
            encoding="utf-8",
        )

        # A registers; B pulls; B's check hits, with the origin shown.
        entry = _register(a.base, PERSON, "dishonest_judgment_debtor", "(2026)粤0106执1号")
        assert _check(b.base, PERSON)["hits"] == []
        pulled = _pull(db_b, bundle_b, peers)
        assert pulled.returncode == 0, pulled.stderr
        assert "1 imported" in pulled.stdout
        answer = _check(b.base, PERSON)
        assert answer["outcome"] != "clear" and answer["hits"], answer
        origin = answer["hits"][0]["origin"]
        assert origin["region"] == "440300" and origin["entry_id"] == entry["id"]
        assert origin["key_id"] == httpx.get(f"{a.base}/v1/audit/public-key").json()["key_id"]
        imported_id = answer["hits"][0]["entry_id"]

        # Read-only at B: its life follows the origin.
        local = httpx.post(f"{b.base}/v1/entries/{imported_id}/revoke",
                           headers={"Authorization": "Bearer b-court"})  # fmt: skip
        assert local.status_code == 409, local.text
        assert local.json()["error"]["code"] == "imported_entry"
        assert entry["id"] in local.json()["error"]["message"]

        # Pulling again with nothing new applies nothing.
        before = _event_count(db_b)
        again = _pull(db_b, bundle_b, peers)
        assert again.returncode == 0 and "0 imported" in again.stdout, again.stdout
        assert _event_count(db_b) == before

        # A revokes; B pulls; B's check is clear.
        revoked = httpx.post(f"{a.base}/v1/entries/{entry['id']}/revoke",
                             headers={"Authorization": "Bearer a-court"})  # fmt: skip
        assert revoked.status_code == 200, revoked.text
        pulled = _pull(db_b, bundle_b, peers)
        assert pulled.returncode == 0 and "1 updated" in pulled.stdout, pulled.stdout
        assert _check(b.base, PERSON)["hits"] == []
        shown = httpx.get(f"{b.base}/v1/entries/{imported_id}",
                          headers={"Authorization": "Bearer b-auditor"}).json()  # fmt: skip
        assert shown["status"] == "revoked" and shown["origin"]["entry_id"] == entry["id"]

        # B's replay stays identical (its own log alone).
        replay = httpx.post(f"{b.base}/v1/replay", headers={"Authorization": "Bearer b-auditor"},
                            json={"policy": "recorded"}, timeout=60).json()  # fmt: skip
        assert replay["replayed"] == replay["identical"] >= 3 and replay["changed"] == [], replay

        # A wrong pinned key: refused, nothing applied.
        other_key = _keygen(tmp_path / "other.key")
        wrong = tmp_path / "wrong-peers.yaml"
        wrong.write_text(peers.read_text().replace("a.pub.pem", other_key.name), encoding="utf-8")
        _register(a.base, OTHER, "dishonest_judgment_debtor", "(2026)粤0106执2号")
        before = _event_count(db_b)
        refused_pull = _pull(db_b, bundle_b, wrong)
        assert refused_pull.returncode == 1
        assert "signature does not hold under the pinned key" in refused_pull.stderr
        assert _event_count(db_b) == before

        # A list B neither maps nor ignores: the page is refused whole.
        _register(a.base, OTHER, "major_tax_violation", "穗税稽罚〔2026〕1号")
        refused_pull = _pull(db_b, bundle_b, peers)
        assert refused_pull.returncode == 1
        assert "unknown list 'major_tax_violation'" in refused_pull.stderr
        assert _event_count(db_b) == before
        assert _check(b.base, OTHER)["hits"] == []  # the page's other entry is not applied

        _unit_refusals(a.base, peers)
    finally:
        b.stop()
        a.stop()


def _unit_refusals(base: str, peers_file: Path) -> None:
    """verify_page on real pages of A, tampered: a gap, a changed event, a rewritten history."""
    peer = load_peers(peers_file)["a"]
    headers = {"Authorization": "Bearer b-pulls-a"}
    page = httpx.get(f"{base}/v1/exchange/events?limit=1000", headers=headers).json()
    verified = verify_page(page, peer, Cursor())
    assert verified.records and verified.count == len(page["records"])

    gap = json.loads(json.dumps(page))
    gap["records"] = gap["records"][1:]
    with pytest.raises(ExchangeRefused, match="gap"):
        verify_page(gap, peer, Cursor())

    tampered = json.loads(json.dumps(page))
    content = next(r for r in tampered["records"] if "event" in r)
    content["event"]["payload"]["entry"]["doc_no"] = "伪造"
    with pytest.raises(ExchangeRefused, match="does not hash"):
        verify_page(tampered, peer, Cursor())

    # An opaque record replaced (the chain mended around it): not a leaf of the signed tree.
    forged = json.loads(json.dumps(page))
    records = forged["records"]
    opaque = next(i for i in range(len(records) - 1)
                  if "event" not in records[i] and "event" not in records[i + 1])  # fmt: skip
    fake = "ab" * 32
    forged["records"][opaque]["hash"] = fake
    forged["records"][opaque + 1]["prev_hash"] = fake
    with pytest.raises(ExchangeRefused, match="range proof fails"):
        verify_page(forged, peer, Cursor())

    half = httpx.get(f"{base}/v1/exchange/events?limit=3", headers=headers).json()
    first = verify_page(half, peer, Cursor())
    cursor = Cursor(first.upto, first.first_index + first.count, first.last_hash,
                    first.checkpoint.size, "00" * 32)  # a root A never had  # fmt: skip
    rest = httpx.get(
        f"{base}/v1/exchange/events?after={first.upto}&known_size={first.checkpoint.size}",
        headers=headers,
    ).json()
    with pytest.raises(ExchangeRefused, match="rewrote its history"):
        verify_page(rest, peer, cursor)
    wrong_start = Cursor(first.upto + 1, first.first_index + first.count, first.last_hash)
    with pytest.raises(ExchangeRefused, match="gap"):
        verify_page(rest, peer, wrong_start)


def test_serve_pulls_in_the_background(tmp_path: Path, two_dbs: tuple[str, str]) -> None:
    db_a, db_b = two_dbs
    bundle_a = _bundle(tmp_path, "bundle-a", EXCHANGE_A)
    bundle_b = _bundle(tmp_path, "bundle-b", EXCHANGE_B)
    key = _keygen(tmp_path / "a.key")
    callers_a = _callers(tmp_path / "callers-a.yaml", [
        ("A 法院", "court", ["initiator"], "a-court"),
        ("B 实例", "ndrc", ["peer"], "b-pulls-a"),
    ])  # fmt: skip
    callers_b = _callers(tmp_path / "callers-b.yaml", [
        ("B 民航", "civil_aviation", ["implementer"], "b-aviation"),
    ])  # fmt: skip
    a = _serve(tmp_path, "a", db_a, bundle_a, callers_a, ["--signing-key", str(key)])
    try:
        public = httpx.get(f"{a.base}/v1/audit/public-key").json()["public_key_pem"]
        (tmp_path / "a.pub.pem").write_text(public, encoding="utf-8")
        (tmp_path / "b-pulls-a.key").write_text("b-pulls-a\n", encoding="utf-8")
        peers = tmp_path / "peers.yaml"
        peers.write_text(
            "peers:\n"
            f"  - {{name: a, region: '440300', url: '{a.base}', key_file: b-pulls-a.key,"
            " public_key: a.pub.pem}\n",
            encoding="utf-8",
        )
        # A peers file is needed, and must be sound: exit 2 naming it.
        broken = tmp_path / "broken-peers.yaml"
        broken.write_text("peers:\n  - {name: a}\n", encoding="utf-8")
        refused = subprocess.run(
            [sys.executable, "-m", "api.cli", "serve", "--policy", str(bundle_b), "--callers",
             str(callers_b), "--db", db_b, "--peers", str(broken), "--pull-every", "1"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert refused.returncode == 2 and "broken-peers.yaml" in refused.stderr, refused.stderr

        b = _serve(tmp_path, "b", db_b, bundle_b, callers_b,
                   ["--peers", str(peers), "--pull-every", "1"])  # fmt: skip
        try:
            entry = _register(a.base, PERSON, "dishonest_judgment_debtor", "(2026)粤0106执3号")
            deadline = time.monotonic() + 60
            hits: list[dict[str, Any]] = []
            while not hits and time.monotonic() < deadline:
                time.sleep(0.5)
                hits = _check(b.base, PERSON)["hits"]
            assert hits and hits[0]["origin"]["entry_id"] == entry["id"], b.tail()
        finally:
            b.stop()
    finally:
        a.stop()
