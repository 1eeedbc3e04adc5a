"""``jrp verify --db URL``: check the decision log's hash chain (exit 0 intact, 1 broken)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import typer

from api.cli.common import EXIT_ERROR, fail, settings_from
from engine.decisions import verify as verify_chain
from engine.store import db as database


def verify(
    db: str = typer.Option(
        ..., "--db", envvar="JRP_DB", help="database URL [env JRP_DB]", show_default=False
    ),
) -> None:
    """Verify the decision log: exit 0 when intact, 1 when broken (the first bad seq printed)."""
    url = settings_from(db=db).db
    _refuse_missing_sqlite_file(url)
    engine = database.create_db_engine(url)
    try:
        if not sa.inspect(engine).has_table("decision"):
            fail("no decision log in this database (has `jrp serve` ever run on it?)")
        result = verify_chain(engine)
    except sa.exc.SQLAlchemyError as exc:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        fail(f"cannot read the database: {lines[0] if lines else type(exc).__name__}")
    finally:
        engine.dispose()
    if result.ok:
        typer.echo(f"ok: decision log intact, {result.length} decisions")
        return
    typer.echo(f"broken: first bad seq {result.first_bad_seq} ({result.length} decisions present)")
    raise typer.Exit(EXIT_ERROR)


def _refuse_missing_sqlite_file(url: str) -> None:
    # Connecting would create an empty file and report an intact (empty) log: a typo'd path
    # must not pass an audit.
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_file():
            fail(f"no database file {path}")
