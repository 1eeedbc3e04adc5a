"""``jrp test`` grade cases (docs/grades.md#policy-tests) on the shipped bundle's local model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.policytest import run_tests
from engine.settings import SHIPPED_POLICY_DIR
from tests.engine.policytest.test_policy_tests import _keep_logging, invoke  # noqa: F401

ORG = "91440101000010014P"
CASE = f"""\
cases:
  - name: 失信被执行人D级
    today: 2026-06-01
    entries:
      - {{list: dishonest_judgment_debtor, subject_id: {ORG}, subject_kind: org,
         department: court, decided_on: 2025-03-01, doc_no: （2025）粤01执1号}}
    grades:
      - subject_id: {ORG}
        expect: {{grade: D, score: 60}}
      - subject_id: {ORG}
        as_of: 2027-03-01
        expect: {{grade: C}}
"""


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    directory = tmp_path / "bundle"
    shutil.copytree(SHIPPED_POLICY_DIR, directory)
    for test_file in directory.rglob("*_test.yaml"):
        test_file.unlink()
    return directory


def test_grade_cases_pass_and_count_as_checks(bundle: Path) -> None:
    (bundle / "grades_test.yaml").write_text(CASE, encoding="utf-8")
    report = run_tests(bundle)
    assert (report.passed, report.failed) == (2, 0)


def test_a_wrong_grade_names_its_line_and_what_came(bundle: Path) -> None:
    (bundle / "grades_test.yaml").write_text(CASE.replace("grade: C}", "grade: B}"), "utf-8")
    code, out = invoke(str(bundle))
    assert code == 1
    assert (
        f"{bundle}/grades_test.yaml:10: 失信被执行人D级: expected grade B, got grade C (score 80)"
    ) in out


def test_a_grade_case_is_checked_against_the_model(bundle: Path) -> None:
    (bundle / "grades_test.yaml").write_text(CASE.replace("grade: D,", "grade: E,"), "utf-8")
    code, out = invoke(str(bundle))
    assert code == 2
    assert f"{bundle}/grades_test.yaml:9: unknown grade 'E'" in out
    (bundle / "grades_test.yaml").write_text(CASE, encoding="utf-8")
    (bundle / "grades.yaml").unlink()
    for graded in (bundle / "supervision").glob("graded-*.yaml"):
        graded.unlink()
    code, out = invoke(str(bundle))
    assert code == 2
    assert f"{bundle}/grades_test.yaml:8: a grade case needs a grades model" in out
