"""``jrp test``: policy test files run from an empty state through the service's own code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import policytest as test_cli
from api.cli.main import app
from engine.errors import InvalidPolicy
from engine.policytest import run_tests
from measures.loader import lint_bundle, load_bundle
from tests.conftest import FIXTURES

ORG = "91440101000010014P"
PERSON = "440106198001010115"

CASE = f"""\
cases:
  - name: 失信被执行人的法定代表人限制政府采购
    today: 2026-06-01
    subjects:
      - {{id: {ORG}, kind: org, name: 某有限公司}}
      - {{id: {PERSON}, kind: person, name: 张示例}}
    relations:
      - {{org_id: {ORG}, person_id: {PERSON}, role: legal_representative,
         start: 2020-01-01, end: null}}
    entries:
      - list: dishonest_judgment_debtor
        subject_id: {ORG}
        subject_kind: org
        department: court
        decided_on: 2025-03-01
        doc_no: （2025）粤01执1号
        attributes: {{amount: 2000000, category: tax_evasion}}
    checks:
      - subject_id: {PERSON}
        matter: government_procurement
        expect:
          outcome: prohibit
          hits: [djd-procurement]
      - subject_id: {ORG}
        matter: financing
        as_of: 2026-06-01
        expect: {{outcome: restrict, binding_outcome: clear, hits: [djd-financing]}}
"""


@pytest.fixture(autouse=True)
def _keep_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    # configure() replaces the process-wide structlog setup other tests capture logs with.
    monkeypatch.setattr(test_cli.logging_setup, "configure", lambda **_kwargs: None)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    directory = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "bundles" / "contract_example", directory)
    return directory


def json_report(out: str) -> dict[str, Any]:
    """The JSON report (log lines an unconfigured structlog prints may come before it)."""
    loaded: dict[str, Any] = json.loads(out[out.index("{\n") :])
    return loaded


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["test", *args])
    return result.exit_code, result.stdout + (result.stderr or "")


def test_test_files_are_no_part_of_the_bundle(bundle: Path) -> None:
    before = load_bundle(bundle).version
    (bundle / "court" / "djd_test.yaml").write_text("not: [a, bundle file", encoding="utf-8")
    assert lint_bundle(bundle) == []
    assert load_bundle(bundle).version == before


def test_passing_cases_and_coverage(bundle: Path) -> None:
    (bundle / "court" / "djd_test.yaml").write_text(CASE, encoding="utf-8")
    code, out = invoke(str(bundle))
    assert code == 0, out
    lines = out.strip().splitlines()
    assert lines[-2:] == ["measures covered: 2 of 4 (50%)", "2 passed, 0 failed"]
    code, out = invoke(str(bundle), "--coverage-min", "50")
    assert code == 0, out


def test_coverage_short_lists_uncovered_measures(bundle: Path) -> None:
    (bundle / "court" / "djd_test.yaml").write_text(CASE, encoding="utf-8")
    code, out = invoke(str(bundle), "--coverage-min", "100")
    assert code == 1
    assert f"{bundle}/a-grade-taxpayers.yaml:10: atp-bidding-priority not covered" in out
    assert f"{bundle}/a-grade-taxpayers.yaml:15: atp-simplified-approval not covered" in out
    code, out = invoke(str(bundle), "--coverage-min", "100", "--json")
    assert code == 1
    report = json_report(out)
    assert report["coverage"]["covered"] == 2 and report["coverage"]["total"] == 4
    assert {"measure_id": "atp-bidding-priority", "file": "a-grade-taxpayers.yaml",
            "line": 10} in report["coverage"]["uncovered"]  # fmt: skip


def test_a_failing_check_names_its_line(bundle: Path) -> None:
    wrong = CASE.replace("binding_outcome: clear", "binding_outcome: prohibit")
    (bundle / "court" / "djd_test.yaml").write_text(wrong, encoding="utf-8")
    code, out = invoke(str(bundle))
    assert code == 1
    assert (
        f"{bundle}/court/djd_test.yaml:24: 失信被执行人的法定代表人限制政府采购: "
        "expected binding_outcome prohibit, got clear"
    ) in out
    assert out.strip().splitlines()[-1] == "1 passed, 1 failed"
    code, out = invoke(str(bundle), "--json")
    report = json_report(out)
    assert report["failed"] == 1 and report["failures"][0]["line"] == 24
    assert report["coverage"]["covered"] == 1  # a failing check covers nothing


def test_condition_and_status_come_from_the_engine(bundle: Path) -> None:
    # The trigger's condition is false below 1000000; a revoked entry yields nothing.
    case = CASE.replace("amount: 2000000", "amount: 999999").replace(
        "expect:\n          outcome: prohibit\n          hits: [djd-procurement]",
        "expect: {outcome: clear, hits: []}",
    )
    case = case.replace(
        "expect: {outcome: restrict, binding_outcome: clear, hits: [djd-financing]}",
        "expect: {outcome: clear}",
    )
    (bundle / "court" / "djd_test.yaml").write_text(case, encoding="utf-8")
    assert run_tests(bundle).failed == 0
    revoked = CASE.replace("attributes: {amount: 2000000, category: tax_evasion}",
                           "attributes: {amount: 2000000, category: tax_evasion}\n"
                           "        status: revoked")  # fmt: skip
    (bundle / "court" / "djd_test.yaml").write_text(revoked, encoding="utf-8")
    report = run_tests(bundle)
    assert report.failed == 2 and "got clear" in report.failures[0].message


def test_cases_do_not_see_each_other(bundle: Path) -> None:
    second = f"""\
  - name: 空白状态
    checks:
      - {{subject_id: {ORG}, matter: government_procurement, expect: {{outcome: clear}}}}
"""
    (bundle / "court" / "djd_test.yaml").write_text(CASE + second, encoding="utf-8")
    report = run_tests(bundle)
    assert (report.passed, report.failed) == (3, 0)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("hits: [djd-procurement]", "hits: [djd-nonexistent]"),
         "court/djd_test.yaml:23: unknown measure id 'djd-nonexistent'"),
        (("matter: financing", "matter: flying"),
         "court/djd_test.yaml:25: unknown matter 'flying'"),
        (("department: court", "department: army"),
         "court/djd_test.yaml:14: unknown department 'army'"),
        (("department: court", "department: tax"),
         "court/djd_test.yaml:14: department 'tax' does not own the list"),
        (("role: legal_representative", "role: chairman"),
         "court/djd_test.yaml:8: unknown role 'chairman'"),
        (("list: dishonest_judgment_debtor", "list: nope"),
         "court/djd_test.yaml:11: unknown list 'nope'"),
        (("doc_no: （2025）粤01执1号", "doc_no: （2025）粤01执1号\n        colour: red"),
         "court/djd_test.yaml:17: unknown key 'colour'"),
        ((f"      - subject_id: {PERSON}", "      - subject_id: 440106198001010116"),
         "court/djd_test.yaml:19: subject_id:"),
        (("        expect:\n          outcome: prohibit\n          hits: [djd-procurement]\n", ""),
         "court/djd_test.yaml:19: missing required key 'expect'"),
        (("cases:", "cases: ["), "court/djd_test.yaml:2: YAML syntax error"),
    ],
)  # fmt: skip
def test_invalid_test_files_exit_2(bundle: Path, edit: tuple[str, str], message: str) -> None:
    (bundle / "court" / "djd_test.yaml").write_text(CASE.replace(*edit), encoding="utf-8")
    with pytest.raises(InvalidPolicy):
        run_tests(bundle)
    code, out = invoke(str(bundle))
    assert code == 2
    assert f"{bundle}/{message}" in out, out


def test_an_invalid_bundle_exits_2(bundle: Path) -> None:
    (bundle / "court" / "djd_test.yaml").write_text(CASE, encoding="utf-8")
    text = (bundle / "catalogue.yaml").read_text(encoding="utf-8")
    (bundle / "catalogue.yaml").write_text(text.replace("effect: restrict", "effect: ban"))
    code, out = invoke(str(bundle))
    assert code == 2
    assert f"{bundle}/catalogue.yaml:4: unknown effect 'ban'" in out
