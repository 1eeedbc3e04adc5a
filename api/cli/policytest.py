"""``jrp test DIR``: run a bundle's policy tests (docs/policy-format.md#policy-tests)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import print_policy_problems
from engine import logging as logging_setup
from engine.errors import InvalidPolicy
from engine.policytest import TestReport, run_tests

EXIT_FAILED = 1
EXIT_INVALID = 2


def test(
    directory: Annotated[Path, typer.Argument(help="policy bundle directory", show_default=False)],
    coverage_min: Annotated[
        float | None,
        typer.Option("--coverage-min", help="fail unless at least PCT% of measures are covered"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Run the bundle's *_test.yaml cases: 0 all pass; 1 a failure or short coverage; 2 invalid."""
    logging_setup.configure(level="warning")
    try:
        report = run_tests(directory)
    except InvalidPolicy as exc:
        print_policy_problems(exc, directory=str(directory))
        raise typer.Exit(EXIT_INVALID) from exc
    short = coverage_min is not None and report.coverage_percent < coverage_min
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo("\n".join(text_report(report, str(directory), show_uncovered=short)))
    if report.failed or short:
        raise typer.Exit(EXIT_FAILED)


def text_report(report: TestReport, directory: str, *, show_uncovered: bool) -> list[str]:
    """The contract's lines: failures, uncovered measures (when short), coverage, counts."""
    base = directory.rstrip("/")
    lines = [f"{base}/{f.file}:{f.line}: {f.case}: {f.message}" for f in report.failures]
    if show_uncovered:
        lines += [f"{base}/{m.file}:{m.line}: {m.measure_id} not covered" for m in report.uncovered]
    covered, total = len(report.covered), len(report.measures)
    lines.append(f"measures covered: {covered} of {total} ({math.floor(report.coverage_percent)}%)")
    lines.append(f"{report.passed} passed, {report.failed} failed")
    return lines
