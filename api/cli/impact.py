"""``jrp impact``: what a policy edit would change now; exit 0 nothing, 3 something, 1 error."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.common import EXIT_USAGE, fail, print_policy_problems, require_database
from engine import logging as logging_setup
from engine.errors import InvalidPolicy, JrpError
from engine.store import db

EXIT_CHANGED = 3
SHOWN_CHANGES = 20


def impact(
    db_url: Annotated[str, typer.Option("--db", envvar="JRP_DB", help="database URL")],
    policy: Annotated[Path, typer.Option(help="the edited bundle directory", envvar="JRP_POLICY")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="the day to evaluate, YYYY-MM-DD (default: today)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole report as JSON")] = False,
) -> None:
    """Evaluate every (subject, matter) the edit can change under the policy in force and the
    edited bundle, on the current state. Never writes."""
    from engine.policy.bundles import load_bundle
    from engine.policy.impact import impact as run_impact

    logging_setup.configure(level="warning")
    day = _day(as_of)
    try:
        bundle = load_bundle(policy)
    except InvalidPolicy as exc:
        print_policy_problems(exc, directory=str(policy))
        fail(f"policy bundle {policy} is invalid")
    require_database(db_url)
    try:
        service = _read_only_service(db_url, policy)
    except JrpError as exc:
        fail(exc.message)
    try:
        report = run_impact(service.state, service.policy.runtime, bundle, as_of=day)
    finally:
        service.close()
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        typer.echo("\n".join(text_report(report)))
    if report["changes"]:
        raise typer.Exit(EXIT_CHANGED)


def _read_only_service(db_url: str, policy: Path) -> Any:
    """The state of the database as it is, without migrating or loading a policy into it."""
    from engine.errors import NotReady
    from engine.policy import storage as policy_store
    from engine.service import Service

    engine = db.create_db_engine(db_url)
    try:
        with db.session_scope(engine) as session:
            in_force = policy_store.in_force_version(session)
    except Exception as exc:  # an unreachable or empty database
        engine.dispose()
        raise NotReady(f"cannot read the database: {db.driver_message(exc)}") from None
    if in_force is None:
        engine.dispose()
        raise NotReady("the database has no policy in force")
    service = Service(engine=engine, policy_dir=policy)
    service.restore_snapshot()
    service.catch_up()
    return service


def _day(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"--as-of: {text!r} is not a YYYY-MM-DD date", code=EXIT_USAGE)


def text_report(report: dict[str, Any]) -> list[str]:
    """A summary, the structural diff and the first changes."""
    diff, summary = report["diff"], report["summary"]
    lines = [f"policy {report['from_version'][:12]} -> {report['to_version'][:12]}"]
    for key in ("memoranda_added", "memoranda_removed", "measures_added", "measures_removed"):
        if diff[key]:
            lines.append(f"{key.replace('_', ' ')}: {', '.join(diff[key])}")
    for item in diff["measures_changed"]:
        lines.append(f"measure changed: {item['measure_id']} ({', '.join(item['fields'])})")
    for item in summary["by_measure"]:
        counts = f"{item['subjects_before']} -> {item['subjects_after']}"
        lines.append(f"  {item['measure_id']}: {counts} subjects")
    for change in report["changes"][:SHOWN_CHANGES]:
        before, after = change["before"], change["after"]
        lines.append(
            f"{change['subject_id']}  {change['matter']}: {before['outcome']} -> {after['outcome']}"
            f"  [{', '.join(before['measure_ids'])}] -> [{', '.join(after['measure_ids'])}]"
        )
    if len(report["changes"]) > SHOWN_CHANGES:
        lines.append(f"... and {len(report['changes']) - SHOWN_CHANGES} more (--json for all)")
    lines.append(
        f"{summary['pairs_changed']} (subject, matter) pairs change for "
        f"{summary['subjects_affected']} subjects"
    )
    return lines
