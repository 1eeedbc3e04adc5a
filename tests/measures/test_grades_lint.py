"""Lint of grades.yaml, grade triggers and absence derivations (docs/grades.md): each problem
at its file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.settings import SHIPPED_POLICY_DIR
from measures import lint_bundle
from measures.loader import legal_basis_problems, read_bundle_files

GRADES = "grades.yaml"
GRADED = "supervision/graded-supervision-d.yaml"
DERIVATIONS = "derivations.yaml"


def _bundle(tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(SHIPPED_POLICY_DIR, target)
    return target


def _edit(bundle: Path, name: str, old: str, new: str) -> int:
    """Replace ``old`` (once) in a bundle file; the 1-based line the edit starts on."""
    path = bundle / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (GRADES, "    kinds: [black]\n    points: 40", "    kinds: [black]\n    points: -4",
         "points: should be greater than 0"),
        (GRADES, "    lists: [administrative_penalty]",
         "    lists: [administrative_penalty]\n    kinds: [record]",
         "give lists or kinds (one of the two)"),
        (GRADES, "lists: [administrative_penalty]", "lists: [administrative_penaltie]",
         "unknown list 'administrative_penaltie'"),
        (GRADES, "kinds: [red]", "kinds: [gold]", "unknown list kind 'gold'"),
        (GRADES, "decay: {steps: [1, 1, 0.5]}", "decay: {steps: [1, 0.5, 1]}",
         "steps must not increase"),
        (GRADES, "decay: {steps: [1, 1, 0.5]}", "decay: {steps: [1], linear_years: 2}",
         "give steps or linear_years (one of the two)"),
        (GRADES, "  - id: red-list", "  - id: blacklisted", "duplicate rule id 'blacklisted'"),
        (GRADES, "min_score: 90}", "min_score: 120}", "is not below the grade above it"),
        (GRADES, "label: 严重失信(D级)}", "label: 严重失信(D级), min_score: 10}",
         "the last grade 'D' takes every lower score"),
        (GRADES, "{grade: C, label: 失信风险(C级), min_score: 70}", "{grade: B, label: 重复}",
         "duplicate grade 'B'"),
        (GRADES, "{grade: A,", "{grade: a,", "'a' is not a valid grade"),
        (GRADES, "max_score: 150", "max_score: -1", "min_score (0) is more than max_score (-1)"),
        (GRADES, "base: 100", "bass: 100", "unknown key 'bass'"),
        (GRADED, "  - grade: [D]", "  - grade: [E]",
         "unknown grade 'E'; grades.yaml has: A, B, C, D"),
        (DERIVATIONS, "    absent_kinds: [black, record]",
         "    absent_kinds: [black, record]\n    from_list: administrative_penalty",
         "unknown key 'from_list'"),
        (DERIVATIONS, "    derive_list: clean_record", "    derive_list: focus_supervision",
         "derive_list 'focus_supervision' is a black list"),
        (DERIVATIONS, "absent_kinds: [black, record]", "absent_lists: [clean_record]",
         "derive_list 'clean_record' is among the lists whose absence it needs"),
        (DERIVATIONS, "absent_kinds: [black, record]", "absent_lists: [no_such_list]",
         "unknown list 'no_such_list'"),
    ],
)  # fmt: skip
def test_each_problem_is_reported_at_its_line(
    tmp_path: Path, name: str, old: str, new: str, message: str
) -> None:
    bundle = _bundle(tmp_path)
    line = _edit(bundle, name, old, new)
    problems = lint_bundle(bundle)
    found = [p for p in problems if message in p.message]
    assert found, [str(p) for p in problems]
    assert found[0].path == name
    # At the edited key, or at the item or key it belongs to (a few lines above).
    assert line - 3 <= found[0].line <= line + new.count("\n") + 2, str(found[0])


def test_a_grade_trigger_without_a_grades_model_is_a_problem(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    (bundle / GRADES).unlink()
    problems = lint_bundle(bundle)
    assert sorted((p.path, p.message) for p in problems) == [
        (path, "a grade trigger needs a grades model: the bundle has no grades.yaml")
        for path in ("supervision/graded-supervision-a.yaml", GRADED)
    ]


def test_a_grades_model_must_state_its_legal_basis_when_required(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    assert legal_basis_problems(read_bundle_files(bundle)) == []
    line = _edit(bundle, GRADES, "note: 示例/本地模型", "# note: 示例/本地模型")
    assert lint_bundle(bundle) == []
    problems = legal_basis_problems(read_bundle_files(bundle))
    assert [p.path for p in problems] == [GRADES]
    assert "grades model 'local-credit-score' has no legal_basis" in problems[0].message
    assert problems[0].line < line


def test_grades_yaml_in_a_sub_directory_is_misplaced(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    shutil.copy(bundle / GRADES, bundle / "supervision" / GRADES)
    problems = lint_bundle(bundle)
    assert [p.message for p in problems] == [
        "grades.yaml is read only at the bundle root; move or rename it"
    ]
