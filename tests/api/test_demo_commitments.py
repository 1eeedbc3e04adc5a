"""The demo data (api/demo/data.py) shows commitments (one breached, giving an entry) and at
least one early warning (docs/commitments.md). Run on both databases."""

from __future__ import annotations

from api.demo import data
from engine import commitments, earlywarning
from tests.api.conftest import Running
from tests.api.test_commitments import policy_dir

__all__ = ["policy_dir"]  # the shipped bundle


def test_demo_shows_commitments_and_warnings(running: Running) -> None:
    service = running.service
    data.load(service)
    items = commitments.commitments_page(service, only_department=None)["items"]
    assert sorted(item["status"] for item in items) == ["active", "breached", "fulfilled"]
    broken = next(item for item in items if item["status"] == "breached")
    entry = service.state.entries[broken["breach"]["entry_id"]]
    assert entry.list == "commitment_breach" and entry.subject_id == "91440101000010022J"
    warned = earlywarning.warnings_page(service)["items"]
    assert "commitment_due" in {item["kind"] for item in warned}
    data.load(service)  # a second start loads nothing again
    assert len(commitments.commitments_page(service, only_department=None)["items"]) == 3
