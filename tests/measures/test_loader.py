"""Loading the contract example bundle, and bundle-level problems (files, roles, encoding)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from measures import (
    InvalidBundle,
    Problem,
    lint_bundle,
    load_bundle,
    parse_bundle,
    read_bundle_files,
)
from measures.schema import AllOf, AnyOf, Comparison, Effect, MemorandumKind, SubjectKind
from tests.measures.editing import (
    ATP,
    CONTRACT_EXAMPLE,
    DJD,
    copy_example,
    line_of,
    replace_once,
)


def test_contract_example_loads_with_refs_resolved() -> None:
    bundle = load_bundle(CONTRACT_EXAMPLE)

    assert list(bundle.memoranda) == ["a-grade-taxpayers", "dishonest-judgment-debtors"]
    djd = bundle.memoranda["dishonest-judgment-debtors"]
    assert (djd.path, djd.kind, djd.issued_on) == (
        DJD,
        MemorandumKind.punishment,
        dt.date(2016, 1, 20),
    )
    assert [m.id for m in djd.measures] == ["djd-procurement", "djd-financing"]
    financing = bundle.measures["djd-financing"]
    # From the catalogue: text, effect, matters, implementing; overridden here: mandatory, and
    # duration_days set explicitly to null (the catalogue says 1095).
    assert financing.catalogue_ref == "restrict-financing"
    assert financing.memorandum_id == "dishonest-judgment-debtors"
    assert (financing.text, financing.effect) == ("限制发行企业债券", Effect.restrict)
    assert (financing.matters, financing.implementing) == (("financing",), ("ndrc",))
    assert (financing.mandatory, financing.duration_days) == (False, None)
    approval = bundle.measures["atp-simplified-approval"]
    assert approval.subject_kinds == (SubjectKind.org,)
    assert (approval.mandatory, approval.catalogue_ref) == (False, "simplified-approval")
    assert [d.id for d in bundle.derivations] == ["repeat-penalties"]
    assert set(bundle.triggers_by_list) == {"dishonest_judgment_debtor", "a_grade_taxpayer"}


def test_condition_tree_keeps_its_shape() -> None:
    trigger = load_bundle(CONTRACT_EXAMPLE).triggers_by_list["dishonest_judgment_debtor"][0]

    assert trigger.when == AllOf(
        all=[
            Comparison(field="amount", op="gte", value=1000000),
            AnyOf(
                any=[
                    Comparison(field="category", op="eq", value="tax_evasion"),
                    Comparison(
                        field="category", op="in", value=["tax_fraud", "export_rebate_fraud"]
                    ),
                ]
            ),
        ]
    )


def test_a_date_in_a_condition_stays_a_string(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    replace_once(root / DJD, "op: gte, value: 1000000", "op: gte, value: 2016-01-20")

    trigger = load_bundle(root).triggers_by_list["dishonest_judgment_debtor"][0]

    assert isinstance(trigger.when, AllOf)
    assert trigger.when.all[0] == Comparison(field="amount", op="gte", value="2016-01-20")


def test_parse_bundle_from_the_stored_bytes_gives_the_same_bundle() -> None:
    bundle = load_bundle(CONTRACT_EXAMPLE)

    again = parse_bundle(bundle.files)

    assert again.version == bundle.version
    assert again.memoranda == bundle.memoranda
    assert list(bundle.files) == sorted(bundle.files)


def test_every_problem_is_reported_in_one_error(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    atp = replace_once(root / ATP, "kind: incentive", "kind: reward")
    djd = replace_once(root / DJD, "implementing: [finance]", "implementing: [treasury]")
    derivations = replace_once(root / "derivations.yaml", "at_least: 3", "at_least: 0")

    with pytest.raises(InvalidBundle) as raised:
        load_bundle(root)

    assert str(raised.value) == "policy bundle invalid: 3 problems"
    assert [problem.as_detail() for problem in raised.value.problems] == [
        {
            "path": ATP,
            "line": line_of(atp, "kind: reward"),
            "message": "unknown kind 'reward'; expected one of: punishment, incentive",
        },
        {
            "path": DJD,
            "line": line_of(djd, "[treasury]"),
            "message": "unknown department 'treasury'",
        },
        {
            "path": "derivations.yaml",
            "line": line_of(derivations, "at_least: 0"),
            "message": "at_least: should be greater than or equal to 1",
        },
    ]


def test_missing_directory_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    assert lint_bundle(missing) == [Problem("", 0, f"not a directory: {missing}")]


def test_missing_vocabulary_is_a_problem(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    (root / "vocabulary.yaml").unlink()

    assert lint_bundle(root) == [
        Problem("vocabulary.yaml", 0, "missing: a bundle needs a vocabulary.yaml")
    ]


@pytest.mark.parametrize("name", ["vocabulary.yaml", "catalogue.yaml", "derivations.yaml"])
def test_root_file_name_in_a_sub_directory_is_misplaced(tmp_path: Path, name: str) -> None:
    root = copy_example(tmp_path / "bundle")
    (root / "court" / name).write_bytes((root / name).read_bytes())

    assert lint_bundle(root) == [
        Problem(f"court/{name}", 0, f"{name} is read only at the bundle root; move or rename it")
    ]


def test_file_that_is_not_utf8_is_a_problem_at_the_bad_byte(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    text = (root / ATP).read_text(encoding="utf-8")
    legacy = "纳税信用".encode("gb18030")  # the title, as a GB18030 editor would save it
    (root / ATP).write_bytes(text.encode().replace("纳税信用".encode(), legacy))

    assert lint_bundle(root) == [
        Problem(ATP, line_of(text, "纳税信用"), f"not valid UTF-8 (byte 0x{legacy[0]:02x})")
    ]


def test_empty_memorandum_is_a_problem(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    (root / "court" / "draft.yaml").write_text("# nothing yet\n")

    assert lint_bundle(root) == [
        Problem("court/draft.yaml", 1, "empty file: expected a mapping of keys")
    ]


def test_memorandum_that_is_not_a_mapping_is_a_problem(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    (root / "court" / "list.yaml").write_text("\n- id: x\n")

    assert lint_bundle(root) == [Problem("court/list.yaml", 2, "expected a mapping")]


def test_dot_paths_and_other_extensions_are_not_read(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    for hidden in (".draft.yaml", ".git/config.yaml", "court/.old/x.yaml", "notes.yml", "a.txt"):
        (root / hidden).parent.mkdir(parents=True, exist_ok=True)
        (root / hidden).write_text("this: is not a memorandum\n")

    assert list(read_bundle_files(root)) == [
        ATP,
        "catalogue.yaml",
        DJD,
        "derivations.yaml",
        "vocabulary.yaml",
    ]
    assert lint_bundle(root) == []


def test_unreadable_files_and_directories_are_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_example(tmp_path / "bundle")
    (root / "locked").mkdir()
    (root / "locked" / "m.yaml").write_text("id: m\n")
    # Tests run as root in CI, where chmod does not stop reads: inject the errors instead.
    real_read_bytes, real_scandir = Path.read_bytes, os.scandir

    def read_bytes(path: Path) -> bytes:
        if path == root / ATP:
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path)

    def scandir(path: Any = ".") -> Any:
        if Path(path) == root / "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(os, "scandir", scandir)

    assert lint_bundle(root) == [
        Problem(ATP, 0, "cannot read: Permission denied"),
        Problem("locked", 0, "cannot read: Permission denied"),
    ]


def test_file_name_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    name = os.fsdecode(b"\xff.yaml")
    (root / name).write_text("id: x\n")

    assert lint_bundle(root) == [Problem("\\xff.yaml", 0, "file name is not valid UTF-8")]
