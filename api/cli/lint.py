"""``jrp lint DIR``: validate a policy bundle (docs/policy-format.md#validation)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import EXIT_ERROR, print_policy_problems
from engine.errors import InvalidPolicy
from engine.policy.bundles import load_bundle
from measures import loader
from measures.bundle import Bundle
from measures.yaml_positions import InvalidBundle


def lint(
    directory: Annotated[Path, typer.Argument(help="policy bundle directory", show_default=False)],
    require_legal_basis: Annotated[
        bool,
        typer.Option(
            "--require-legal-basis",
            help="also an error: a measure with neither legal_basis nor "
            "'legal_basis: null' with a note",
        ),
    ] = False,
) -> None:
    """Check a policy bundle: exit 0 with a summary, or 1 with one `path:line: message` each."""
    try:
        bundle = load_bundle(directory)
        if require_legal_basis:
            missing = loader.legal_basis_problems(bundle.files)
            if missing:
                raise InvalidPolicy.of(InvalidBundle(missing))
    except InvalidPolicy as exc:
        print_policy_problems(exc, directory=str(directory))
        raise typer.Exit(EXIT_ERROR) from exc
    typer.echo(summary(bundle))


def summary(bundle: Bundle) -> str:
    """``ok: 2 memoranda, 5 measures, 1 derivation; version <sha256 hex>``."""
    counts = [
        _count(len(bundle.memoranda), "memorandum", "memoranda"),
        _count(len(bundle.measures), "measure", "measures"),
        _count(len(bundle.derivations), "derivation", "derivations"),
    ]
    if bundle.absence_derivations:  # docs/grades.md; left out when none, as before
        counts.append(
            _count(len(bundle.absence_derivations), "absence derivation", "absence derivations")
        )
    if bundle.grades is not None:
        counts.append(f"grades model {bundle.grades.id}")
    return f"ok: {', '.join(counts)}; version {bundle.version}"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
