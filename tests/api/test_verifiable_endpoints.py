"""Checkpoints, public key, proofs and consistency over HTTP; receipts checked offline by
``jrp verify-receipt`` (one changed byte in any part fails); the truncation guard of
``Service.start`` (both databases)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli.main import app
from engine.service import Service
from engine.settings import Settings
from engine.verifiable import keys
from engine.verifiable.merkle import verify_consistency
from engine.verifiable.startup import TruncatedLog
from tests.api.conftest import Running, auth, write_callers
from tests.api.test_entries_endpoints import ORG, djd
from tests.serving import free_port

AS_OF = "2026-11-22T10:00:00+08:00"
runner = CliRunner()


def _signed(running: Running, tmp_path: Path) -> Path:
    path = tmp_path / "signing.key"
    running.service.verifiable.use_key(keys.generate(path))
    return path


def _checks(running: Running, count: int) -> list[str]:
    # An entry of its own each call (the same one twice is a 409 duplicate_entry).
    listed = djd(doc_no=f"(2025)粤01执{uuid.uuid4().hex[:8]}号")
    assert running.client.post("/v1/entries", json=listed, headers=auth("court")).status_code == 201
    ids = []
    for _ in range(count):
        request = {"subject_id": ORG, "matter": "government_procurement", "as_of": AS_OF}
        response = running.client.post("/v1/checks", json=request, headers=auth("finance"))
        assert response.status_code == 200, response.text
        ids.append(response.json()["decision_id"])
    return ids


def test_unsigned_service_serves_and_says_so(running: Running) -> None:
    assert running.client.get("/readyz").json()["signing"] is False
    missing = running.client.get("/v1/audit/public-key")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_signing_key"
    none_yet = running.client.get("/v1/audit/checkpoint?log=decisions", headers=auth("finance"))
    assert none_yet.json()["error"]["code"] == "no_checkpoint"
    _checks(running, 2)
    running.service.verifiable.checkpoint_now()
    body = running.client.get("/v1/audit/checkpoint?log=decisions", headers=auth("finance")).json()
    assert body["size"] == 2 and body["signature"] is None and body["key_id"] is None


def test_checkpoints_proofs_and_an_offline_receipt(running: Running, tmp_path: Path) -> None:
    key_file = _signed(running, tmp_path)
    ids = _checks(running, 5)
    running.service.verifiable.checkpoint_now()
    client = running.client
    ready = client.get("/readyz").json()
    assert ready["signing"] is True and len(ready["key_id"]) == 64
    public = client.get("/v1/audit/public-key").json()  # open: no key
    assert public["key_id"] == ready["key_id"]
    checkpoint = client.get("/v1/audit/checkpoint?log=decisions", headers=auth("finance")).json()
    assert set(checkpoint) == {"log", "size", "root_hash", "timestamp", "key_id", "signature"}
    assert checkpoint["size"] == 5
    events = client.get("/v1/audit/checkpoint?log=events", headers=auth("court")).json()
    assert events["log"] == "events" and events["size"] >= 2

    listed = client.get("/v1/audit/checkpoints?log=decisions&limit=1", headers=auth("auditor"))
    assert listed.status_code == 200 and listed.json()["items"] == [checkpoint]
    assert (
        client.get("/v1/audit/checkpoints?log=decisions", headers=auth("finance")).status_code
        == 403
    )

    # The implementer of the deciding department (finance) may fetch its proof; tax may not.
    proof = client.get(f"/v1/decisions/{ids[2]}/proof", headers=auth("finance"))
    assert proof.status_code == 200, proof.text
    body = proof.json()
    assert (body["leaf_index"], body["tree_size"]) == (2, 5)
    assert body["checkpoint"] == checkpoint
    assert client.get(f"/v1/decisions/{ids[2]}/proof", headers=auth("tax")).status_code == 403
    assert client.get("/v1/decisions/nope/proof", headers=auth("auditor")).status_code == 404

    decision = client.get(f"/v1/decisions/{ids[2]}", headers=auth("auditor")).json()
    files = {name: tmp_path / f"{name}.json" for name in ("decision", "proof", "checkpoint")}
    files["decision"].write_text(json.dumps(decision, ensure_ascii=False), encoding="utf-8")
    files["proof"].write_text(json.dumps(body), encoding="utf-8")
    files["checkpoint"].write_text(json.dumps(checkpoint), encoding="utf-8")
    pem = tmp_path / "public.pem"
    pem.write_text(public["public_key_pem"], encoding="ascii")
    args = ["verify-receipt", *(f"--{n}={p}" for n, p in files.items()), f"--public-key={pem}"]
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0, ok.output
    # A private key file serves as the public key too.
    assert runner.invoke(app, [*args[:-1], f"--public-key={key_file}"]).exit_code == 0

    for name, path in [*files.items(), ("public_key", pem)]:
        original = path.read_bytes()
        for position in _positions(original):
            changed = bytearray(original)
            changed[position] ^= 0x01
            path.write_bytes(bytes(changed))
            result = runner.invoke(app, args)
            assert result.exit_code == 1, (name, position, result.output)
        path.write_bytes(original)
    assert runner.invoke(app, args).exit_code == 0


def _positions(data: bytes) -> list[int]:
    """Bytes spread over the file, each inside a value that matters (not whitespace)."""
    picked = [i for i in range(len(data)) if data[i : i + 1] not in (b" ", b"\n", b"-")]
    return picked[len(picked) // 7 :: max(1, len(picked) // 9)][:8]


def test_consistency_and_bad_parameters(running: Running) -> None:
    _checks(running, 3)
    running.service.verifiable.checkpoint_now()
    first = running.client.get("/v1/audit/checkpoint?log=decisions", headers=auth("auditor")).json()
    _checks(running, 4)
    running.service.verifiable.checkpoint_now()
    second = running.client.get(
        "/v1/audit/checkpoint?log=decisions", headers=auth("auditor")
    ).json()
    url = f"/v1/audit/consistency?log=decisions&first={first['size']}&second={second['size']}"
    body = running.client.get(url, headers=auth("auditor")).json()
    assert verify_consistency(
        first["size"], second["size"], bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]), [bytes.fromhex(p) for p in body["proof"]],
    )  # fmt: skip
    for query, field in [
        ("log=nope&first=1&second=2", "log"),
        ("log=decisions&first=0&second=2", "first"),
        ("log=decisions&first=3&second=2", "first"),
        ("log=decisions&first=1&second=999", "second"),
    ]:
        response = running.client.get(f"/v1/audit/consistency?{query}", headers=auth("auditor"))
        assert response.status_code == 422, query
        assert field in json.dumps(response.json()["error"]["details"]), query
    decision = _checks(running, 1)[0]
    bad = running.client.get(f"/v1/decisions/{decision}/proof?size=0", headers=auth("auditor"))
    assert bad.status_code == 422 and "size" in json.dumps(bad.json()["error"]["details"])
    late = running.client.get(f"/v1/decisions/{decision}/proof", headers=auth("auditor"))
    assert late.status_code == 409 and late.json()["error"]["code"] == "not_checkpointed"


def _settings(db_url: str, policy_dir: Path, tmp_path: Path, **more: Any) -> Settings:
    return Settings(
        db=db_url, policy=policy_dir, callers=write_callers(tmp_path / "c.yaml"), **more
    )


def test_start_refuses_a_truncated_log_unless_accepted(
    db_url: str, policy_dir: Path, tmp_path: Path
) -> None:
    settings = _settings(db_url, policy_dir, tmp_path)
    service = Service.start(settings)
    from tests.engine.decisions.test_decision_log import make_draft

    for i in range(4):
        service.decisions.append(make_draft(i))
    made = service.verifiable.checkpoint_now()
    assert {c.log for c in made} == {"decisions", "events"}
    service.close()
    with sa.create_engine(db_url).begin() as connection:
        connection.execute(sa.text("DELETE FROM decision WHERE seq >= 3"))
    with pytest.raises(TruncatedLog, match=r"decisions log .*\(size 4, root"):
        Service.start(settings)
    accepted = Service.start(_settings(db_url, policy_dir, tmp_path, accept_truncated_log=True))
    try:
        with accepted.engine.connect() as connection:
            payload = connection.execute(
                sa.text("SELECT payload FROM event WHERE type = 'log.truncation_accepted'")
            ).scalar_one()
        if isinstance(payload, str):
            payload = json.loads(payload)
        assert payload["log"] == "decisions" and payload["checkpoint"]["size"] == 4
        made = accepted.verifiable.checkpoint_now()
        assert any(c.log == "decisions" and c.size == 2 for c in made)
    finally:
        accepted.close()
    Service.start(settings).close()  # accepted once: later starts hold the new checkpoints


def test_serve_refuses_a_truncated_log_with_a_clear_message(
    db_url: str, policy_dir: Path, tmp_path: Path
) -> None:
    settings = _settings(db_url, policy_dir, tmp_path)
    service = Service.start(settings)
    service.verifiable.checkpoint_now()
    service.close()
    with sa.create_engine(db_url).begin() as connection:
        connection.execute(sa.text("DELETE FROM event WHERE seq = (SELECT max(seq) FROM event)"))
    # A child process with a deadline: a serve that failed to refuse must fail the test, not hang.
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--db", db_url, "--policy", str(policy_dir),
         "--callers", str(settings.callers), "--port", str(free_port())],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "events log" in result.stderr and "--accept-truncated-log" in result.stderr
