"""``jrp verify-receipt``: check a decision receipt offline (no database); exit 0 or 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from api.cli.common import EXIT_ERROR, fail
from engine.verifiable import keys
from engine.verifiable.receipt import receipt_problem


def verify_receipt(
    decision: Path = typer.Option(..., "--decision", help="GET /v1/decisions/{id} as JSON"),
    proof: Path = typer.Option(..., "--proof", help="GET /v1/decisions/{id}/proof as JSON"),
    checkpoint: Path = typer.Option(..., "--checkpoint", help="the checkpoint (JSON) of its size"),
    public_key: Path = typer.Option(..., "--public-key", help="the service's PEM public key"),
) -> None:
    """Check that a decision is in the log a signed checkpoint commits to (exit 0 or 1)."""
    try:
        key = keys.load_public(public_key)
    except (OSError, ValueError) as exc:
        fail(f"--public-key: {exc}")
    problem = receipt_problem(
        _json(decision, "--decision"), _json(proof, "--proof"),
        _json(checkpoint, "--checkpoint"), key,
    )  # fmt: skip
    if problem is not None:
        typer.echo(f"invalid receipt: {problem}")
        raise typer.Exit(EXIT_ERROR)
    typer.echo("ok: the decision is in the decision log the signed checkpoint commits to")


def _json(path: Path, option: str) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        typer.echo(f"invalid receipt: {option} {path}: {exc}")
        raise typer.Exit(EXIT_ERROR) from exc
