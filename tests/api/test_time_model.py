"""One time model on every route and command (engine/timing.py, docs/api.md#time).

Each case here was a 500, a refusal of a time without offset, or an hour off (+09:00) before
the time model: a time without offset is China time everywhere, China is a fixed +08:00, and
a date or time the service cannot compute with is a 422 naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Running, auth
from tests.api.test_entries_endpoints import ORG, djd
from tests.api.test_import_cli import _keep_logging, reopened, run, served
from tests.engine.registry.test_registry import org

__all__ = ["_keep_logging", "served"]  # fixtures used by name


def _field_of(response: Any) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    return str(error["details"][0]["field"])


def _check(running: Running, as_of: str) -> Any:
    body = {"subject_id": ORG, "matter": "government_procurement", "as_of": as_of}
    return running.client.post("/v1/checks", json=body, headers=auth("finance"))


def test_china_is_a_fixed_offset_even_in_the_summers_of_1986_to_1991(running: Running) -> None:
    # Asia/Shanghai had daylight saving time then (+09:00); the service's China time has not.
    response = _check(running, "1988-07-01T12:00:00")
    assert response.status_code == 200, response.text
    assert response.json()["as_of"] == "1988-07-01T12:00:00+08:00"


@pytest.mark.parametrize(
    "as_of",
    [
        "9999-12-31T23:00:00-05:00",  # year 10000 in China
        "0001-01-01T00:00:00",  # year 1
        "1899-12-31T23:59:59+08:00",  # before the calendar the service keeps
    ],
)
def test_an_as_of_out_of_range_is_a_422_naming_it(running: Running, as_of: str) -> None:
    assert _field_of(_check(running, as_of)) == "as_of"


def test_the_last_day_of_the_calendar_is_a_valid_as_of(running: Running) -> None:
    response = _check(running, "9999-12-31T23:59:59+08:00")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("decided_on", "1899-12-31"),
        ("decided_on", "0001-01-01"),
        ("effective_from", "0001-01-01"),
        ("effective_to", "1800-01-01"),
    ],
)
def test_entry_dates_out_of_range_are_a_422_naming_the_field(
    running: Running, field: str, value: str
) -> None:
    response = running.client.post("/v1/entries", json=djd(**{field: value}), headers=auth("court"))
    assert _field_of(response) == field


def test_a_period_past_the_end_of_the_calendar_has_no_end(running: Running) -> None:
    # A list's default duration from 9999-12-30 runs past 9999-12-31: the entry has no end
    # (it overflowed into a 500 before), and checks of that day still answer.
    body = djd(list="administrative_penalty", effective_from="9999-12-30", doc_no="罚9999")
    response = running.client.post("/v1/entries", json=body, headers=auth("tax"))
    assert response.status_code == 201, response.text
    assert response.json()["entry"]["effective_to"] is None
    assert _check(running, "9999-12-31T12:00:00").status_code == 200


def test_replay_and_the_decision_log_take_times_without_offset(running: Running) -> None:
    assert _check(running, "2026-11-22T10:00:00").status_code == 200
    replayed = running.client.post(
        "/v1/replay", json={"since": "2026-01-01"}, headers=auth("auditor")
    )
    assert replayed.status_code == 200, replayed.text  # a 500 before
    assert replayed.json()["replayed"] == 1
    listed = running.client.get(
        "/v1/decisions", params={"since": "2026-01-01T00:00:00"}, headers=auth("auditor")
    )
    assert listed.status_code == 200, listed.text  # a 422 "must carry an offset" before
    assert len(listed.json()["items"]) == 1
    too_late = running.client.post(
        "/v1/replay", json={"until": "9999-12-31T23:00:00-05:00"}, headers=auth("auditor")
    )
    assert _field_of(too_late) == "until"


def test_import_reports_an_out_of_range_date_at_its_line(served: str, tmp_path: Path) -> None:
    path = tmp_path / "entries.csv"
    path.write_text(
        "list,subject_id,subject_kind,decided_on,effective_from,doc_no\n"
        f"administrative_penalty,{org(1)},org,2025-01-01,9999-12-31,罚1\n"  # no end: accepted
        f"administrative_penalty,{org(2)},org,0001-01-01,,罚2\n",  # refused at its line
        encoding="utf-8",
    )
    result = run(served, "entries", path, "--department", "market", "--batch-lines", "1")
    assert result.exit_code == 1, result.output
    assert f"{path}:3: decided_on:" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    service = reopened(served)
    try:
        (entry,) = service.state.entries.values()
        assert (entry.subject_id, entry.effective_to) == (org(1), None)
    finally:
        service.close()
