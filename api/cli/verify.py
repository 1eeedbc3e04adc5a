"""``jrp verify --db URL [--checkpoint FILE ...] [--public-key FILE]``: both logs' chains, their
Merkle trees and checkpoints (exit 0 intact, 1 broken: the log and first bad seq, or the
checkpoint that no longer holds)."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
import typer

from api.cli.common import EXIT_ERROR, EXIT_USAGE, fail, require_database, settings_from
from engine.store import db as database
from engine.verifiable import keys
from engine.verifiable.checkpoints import Checkpoint
from engine.verifiable.verify import verify_logs


def verify(
    db: str = typer.Option(
        ..., "--db", envvar="JRP_DB", help="database URL [env JRP_DB]", show_default=False
    ),
    checkpoint: list[Path] = typer.Option(
        [], "--checkpoint", help="a checkpoint JSON file (as served) the logs must still hold"
    ),
    public_key: Path | None = typer.Option(
        None,
        "--public-key",
        help="PEM public key checkpoints must be signed with "
        "(default: the key the database recorded under the checkpoint's key_id)",
    ),
) -> None:
    """Verify both logs: exit 0 when intact, 1 when broken (the log and first bad seq printed)."""
    url = settings_from(db=db).db
    _refuse_missing_sqlite_file(url)
    supplied = [_read_checkpoint(path) for path in checkpoint]
    key = None
    if public_key is not None:
        try:
            key = keys.load_public(public_key)
        except (OSError, ValueError) as exc:
            fail(f"--public-key: {exc}")
    require_database(url)
    engine = database.create_db_engine(url)
    try:
        if not sa.inspect(engine).has_table("decision"):
            fail("no decision log in this database (has `jrp serve` ever run on it?)")
        if not sa.inspect(engine).has_table("merkle_tile"):
            database.migrate(engine)  # an older schema: chain its events first (0005)
        reports = verify_logs(engine, supplied, key)
    except sa.exc.SQLAlchemyError as exc:
        fail(f"cannot read the database: {database.driver_message(exc)}")
    finally:
        engine.dispose()
    decisions, events = reports
    if decisions.first_bad_seq is not None:
        typer.echo(
            f"broken: first bad seq {decisions.first_bad_seq} "
            f"({decisions.length} decisions present)"
        )
    else:
        typer.echo(f"ok: decision log intact, {decisions.length} decisions")
    if events.first_bad_seq is None:
        typer.echo(f"ok: event log intact, {events.length} events")
    checked = sum(report.checkpoints_checked for report in reports)
    for report in reports:
        for problem in report.problems:
            if not problem.startswith("decision log: first bad seq"):  # printed above
                typer.echo(f"broken: {problem}")
    if decisions.ok and events.ok:
        typer.echo(f"ok: Merkle trees match the records, {checked} checkpoints hold")
        return
    raise typer.Exit(EXIT_ERROR)


def _read_checkpoint(path: Path) -> Checkpoint:
    try:
        return Checkpoint.parse(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        fail(f"--checkpoint {path}: {exc}")


def _refuse_missing_sqlite_file(url: str) -> None:
    # Connecting would create an empty file and report an intact (empty) log: a typo'd path
    # must not pass an audit.
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_file():
            fail(f"cannot reach the database {url}: no such file", code=EXIT_USAGE)
