"""``jrp import entries``: as POST /v1/entries registers them, in atomic batches, lines reported."""

from __future__ import annotations

import json
from pathlib import Path

from tests.api.test_import_cli import _keep_logging, reopened, run, served, write_csv
from tests.engine.registry.test_registry import org, wrong_check

__all__ = ["_keep_logging", "served"]  # fixtures used by name

PENALTY = "administrative_penalty"


def _lines(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), "utf-8")
    return path


def _penalty(subject: str, day: str, doc_no: str) -> dict[str, object]:
    return {
        "list": PENALTY,
        "subject_id": subject,
        "subject_kind": "org",
        "decided_on": day,
        "doc_no": doc_no,
    }


def test_entries_register_and_derive_and_a_bad_line_rejects_its_batch(
    served: str, tmp_path: Path
) -> None:
    rows = [
        _penalty(org(1), "2025-01-01", "罚1"),  # line 1, batch 1
        _penalty(org(1), "2025-03-01", "罚2"),  # line 2, batch 1
        _penalty(org(1), "2025-05-01", "罚3"),  # line 3, batch 2: the third derives
        _penalty(org(2), "2025-05-01", "罚4"),  # line 4, batch 2
        _penalty(wrong_check(org(3)), "2025-05-01", "罚5"),  # line 5, batch 3: bad id
        _penalty(org(4), "2025-05-01", "罚6"),  # line 6, batch 3: good, batch rejected
    ]
    path = _lines(tmp_path / "entries.jsonl", rows)
    result = run(served, "entries", path, "--department", "market", "--batch-lines", "2")
    assert result.exit_code == 1, result.output
    assert f"{path}:5: subject_id:" in result.stderr
    assert f"{path}:6" not in result.stderr
    service = reopened(served)
    try:
        lists = sorted(e.list for e in service.state.entries.values())
        assert lists == [PENALTY] * 4 + ["focus_supervision"]
        assert org(4) not in service.state.subjects
        derived = [e for e in service.state.entries.values() if e.list == "focus_supervision"]
        assert derived[0].department == "system"
    finally:
        service.close()

    again = run(served, "entries", path, "--department", "market", "--batch-lines", "2")
    assert again.exit_code == 1  # the bad line is still bad ...
    service = reopened(served)
    try:
        assert len(service.state.entries) == 5  # ... and nothing registered twice
    finally:
        service.close()


def test_csv_entries_need_an_owning_department(served: str, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "entries.csv",
        "list,subject_id,subject_kind,decided_on,doc_no",
        [f"dishonest_judgment_debtor,{org(1)},org,2025-01-01,(2025)执1号"],
    )
    refused = run(served, "entries", path, "--department", "market")
    assert refused.exit_code == 1
    assert f"{path}:2:" in refused.stderr
    accepted = run(served, "entries", path, "--department", "court")
    assert accepted.exit_code == 0, accepted.output
    service = reopened(served)
    try:
        (entry,) = service.state.entries.values()
        assert (entry.department, entry.list, entry.subject_id) == (
            "court",
            "dishonest_judgment_debtor",
            org(1),
        )
    finally:
        service.close()
