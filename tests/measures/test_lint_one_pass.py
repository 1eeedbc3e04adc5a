"""``jrp lint`` reports a file's structural and reference problems together, in one pass."""

from __future__ import annotations

import shutil
from pathlib import Path

from measures.loader import lint_bundle
from tests.conftest import CONTRACT_BUNDLE


def test_unknown_key_and_unknown_department_are_reported_together(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(CONTRACT_BUNDLE, bundle)
    memo = bundle / "court" / "dishonest-judgment-debtors.yaml"
    text = memo.read_text(encoding="utf-8")
    text = text.replace(
        "    implementing: [finance]\n", "    implementing: [army]\n    colour: red\n"
    )
    memo.write_text(text, encoding="utf-8")
    shown = [str(problem) for problem in lint_bundle(bundle)]
    assert shown == [
        "court/dishonest-judgment-debtors.yaml:21: unknown department 'army'",
        "court/dishonest-judgment-debtors.yaml:22: unknown key 'colour'",
    ]


def test_other_schema_problems_still_stop_reference_checks_of_that_file(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(CONTRACT_BUNDLE, bundle)
    memo = bundle / "court" / "dishonest-judgment-debtors.yaml"
    text = memo.read_text(encoding="utf-8").replace("effect: prohibit ", "effect: forbid   ")
    memo.write_text(text.replace("implementing: [finance]", "implementing: [army]"), "utf-8")
    assert [p.message for p in lint_bundle(bundle)] == [
        "unknown effect 'forbid'; expected one of: prohibit, restrict, review, notice, incentive"
    ]
