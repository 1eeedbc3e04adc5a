"""``jrp import subjects|relations``: batches stored whole or rejected whole, lines reported."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from api.cli import importer
from api.cli.main import app as cli
from engine.policy import storage as policy_store
from engine.service import Service
from engine.settings import Settings
from engine.store import db
from engine.store.db import session_scope
from measures.loader import load_bundle
from tests.conftest import CONTRACT_BUNDLE
from tests.engine.registry.test_registry import org, person, wrong_check


@pytest.fixture(autouse=True)
def _keep_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    # configure() replaces the process-wide structlog setup other tests capture logs with.
    monkeypatch.setattr(importer.logging_setup, "configure", lambda **_kwargs: None)


@pytest.fixture
def served(db_url: str) -> Iterator[str]:
    """A database a service started on with the contract bundle, as `jrp serve` leaves it."""
    Service.start(Settings(db=db_url, policy=CONTRACT_BUNDLE)).close()
    yield db_url


def run(db_url: str, kind: str, path: Path, *more: str) -> Result:
    return CliRunner().invoke(cli, ["import", kind, str(path), "--db", db_url, *more])


def reopened(db_url: str) -> Service:
    """A service freshly started on the database (the state rebuilt from the log)."""
    return Service.start(Settings(db=db_url, policy=CONTRACT_BUNDLE))


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_csv_with_a_bad_line_rejects_its_batch_only(served: str, tmp_path: Path) -> None:
    rows = [
        f"{org(1)},org,公司1,440106",  # line 2, batch 1
        f"{person(1)},person,人1,",  # line 3, batch 1
        f"{org(2)},org,公司2,",  # line 4, batch 2: good, but its batch is rejected
        f"{wrong_check(org(3))},org,公司3,",  # line 5, batch 2: bad
        f"{org(4).lower()},org,公司4,",  # line 6, batch 3
    ]
    path = write_csv(tmp_path / "subjects.csv", "id,kind,name,region", rows)
    result = run(served, "subjects", path, "--batch-lines", "2")
    assert result.exit_code == 1, result.output
    assert f"{path}:5: id: check character mismatch" in result.stderr
    assert f"{path}:4" not in result.stderr
    assert (
        "3 created, 0 updated, 0 unchanged; rejected 2 lines in 1 batch (1 bad line)"
        in result.stdout
    )
    service = reopened(served)
    try:
        assert set(service.state.subjects) == {org(1), person(1), org(4)}
        assert service.state.subjects[org(1)].region == "440106"
        assert service.state.subjects[person(1)].region is None
    finally:
        service.close()


def test_jsonl_relations_report_every_bad_line_and_store_good_batches(
    served: str, tmp_path: Path
) -> None:
    subjects = [{"id": org(1), "kind": "org", "name": "公司1"}]
    subjects += [{"id": person(i), "kind": "person", "name": f"人{i}"} for i in (1, 2, 3)]
    subjects_file = tmp_path / "subjects.jsonl"
    subjects_file.write_text("\n".join(json.dumps(s) for s in subjects) + "\n", encoding="utf-8")
    assert run(served, "subjects", subjects_file).exit_code == 0

    def relation(person_id: str, **more: Any) -> str:
        item = {
            "org_id": org(1),
            "person_id": person_id,
            "role": "legal_representative",
            "start": "2020-01-01",
            "end": None,
            **more,
        }
        return json.dumps(item)

    lines = [
        relation(person(1)),  # 1, batch 1
        relation(person(2), role="principal"),  # 2, batch 1
        "",  # 3: blank, skipped
        relation(person(3), end="2019-01-01"),  # 4, batch 2: bad
        "{not json",  # 5, batch 2: bad
        relation(person(9)),  # 6, batch 3: unknown subject
        relation(person(3), role="principal", start="2021-01-01"),  # 7, batch 3: good
        relation(person(1), end="2025-06-30"),  # 8, batch 4: ends line 1's holding
    ]
    path = tmp_path / "relations.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(served, "relations", path, "--batch-lines", "2")
    assert result.exit_code == 1, result.output
    # stderr also holds the progress bar's last frame.
    assert [line for line in result.stderr.splitlines() if line.startswith(str(path))] == [
        f"{path}:4: end: 2019-01-01 is before start 2020-01-01",
        f"{path}:5: malformed JSON: Expecting property name enclosed in double quotes (column 2)",
        f"{path}:6: person_id: unknown subject: register it first "
        "(POST /v1/subjects or jrp import subjects)",
    ]
    assert "2 created, 1 updated, 0 unchanged; rejected 4 lines in 2 batches" in result.stdout
    service = reopened(served)
    try:
        holdings = service.state.graph.relations_of(org(1))
        assert [(h.person_id, h.role, h.end) for h in holdings] == [
            (person(1), "legal_representative", dt.date(2025, 6, 30)),
            (person(2), "principal", None),
        ]
    finally:
        service.close()


def test_reimporting_the_same_file_changes_nothing(served: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", "kind,id,name", [f"org,{org(1)},公司1"])
    assert run(served, "subjects", path).exit_code == 0
    result = run(served, "subjects", path)
    assert result.exit_code == 0
    assert "0 created, 0 updated, 1 unchanged" in result.stdout


def test_a_file_without_a_known_extension_is_sniffed(served: str, tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text(json.dumps({"id": org(1), "kind": "org", "name": "公司1"}) + "\n")
    result = run(served, "subjects", path)
    assert result.exit_code == 0, result.output
    assert "1 created" in result.stdout


def test_an_unknown_column_stops_the_import_before_anything_is_stored(
    served: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "s.csv", "id,kind,name,regoin", [f"{org(1)},org,公司1,440106"])
    result = run(served, "subjects", path)
    assert result.exit_code == 2
    assert f"{path}:1: unknown column 'regoin'" in result.stderr
    service = reopened(served)
    try:
        assert service.state.subjects == {}
    finally:
        service.close()


def test_bad_text_and_cell_counts_are_bad_lines(served: str, tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    content = "\ufeffid,kind,name\n".encode()
    content += f"{org(1)},org,公司1\n".encode()
    content += f"{org(2)},org,".encode() + "公司2".encode("gbk") + b"\n"
    content += f"{org(3)},org,公司3,extra\n".encode()
    content += f'{org(4)},org,"多行\n名称"\n'.encode()
    path.write_bytes(content)
    result = run(served, "subjects", path, "--batch-lines", "1")
    assert result.exit_code == 1
    assert f"{path}:3: not UTF-8 text" in result.stderr
    assert f"{path}:4: 4 cells, the header has 3" in result.stderr
    assert "2 created" in result.stdout
    service = reopened(served)
    try:
        assert service.state.subjects[org(4)].name == "多行\n名称"
    finally:
        service.close()


def _in_force(db_url: str) -> str | None:
    engine = db.create_db_engine(db_url)
    try:
        with session_scope(engine) as session:
            return policy_store.in_force_version(session)
    finally:
        engine.dispose()


def test_the_import_uses_the_policy_in_force_and_never_changes_it(
    served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without JRP_POLICY the setting is the shipped bundle, another version than the one in force.
    monkeypatch.delenv("JRP_POLICY", raising=False)
    before = _in_force(served)
    assert before == load_bundle(CONTRACT_BUNDLE).version
    path = write_csv(tmp_path / "s.csv", "id,kind,name", [f"{org(1)},org,公司1"])
    assert run(served, "subjects", path).exit_code == 0
    relations = write_csv(
        tmp_path / "r.csv", "org_id,person_id,role,start", [f"{org(1)},{person(1)},principal,x"]
    )
    assert run(served, "relations", relations).exit_code == 1
    assert _in_force(served) == before


def test_a_fresh_database_gets_the_policy_first(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JRP_POLICY", str(CONTRACT_BUNDLE))
    path = write_csv(tmp_path / "s.csv", "id,kind,name", [f"{org(1)},org,公司1"])
    result = run(db_url, "subjects", path)
    assert result.exit_code == 0, result.output
    service = reopened(db_url)
    try:
        assert org(1) in service.state.subjects
        assert "legal_representative" in service.policy.bundle.vocabulary.roles
    finally:
        service.close()


def test_an_unknown_department_is_a_usage_error(served: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", "id,kind,name", [f"{org(1)},org,公司1"])
    result = run(served, "subjects", path, "--department", "nobody")
    assert result.exit_code == 2
    assert "--department: nobody" in result.stderr
