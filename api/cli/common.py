"""What every CLI verb shares: settings from flags over environment, and error output."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from engine.errors import InvalidPolicy
from engine.settings import Settings

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_ERROR = 1
EXIT_USAGE = 2


def fail(message: str, *, code: int = EXIT_ERROR) -> NoReturn:
    """Print an error line to stderr and exit."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(code)


def settings_from(**flags: Any) -> Settings:
    """Settings from ``JRP_*`` variables, overridden by the flags that were given."""
    given = {name: value for name, value in flags.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            if not field:
                option = "settings"
            elif field in given:  # a flag was given
                option = "--" + field.replace("_", "-")
            else:  # from the environment (some settings have no flag)
                option = "JRP_" + field.upper()
            err_console.print(f"error: {option}: {error['msg']}", markup=False)
        raise typer.Exit(EXIT_USAGE) from exc


def require_database(url: str) -> None:
    """Exit 2 with one line naming the database (password hidden) when it cannot be reached."""
    from engine.store import db

    reason = db.unreachable_reason(url)
    if reason is not None:
        fail(f"cannot reach the database {db.display_url(url)}: {reason}", code=EXIT_USAGE)


def print_policy_problems(exc: InvalidPolicy, *, directory: str) -> None:
    """Print each bundle problem as ``path:line: message`` (paths under ``directory``)."""
    for problem in exc.details:
        path = f"{directory.rstrip('/')}/{problem['path']}" if problem.get("path") else directory
        err_console.print(f"{path}:{problem.get('line', 0)}: {problem['message']}", markup=False)
