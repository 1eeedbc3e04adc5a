"""Objection events in the projection: legacy payloads, the new fields, corrections, and
snapshots of all of them (engine/state/projection.py, engine/store/snapshot.py)."""

from __future__ import annotations

import datetime as dt

from engine.entries.views import entry_view
from engine.state import EntryStatus, State
from engine.store import snapshot


def _entry(entry_id: str) -> dict[str, object]:
    return {
        "entry": {
            "id": entry_id,
            "list": "dishonest_judgment_debtor",
            "subject_id": "91440101000010014P",
            "subject_kind": "org",
            "department": "court",
            "decided_on": "2025-03-01",
            "effective_from": "2025-03-01",
            "effective_to": None,
            "doc_no": "(2025)粤01执1号",
            "reason": None,
            "attributes": {"amount": 2000000, "category": "tax_evasion"},
        },
        "triggered": [],
    }


def test_legacy_and_new_objection_payloads_apply() -> None:
    state = State()
    state.apply_all(
        [
            (1, "entry.registered", _entry("a")),
            (2, "entry.registered", _entry("b")),
            # Logged before received_on/verify_by/resolved_on existed:
            (3, "entry.objection_raised", {"entry_id": "a", "reason": "旧异议"}),
            (4, "entry.objection_resolved", {"entry_id": "a", "outcome": "upheld", "note": None}),
            (
                5,
                "entry.objection_raised",
                {
                    "entry_id": "b",
                    "reason": "新异议",
                    "received_on": "2025-09-26",
                    "verify_by": "2025-10-16",
                    "verify_by_estimated": False,
                },
            ),
            (
                6,
                "entry.objection_resolved",
                {
                    "entry_id": "b",
                    "outcome": "corrected",
                    "note": "更正",
                    "resolved_on": "2025-10-10",
                    "attributes": {"amount": 10, "category": "tax_evasion"},
                    "effective_to": "2027-01-01",
                },
            ),
        ]
    )
    legacy = state.entries["a"]
    assert legacy.status is EntryStatus.revoked
    assert entry_view(legacy)["objection"] == {
        "reason": "旧异议",
        "received_on": None,
        "verify_by": None,
        "outcome": "upheld",
        "resolved_on": None,
        "note": None,
    }
    corrected = state.entries["b"]
    assert corrected.status is EntryStatus.active
    assert corrected.attributes == {"amount": 10, "category": "tax_evasion"}
    assert corrected.effective_to == dt.date(2027, 1, 1)
    assert corrected.objection is not None
    assert (corrected.objection.verify_by, corrected.objection.outcome) == (
        dt.date(2025, 10, 16),
        "corrected",
    )
    assert list(state.objections) == ["a", "b"]

    restored = snapshot.restore(snapshot.dump(state))
    assert restored.entries == state.entries
    assert restored.objections == state.objections
