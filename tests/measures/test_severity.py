"""Severity classes on lists (docs/policy-format.md): defaults, explicit values, lint."""

from __future__ import annotations

from pathlib import Path

from measures import Problem, lint_bundle
from measures.loader import load_bundle
from tests.measures.editing import copy_example, line_of, replace_once

LIST = "    repairable: true\n    min_publicity_days: 90\n  focus_supervision:"


def test_severity_sets_the_publicity_days_a_list_does_not_give(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    replace_once(
        root / "vocabulary.yaml",
        LIST,
        "    repairable: true\n    severity: serious\n  focus_supervision:",
    )
    definition = load_bundle(root).vocabulary.lists["administrative_penalty"]
    assert (definition.min_publicity_days, definition.max_publicity_days) == (365, 1095)


def test_explicit_days_win_over_the_severity(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    replace_once(
        root / "vocabulary.yaml",
        LIST,
        "    repairable: true\n    severity: general\n    min_publicity_days: 30\n"
        "  focus_supervision:",
    )
    definition = load_bundle(root).vocabulary.lists["administrative_penalty"]
    assert (definition.min_publicity_days, definition.max_publicity_days) == (30, 365)
    assert load_bundle(root).vocabulary.settings.objection_verify_working_days == 10


def test_min_above_max_is_a_problem_at_its_line(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    text = replace_once(
        root / "vocabulary.yaml",
        LIST,
        "    repairable: true\n    severity: minor\n    min_publicity_days: 120\n"
        "  focus_supervision:",
    )
    message = "min_publicity_days (120) is more than max_publicity_days (90)"
    assert lint_bundle(root) == [
        Problem("vocabulary.yaml", line_of(text, "min_publicity_days: 120"), message)
    ]


def test_unknown_severity_is_a_problem(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    text = replace_once(
        root / "vocabulary.yaml",
        LIST,
        "    repairable: true\n    severity: grave\n    min_publicity_days: 90\n"
        "  focus_supervision:",
    )
    [problem] = lint_bundle(root)
    assert (problem.path, problem.line) == ("vocabulary.yaml", line_of(text, "severity: grave"))
    assert "grave" in problem.message


def test_the_shipped_vocabulary_classifies_its_lists() -> None:
    shipped = Path(__file__).resolve().parents[2] / "memoranda"
    lists = load_bundle(shipped).vocabulary.lists
    assert lists["major_tax_violation"].severity == "serious"
    assert lists["major_tax_violation"].max_publicity_days == 1095
    assert lists["administrative_penalty"].severity == "general"
    assert lists["administrative_penalty"].max_publicity_days == 365
