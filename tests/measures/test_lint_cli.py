"""``jrp lint DIR``: exit codes and output."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from api.cli.lint import lint
from measures import load_bundle
from tests.measures.editing import (
    ATP,
    CONTRACT_EXAMPLE,
    DJD,
    copy_example,
    line_of,
    replace_once,
)

app = typer.Typer()
app.command()(lint)


def run(directory: Path, *flags: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(directory), *flags])
    return result.exit_code, result.stdout, result.stderr


def test_valid_bundle_prints_one_summary_line() -> None:
    code, out, err = run(CONTRACT_EXAMPLE)

    version = load_bundle(CONTRACT_EXAMPLE).version
    assert (code, err) == (0, "")
    assert out == f"ok: 2 memoranda, 4 measures, 1 derivation; version {version}\n"


def test_invalid_bundle_prints_one_line_per_problem_under_the_given_directory(
    tmp_path: Path,
) -> None:
    root = copy_example(tmp_path / "bundle")
    text = replace_once(root / DJD, "effect: prohibit", "effect: forbid")
    vocabulary = replace_once(root / "vocabulary.yaml", "owners: [tax]", "owners: [taxes]")

    code, out, err = run(root)

    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{root}/{DJD}:{line_of(text, 'effect: forbid')}: unknown effect 'forbid'; expected one "
        "of: prohibit, restrict, review, notice, incentive",
        f"{root}/vocabulary.yaml:{line_of(vocabulary, '[taxes]')}: unknown department 'taxes'",
    ]


def test_missing_directory_fails(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    code, out, err = run(missing)

    assert (code, out, err) == (1, "", f"{missing}:0: not a directory: {missing}\n")


# --- --require-legal-basis ---------------------------------------------------------------------

REQUIRE = "--require-legal-basis"


def test_the_contract_example_passes_without_the_flag_and_fails_with_it(tmp_path: Path) -> None:
    """The contract's own example has measures without legal_basis: valid, but not with the flag."""
    root = copy_example(tmp_path / "bundle")
    atp = (root / ATP).read_text(encoding="utf-8")

    assert run(root)[0] == 0
    code, out, err = run(root, REQUIRE)

    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{root}/{ATP}:{line_of(atp, 'id: atp-bidding-priority')}: measure 'atp-bidding-priority' "
        "has no legal_basis: give one, or write 'legal_basis: null' with a 'note' saying its "
        "document gives none",
        f"{root}/{ATP}:{line_of(atp, 'id: atp-simplified-approval')}: measure "
        "'atp-simplified-approval' has no legal_basis: its catalogue measure 'simplified-approval' "
        "gives none; give one there, or write 'legal_basis: null' there with a 'note' (there or on "
        "this ref) saying its document gives none",
    ]


def test_null_legal_basis_with_a_note_satisfies_the_flag(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    replace_once(
        root / ATP,
        "    implementing: [finance]\n",
        "    implementing: [finance]\n    legal_basis: null\n    note: 备忘录原文未列明法律依据\n",
    )
    replace_once(
        root / "catalogue.yaml",
        "    implementing: [market]\n",
        "    implementing: [market]\n    legal_basis: null\n",
    )
    replace_once(
        root / ATP,
        "    id: atp-simplified-approval\n",
        "    id: atp-simplified-approval\n    note: 本备忘录原文未列明法律依据\n",
    )

    code, out, err = run(root, REQUIRE)

    assert (code, err) == (0, "")
    assert out.startswith("ok: 2 memoranda, 4 measures")
    bundle = load_bundle(root)
    assert bundle.measures["atp-bidding-priority"].legal_basis is None
    assert bundle.measures["atp-bidding-priority"].note == "备忘录原文未列明法律依据"
    assert bundle.measures["atp-simplified-approval"].note == "本备忘录原文未列明法律依据"


def test_a_null_legal_basis_without_a_note_or_a_note_without_null_does_not(
    tmp_path: Path,
) -> None:
    """Silence is not a statement: null needs a note, and a note alone is not 'null'."""
    root = copy_example(tmp_path / "bundle")
    atp = replace_once(
        root / ATP,
        "    implementing: [finance]\n",
        "    implementing: [finance]\n    legal_basis: null\n",
    )
    replace_once(
        root / "catalogue.yaml",
        "    implementing: [market]\n",
        "    implementing: [market]\n    note: 未核实\n",
    )

    code, _, err = run(root, REQUIRE)

    assert code == 1
    assert [line.split(": measure ")[0] for line in err.splitlines()] == [
        f"{root}/{ATP}:{line_of(atp, 'id: atp-bidding-priority')}",
        f"{root}/{ATP}:{line_of(atp, 'id: atp-simplified-approval')}",
    ]


def test_the_flag_reports_bundle_problems_first(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    text = replace_once(root / DJD, "effect: prohibit", "effect: forbid")

    code, out, err = run(root, REQUIRE)

    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{root}/{DJD}:{line_of(text, 'effect: forbid')}: unknown effect 'forbid'; expected one "
        "of: prohibit, restrict, review, notice, incentive",
    ]


def test_the_shipped_bundle_states_a_legal_basis_for_every_measure() -> None:
    shipped = Path(__file__).resolve().parents[2] / "memoranda"

    code, out, err = run(shipped, REQUIRE)

    assert (code, err) == (0, "")
    assert out.startswith(
        "ok: 13 memoranda, 78 measures, 1 derivation, 1 absence derivation, "
        "grades model local-credit-score;"
    )
