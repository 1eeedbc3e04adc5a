"""``jrp exchange pull``: pull a peer instance's entry events (docs/exchange.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from api.cli.common import (
    EXIT_ERROR,
    EXIT_USAGE,
    fail,
    print_policy_problems,
    require_database,
    settings_from,
)
from engine import logging as logging_setup
from engine.errors import ConfigurationError, InvalidPolicy
from engine.exchange.feed import DEFAULT_LIMIT, MAX_LIMIT
from engine.exchange.peers import load_peers
from engine.exchange.pull import pull as pull_peer
from engine.service import Service
from engine.store.db import driver_message

app = typer.Typer(
    name="exchange",
    help="Exchange entries with peer instances (跨区域联动): pull a peer's signed feed.",
    no_args_is_help=True,
)


@app.command()
def pull(
    peer: Annotated[str, typer.Option("--peer", help="the peer's name in the peers file")],
    peers_file: Annotated[
        Path | None,
        typer.Option(
            "--peers", help="peers file [env JRP_PEERS]", envvar="JRP_PEERS", show_default=False
        ),
    ] = None,
    db_url: Annotated[
        str | None, typer.Option("--db", help="database URL [env JRP_DB]", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="records per page")] = (
        DEFAULT_LIMIT
    ),
    max_pages: Annotated[
        int | None, typer.Option(min=1, help="stop after this many pages", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Pull the peer's feed page by page; each page is verified against the peer's pinned
    key and applied in one transaction (imported entries, their updates, the cursor), or
    refused whole: a gap, a rewritten history, a bad signature or proof, an unknown list.

    Exit 0: everything the peer had is applied; 1: a page was refused (pages before it stay
    applied; the next run starts at the refused page); 2: bad usage, a bad peers file, an
    unreachable database.
    """
    settings = settings_from(db=db_url)
    logging_setup.configure(log_format=settings.log_format, level="warning")
    if peers_file is None:
        fail("--peers: give the peers file (or JRP_PEERS)", code=EXIT_USAGE)
    try:
        peers = load_peers(peers_file)
    except ConfigurationError as exc:
        fail(exc.message, code=EXIT_USAGE)
    chosen = peers.get(peer)
    if chosen is None:
        fail(f"--peer: no peer {peer!r} in {peers_file} (it has: {', '.join(peers)})",
             code=EXIT_USAGE)  # fmt: skip
    require_database(settings.db)
    try:
        service = Service.open(settings)
    except InvalidPolicy as exc:
        print_policy_problems(exc, directory=str(settings.policy))
        fail(f"policy bundle {settings.policy} is invalid")
    try:
        report = pull_peer(service, chosen, limit=limit, max_pages=max_pages)
    except SQLAlchemyError as exc:
        fail(f"database error: {driver_message(exc)}")
    finally:
        service.close()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        typer.echo(report.summary())
    if report.refused is not None:
        fail(f"page refused, nothing of it applied: {report.refused}", code=EXIT_ERROR)
