"""``jrp keygen FILE``: write a new Ed25519 signing key (PEM, PKCS#8) for checkpoints."""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli.common import fail
from engine.verifiable import keys


def keygen(
    file: Path = typer.Argument(..., help="where to write the key (must not exist)"),
) -> None:
    """Write a new Ed25519 key (mode 0600) and print its key_id."""
    try:
        key = keys.generate(file)
    except FileExistsError:
        fail(f"{file} exists: not overwritten")
    except OSError as exc:
        fail(f"cannot write {file}: {exc.strerror}")
    typer.echo(f"key_id {keys.key_id(key.public_key())}")
