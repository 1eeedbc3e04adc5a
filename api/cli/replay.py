"""``jrp replay``: recompute logged decisions; exit 0 all identical, 3 some differ, 1 error."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from api.cli.common import (
    EXIT_USAGE,
    err_console,
    fail,
    print_policy_problems,
    require_database,
)
from engine.errors import InvalidPolicy, JrpError
from engine.store import db
from engine.timing import TimeOutOfRange, in_utc

EXIT_CHANGED = 3


def replay(
    db_url: Annotated[str, typer.Option("--db", envvar="JRP_DB", help="database URL")],
    policy: Annotated[
        Path | None,
        typer.Option(help="evaluate under this bundle instead of each decision's own version"),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="decisions made at or after this RFC 3339 time or date")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="decisions made before this RFC 3339 time or date")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Replay decisions: exit 0 when all are identical, 3 when some differ (listed), 1 on error."""
    from engine.audit.replay import replay as run_replay
    from engine.policy.bundles import load_bundle

    since_at, until_at = _moment("--since", since), _moment("--until", until)
    bundle = None
    if policy is not None:
        try:
            bundle = load_bundle(policy)
        except InvalidPolicy as exc:
            print_policy_problems(exc, directory=str(policy))
            fail(f"policy bundle {policy} is invalid")
    require_database(db_url)
    engine = db.create_db_engine(db_url)
    try:
        with _progress() as bar:
            task = bar.add_task("replaying", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = run_replay(
                engine,
                since=since_at,
                until=until_at,
                bundle=bundle,
                progress=advance,
            )
    except JrpError as exc:
        fail(exc.message)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print(report.to_dict())
    if report.changed:
        raise typer.Exit(EXIT_CHANGED)


def _moment(option: str, text: str | None) -> dt.datetime | None:
    """An RFC 3339 time or a date; without an offset it is China time, as in check requests."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
        return in_utc(moment, field=option)
    except ValueError:
        fail(f"{option}: {text!r} is not an RFC 3339 time or YYYY-MM-DD date", code=EXIT_USAGE)
    except TimeOutOfRange as exc:
        fail(exc.message, code=EXIT_USAGE)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )


def _hit_line(hit: dict[str, Any]) -> str:
    via = hit.get("via")
    through = "" if via is None else f" via {next(iter(via.values()))} ({via['role']})"
    until = hit.get("until") or "open"
    return (
        f"{hit['effect']:<9} {hit['measure_id']}  entry {hit['entry_id']}{through}  until {until}"
    )


def _print(report: dict[str, Any]) -> None:
    console = Console(highlight=False, soft_wrap=True)
    for change in report["changed"]:
        recorded, replayed = change["recorded"], change["replayed"]
        console.print(
            f"[bold]{change['decision_id']}[/]  {recorded['subject_id']}  {recorded['matter']}  "
            f"as of {recorded['as_of']}"
        )
        for key in ("outcome", "binding_outcome", "incentives_withheld"):
            if recorded[key] != replayed[key]:
                console.print(f"  {key}: {recorded[key]} -> {replayed[key]}")
        before = {_hit_line(h) for h in recorded["hits"]}
        after = {_hit_line(h) for h in replayed["hits"]}
        for line in sorted(before - after):
            console.print(f"  [red]- {line}[/]")
        for line in sorted(after - before):
            console.print(f"  [green]+ {line}[/]")
    summary = (
        f"replayed {report['replayed']}: {report['identical']} identical, "
        f"{len(report['changed'])} changed"
    )
    console.print(summary if not report["changed"] else f"[bold yellow]{summary}[/]")
