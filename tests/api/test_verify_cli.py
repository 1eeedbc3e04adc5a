"""``jrp verify``: exit 0 with the length when intact, 1 with the first bad seq when broken."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.cli.verify import verify
from engine.decisions import DecisionLog
from tests.engine.decisions.test_decision_log import make_draft

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(verify)

    @app.callback()
    def main() -> None:
        """A group, so ``verify`` is a subcommand as under ``jrp``."""

    return app


def _logged(engine: Engine, count: int) -> None:
    with DecisionLog(engine) as log:
        for i in range(count):
            log.append(make_draft(i))


def test_intact_log_exits_zero(engine: Engine, db_url: str) -> None:
    _logged(engine, 3)
    result = runner.invoke(_app(), ["verify", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "ok: decision log intact, 3 decisions"


def test_empty_log_is_intact(engine: Engine, db_url: str) -> None:
    result = runner.invoke(_app(), ["verify", "--db", db_url])
    assert result.exit_code == 0
    assert "0 decisions" in result.stdout


def test_broken_log_exits_one_naming_the_first_bad_seq(engine: Engine, db_url: str) -> None:
    _logged(engine, 4)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE decision SET matter = 'subsidy' WHERE seq = 2"))
    result = runner.invoke(_app(), ["verify", "--db", db_url])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "broken: first bad seq 2 (4 decisions present)"


def test_database_url_from_the_environment(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _logged(engine, 2)
    monkeypatch.setenv("JRP_DB", db_url)
    result = runner.invoke(_app(), ["verify"])
    assert result.exit_code == 0, result.output
    assert "2 decisions" in result.stdout


def test_missing_sqlite_file_is_an_error_not_an_empty_log(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = runner.invoke(_app(), ["verify", "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 2
    assert result.stderr == f"error: cannot reach the database sqlite:///{missing}: no such file\n"
    assert not missing.exists()


def test_database_without_a_decision_log_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).close()
    result = runner.invoke(_app(), ["verify", "--db", f"sqlite:///{path}"])
    assert result.exit_code == 1
    assert "no decision log" in result.stderr


def test_unsupported_url_is_a_usage_error() -> None:
    result = runner.invoke(_app(), ["verify", "--db", "mysql://localhost/jrp"])
    assert result.exit_code == 2
    assert "--db" in result.stderr
