"""``jrp lint DIR``: exit codes and output."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from api.cli.lint import lint
from measures import load_bundle
from tests.measures.editing import CONTRACT_EXAMPLE, DJD, copy_example, line_of, replace_once

app = typer.Typer()
app.command()(lint)


def run(directory: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(directory)])
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
