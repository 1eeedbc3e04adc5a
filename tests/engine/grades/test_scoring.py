"""Scores, decay, clean years and grade thresholds (engine/grades), on plain entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from engine.grades import Selector, clean_record, grade_on
from engine.grades.scoring import decay_factor
from engine.state import Entry, EntryStatus
from engine.timing import add_years, whole_years
from measures.schema import Decay, GradesFile, ListDefinition, ListKind, SubjectKind

LISTS = {
    "black": ListDefinition(name="黑", kind=ListKind.black, owners=["court"]),
    "penalty": ListDefinition(name="罚", kind=ListKind.record, owners=["court"]),
    "red": ListDefinition(name="红", kind=ListKind.red, owners=["court"]),
}
MODEL = GradesFile.model_validate({
    "id": "m", "name": "模型", "base": 100, "min_score": 0, "max_score": 130,
    "deductions": [
        {"id": "b", "kinds": ["black"], "points": 40, "decay": {"steps": [1, 0.5]}},
        {"id": "p", "lists": ["penalty"], "points": 10, "decay": {"linear_years": 2}},
    ],
    "bonuses": [{"id": "r", "kinds": ["red"], "points": 15}],
    "clean_years": {"kinds": ["black", "record"], "points_per_year": 2, "max_years": 5},
    "grades": [{"grade": "A", "label": "优", "min_score": 110},
               {"grade": "B", "label": "良", "min_score": 70}, {"grade": "D", "label": "差"}],
})  # fmt: skip


def entry(list_code: str, decided: str, to: str | None = None, **extra: Any) -> Entry:
    day = dt.date.fromisoformat(decided)
    values: dict[str, Any] = {
        "id": f"{list_code}-{decided}", "list": list_code, "subject_id": "S",
        "subject_kind": SubjectKind.org, "department": "court", "decided_on": day,
        "effective_from": day, "effective_to": None if to is None else dt.date.fromisoformat(to),
        "doc_no": "X", "reason": None, "attributes": {}, "status": EntryStatus.active,
        "registered_seq": 1, **extra,
    }  # fmt: skip
    return Entry(**values)


def score(entries: list[Entry], day: str) -> tuple[Decimal, str]:
    result = grade_on(MODEL, LISTS, entries, dt.date.fromisoformat(day))
    return result.score, result.grade


def test_whole_years_count_anniversaries_with_29_february() -> None:
    assert whole_years(dt.date(2024, 2, 29), dt.date(2025, 2, 27)) == 0
    assert whole_years(dt.date(2024, 2, 29), dt.date(2025, 2, 28)) == 1
    assert whole_years(dt.date(2025, 3, 1), dt.date(2024, 3, 1)) == 0
    assert add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)


def test_stepped_and_linear_decay() -> None:
    steps = Decay(steps=[1, 0.5])
    assert decay_factor(steps, dt.date(2025, 3, 1), dt.date(2026, 2, 28)) == 1
    assert decay_factor(steps, dt.date(2025, 3, 1), dt.date(2026, 3, 1)) == Decimal("0.5")
    assert decay_factor(steps, dt.date(2025, 3, 1), dt.date(2027, 3, 1)) == 0
    linear = Decay(linear_years=2)
    assert decay_factor(linear, dt.date(2025, 1, 1), dt.date(2025, 1, 1)) == 1
    half = decay_factor(linear, dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    assert half == Decimal(365) / Decimal(730)
    assert decay_factor(linear, dt.date(2025, 1, 1), dt.date(2027, 1, 1)) == 0


def test_score_grade_and_clamp() -> None:
    assert score([], "2026-06-01") == (Decimal(110), "A")  # 100 + 5 clean years x 2
    black = entry("black", "2026-01-01")
    assert score([black], "2026-06-01") == (Decimal(60), "D")
    assert score([black], "2027-01-01") == (Decimal(80), "B")  # halved in the second year
    assert score([black], "2028-01-01") == (Decimal(100), "B")  # weighs nothing; still listed
    penalty = entry("penalty", "2025-06-01", "2025-12-01")
    # 1 year of 2 gone: -5 (rounded to cents); the record ended 2025-12-01: no clean year yet.
    assert score([penalty], "2026-06-01") == (Decimal("95.00"), "B")
    red = [entry("red", f"2026-0{m}-01") for m in range(1, 4)]
    assert score(red, "2026-06-01")[0] == 130  # 100 + 45 + 10, clamped to max_score
    future = entry("black", "2027-01-01")
    assert score([future], "2026-06-01") == (Decimal(110), "A")  # not yet effective


def test_statuses_revoked_objection_repaired() -> None:
    listed = entry("black", "2026-01-01")
    revoked = entry("black", "2026-01-01", status=EntryStatus.revoked)
    assert score([revoked], "2026-06-01") == score([], "2026-06-01")
    suspended = entry("black", "2026-01-01", status=EntryStatus.under_objection)
    assert score([suspended], "2026-06-01")[0] == 100  # no deduction, still not clean
    repaired = entry(
        "black", "2026-01-01", status=EntryStatus.repaired, ended_on=dt.date(2026, 5, 1)
    )
    assert score([repaired], "2026-04-30") == score([listed], "2026-04-30")
    assert score([repaired], "2026-06-01")[0] == 100  # repaired: no deduction, 0 clean years


def test_clean_record_since_the_latest_record_ended() -> None:
    selector = Selector.of(None, [ListKind.black, ListKind.record])
    day = dt.date(2026, 6, 1)
    assert clean_record([], selector, LISTS, day).years is None
    old = entry("penalty", "2020-01-01", "2022-06-01")
    newer = entry("penalty", "2021-01-01", "2023-06-02")
    found = clean_record([old, newer], selector, LISTS, day)
    assert (found.years, found.latest, found.since) == (2, newer, dt.date(2023, 6, 2))
    assert clean_record([entry("black", "2010-01-01")], selector, LISTS, day).years == 0
    assert clean_record([entry("red", "2026-01-01")], selector, LISTS, day).years is None
