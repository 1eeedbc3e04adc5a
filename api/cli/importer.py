"""``jrp import subjects|relations|entries FILE``: bulk loading in atomic batches."""

from __future__ import annotations

import csv
import getpass
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Protocol

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from sqlalchemy.exc import SQLAlchemyError

from api.cli.common import (
    EXIT_ERROR,
    EXIT_USAGE,
    err_console,
    fail,
    print_policy_problems,
    require_database,
    settings_from,
)
from engine import entries
from engine import logging as logging_setup
from engine.batches import Counts, Problem, Rejected
from engine.entries import EntryLine
from engine.errors import InvalidPolicy
from engine.registry import service as registry
from engine.registry.schemas import RelationIn, SubjectIn
from engine.service import Service
from engine.settings import Settings
from engine.store.db import driver_message

BATCH_LINES = 5000
NOT_UTF8 = "not UTF-8 text (save the file as UTF-8; in Excel: 'CSV UTF-8')"
_JSONL_SUFFIXES = (".jsonl", ".ndjson")


class ImportKind(StrEnum):
    subjects = "subjects"
    relations = "relations"
    entries = "entries"


class ImportRows(Protocol):
    """Validate and store one batch all or nothing; raise ``Rejected`` naming bad rows by index.

    ``dry_run`` validates only (used for a batch already rejected for other lines, so every
    bad line of it is reported).
    """

    def __call__(
        self,
        service: Service,
        rows: Sequence[Any],
        *,
        actor: str | None = None,
        department: str | None = None,
        dry_run: bool = False,
    ) -> Counts: ...


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    row: dict[str, Any] | None
    problem: str | None = None


@dataclass(slots=True)
class Tally:
    """What an import did, for the summary."""

    lines: int = 0
    batches: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected_batches: int = 0
    rejected_lines: int = 0
    bad_lines: int = 0
    started: float = field(default_factory=time.perf_counter)
    ended: float | None = None

    def summary(self, path: str) -> str:
        """One line: what was stored and what was rejected, with the rate."""
        seconds = max((self.ended or time.perf_counter()) - self.started, 1e-9)
        text = (
            f"{path}: {self.lines:,} lines in {_plural(self.batches, 'batch', 'batches')}: "
            f"{self.created:,} created, {self.updated:,} updated, {self.unchanged:,} unchanged"
        )
        if self.rejected_batches:
            text += (
                f"; rejected {_plural(self.rejected_lines, 'line', 'lines')} in "
                f"{_plural(self.rejected_batches, 'batch', 'batches')} "
                f"({_plural(self.bad_lines, 'bad line', 'bad lines')})"
            )
        return text + f"; {seconds:.1f} s, {self.lines / seconds:,.0f} lines/s"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def import_(
    kind: Annotated[ImportKind, typer.Argument(help="what the file holds", case_sensitive=False)],
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV (.csv) or JSON Lines (.jsonl, .ndjson); other names are sniffed",
            exists=True,
            dir_okay=False,
            readable=True,
            show_default=False,
        ),
    ],
    db_url: Annotated[
        str | None, typer.Option("--db", help="database URL [env JRP_DB]", show_default=False)
    ] = None,
    department: Annotated[
        str | None,
        typer.Option(help="department code recorded on the events (entries: the initiator)"),
    ] = None,
    batch_lines: Annotated[
        int, typer.Option(min=1, max=registry.MAX_ITEMS, help="lines per atomic batch")
    ] = BATCH_LINES,
) -> None:
    """Import subjects, relations or entries from CSV or JSON Lines, in atomic batches.

    CSV: a header row with the JSON field names (subjects: id, kind, name, region; relations:
    org_id, person_id, role, start, end; entries: the POST /v1/entries fields, attributes as
    a JSON object in its cell), UTF-8; an empty cell is an omitted field. JSON Lines: one
    object per line, as the HTTP API takes them. Blank lines are skipped.

    Entries: the initiating department is --department, or, without it, each line's
    `department` field; it must own the line's list. An entry's id is derived from its list,
    subject, department, doc_no and decided_on, so importing a file again registers nothing
    twice (those lines count as unchanged).

    The file is read as a stream in batches of --batch-lines lines (default 5000). Each
    batch is validated exactly as POST /v1/subjects, /v1/relations or /v1/entries would, and
    stored in one transaction, or not at all: one bad line rejects its whole batch, and none
    of that batch's lines is stored. The import then goes on with the next batch. Every bad
    line is printed as FILE:LINE: FIELD: MESSAGE on stderr. Batches stored stay stored.
    Relations must name subjects stored before their batch, so import subjects first.

    The vocabulary (roles) is the one of the policy in force in the database, so the import
    can run against a database that `jrp serve` workers are serving; it never changes the
    policy in force. Only on a database with no policy yet is the bundle named by JRP_POLICY
    (default: the shipped one) loaded and recorded first, as `jrp serve` would.

    Exit 0: every line stored; 1: some lines rejected (the summary on stdout counts them),
    or the import stopped (database error, interrupted: the batches stored before stay);
    2: bad usage (unknown or missing column, unknown --department).
    """
    settings = settings_from(db=db_url)
    # Per-batch info logs would tear through the progress bar; problems still show.
    logging_setup.configure(log_format=settings.log_format, level="warning")
    write = _writer(kind)
    shown = str(file)
    require_database(settings.db)
    service = _open(settings)
    tally = Tally()
    stopped = None
    try:
        departments = service.policy.bundle.vocabulary.departments
        if department is not None and department not in departments:
            fail(f"--department: {department} is not a department of the policy", code=EXIT_USAGE)
        _run(service, write, kind, file, shown, tally, department=department, size=batch_lines)
        tally.ended = time.perf_counter()
        _snapshot(service)
    except KeyboardInterrupt:
        stopped = "interrupted"
    except SQLAlchemyError as exc:
        stopped = f"database error: {driver_message(exc)}"
    finally:
        service.close()
    typer.echo(tally.summary(shown))
    if stopped is not None:
        fail(f"{stopped} after {tally.lines:,} lines; the batches stored before stay stored")
    if tally.bad_lines:
        raise typer.Exit(EXIT_ERROR)


def _snapshot(service: Service) -> None:
    """Store a snapshot of the state when the import added many events (faster starts)."""
    started = time.perf_counter()
    if service.snapshot_if_behind():
        seconds = time.perf_counter() - started
        err_console.print(
            f"state snapshot at event {service.state.seq:,} stored ({seconds:.1f} s): "
            "services start from it",
            highlight=False,
        )


def _writer(kind: ImportKind) -> ImportRows:
    if kind is ImportKind.subjects:
        return registry.upsert_subjects
    if kind is ImportKind.relations:
        return registry.record_relations
    return entries.import_rows


def _open(settings: Settings) -> Service:
    """The service on the database as it is (a fresh database gets the bundle first)."""
    try:
        return Service.open(settings)
    except InvalidPolicy as exc:
        print_policy_problems(exc, directory=str(settings.policy))
        fail(f"policy bundle {settings.policy} is invalid")


def _columns(kind: ImportKind) -> tuple[frozenset[str], frozenset[str]]:
    models: dict[ImportKind, type[BaseModel]] = {
        ImportKind.subjects: SubjectIn,
        ImportKind.relations: RelationIn,
        ImportKind.entries: EntryLine,
    }
    fields = models[kind].model_fields
    return frozenset(fields), frozenset(n for n, f in fields.items() if f.is_required())


def _run(
    service: Service,
    write: ImportRows,
    kind: ImportKind,
    path: Path,
    shown: str,
    tally: Tally,
    *,
    department: str | None,
    size: int,
) -> None:
    actor = f"jrp import {path.name} ({_user()})"[:200]
    total = path.stat().st_size
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[lines]:,} lines"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        # Not on a pipe or file: there the bar's last frame would only clutter the bad lines.
        disable=not err_console.is_terminal,
    )
    with path.open("rb") as handle, progress:
        task = progress.add_task(f"{kind.value} {path.name}", total=total, lines=0)
        lines = _reader(handle, path, kind, shown)
        while batch := list(islice(lines, size)):
            _batch(
                service,
                write,
                batch,
                tally,
                shown,
                actor=actor,
                department=department,
                console=progress.console,
            )
            progress.update(task, completed=handle.tell(), lines=tally.lines)
        progress.update(task, completed=total)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown user"


def _batch(
    service: Service,
    write: ImportRows,
    batch: list[_Line],
    tally: Tally,
    shown: str,
    *,
    actor: str,
    department: str | None,
    console: Console,
) -> None:
    rows = [line.row for line in batch if line.row is not None]
    numbers = [line.number for line in batch if line.row is not None]
    bad = [(line.number, line.problem) for line in batch if line.problem is not None]
    tally.lines += len(batch)
    tally.batches += 1
    counts = Counts()
    if rows:
        try:
            counts = write(service, rows, actor=actor, department=department, dry_run=bool(bad))
        except Rejected as exc:
            bad.extend((numbers[p.index], _describe(p, numbers)) for p in exc.problems)
    if not bad:
        tally.created += counts.created
        tally.updated += counts.updated
        tally.unchanged += counts.unchanged
        return
    tally.rejected_batches += 1
    tally.rejected_lines += len(batch)
    tally.bad_lines += len({number for number, _ in bad})
    for number, message in sorted(bad, key=lambda pair: pair[0]):
        console.print(f"{shown}:{number}: {message}", markup=False, highlight=False)


def _describe(problem: Problem, numbers: Sequence[int]) -> str:
    message = problem.describe(lambda index: f"line {numbers[index]}")
    return f"{problem.field}: {message}" if problem.field else message


# --- reading ---------------------------------------------------------------------------------


class _FileProblem(Exception):
    """The file cannot be imported at all (its header); nothing of it was stored."""


def _reader(handle: BinaryIO, path: Path, kind: ImportKind, shown: str) -> Iterator[_Line]:
    is_jsonl = path.suffix.lower() in _JSONL_SUFFIXES or (
        path.suffix.lower() != ".csv" and _looks_like_json(handle)
    )
    if is_jsonl:
        return _jsonl(handle)
    try:
        return _csv(handle, _columns(kind))
    except _FileProblem as exc:
        fail(f"{shown}:1: {exc}", code=EXIT_USAGE)


def _looks_like_json(handle: BinaryIO) -> bool:
    head = handle.read(4096)
    handle.seek(0)
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{")


def _decoded(handle: BinaryIO, undecodable: set[int]) -> Iterator[str]:
    for number, raw in enumerate(handle, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            undecodable.add(number)
            text = raw.decode("utf-8", "replace")
        yield text.removeprefix("\ufeff") if number == 1 else text


def _jsonl(handle: BinaryIO) -> Iterator[_Line]:
    undecodable: set[int] = set()
    for number, text in enumerate(_decoded(handle, undecodable), start=1):
        if not text.strip():
            continue
        if number in undecodable:
            yield _Line(number, None, NOT_UTF8)
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield _Line(number, None, f"malformed JSON: {exc.msg} (column {exc.colno})")
            continue
        if isinstance(value, dict):
            yield _Line(number, value)
        else:
            yield _Line(number, None, "not a JSON object")


def _csv(
    handle: BinaryIO, columns: tuple[frozenset[str], frozenset[str]] | None
) -> Iterator[_Line]:
    undecodable: set[int] = set()
    reader = csv.reader(_decoded(handle, undecodable), strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise _FileProblem("the file is empty: a CSV needs a header row") from None
    except csv.Error as exc:
        raise _FileProblem(f"unreadable header row: {exc}") from None
    _check_header(header, columns, bad_text=bool(undecodable))
    return _csv_rows(reader, header, undecodable)


def _check_header(
    header: list[str], columns: tuple[frozenset[str], frozenset[str]] | None, *, bad_text: bool
) -> None:
    if bad_text:
        raise _FileProblem(NOT_UTF8)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise _FileProblem(f"column {', '.join(repeated)} given twice")
    if columns is None:
        return
    known, required = columns
    unknown = [name for name in header if name not in known]
    missing = sorted(required - set(header))
    if unknown or missing:
        problems = [f"unknown column {name!r}" for name in unknown]
        problems += [f"missing column {name!r}" for name in missing]
        expected = ", ".join(name for name in _ordered(known))
        raise _FileProblem(f"{'; '.join(problems)} (the columns are {expected})")


def _ordered(names: frozenset[str]) -> list[str]:
    order = [*SubjectIn.model_fields, *RelationIn.model_fields, *EntryLine.model_fields]
    return sorted(names, key=lambda name: order.index(name) if name in order else len(order))


def _csv_rows(reader: Any, header: list[str], undecodable: set[int]) -> Iterator[_Line]:
    last = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # A broken quote: report the record and go on with the next line.
            first, last = last + 1, reader.line_num
            yield _Line(first, None, f"malformed CSV: {exc}")
            continue
        first, last = last + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if undecodable and any(n in undecodable for n in range(first, last + 1)):
            yield _Line(first, None, NOT_UTF8)
        elif len(cells) != len(header):
            yield _Line(first, None, f"{len(cells)} cells, the header has {len(header)}")
        else:
            yield _Line(first, _cells(header, cells))


def _cells(header: list[str], cells: list[str]) -> dict[str, Any]:
    # CSV cannot say null: an empty cell is an omitted field (region, end).
    return {name: value for name, value in zip(header, cells, strict=True) if value.strip()}
