"""Every command that opens the database, started against one it cannot reach: one line
naming the database (password hidden), exit 2 — not a driver traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import write_callers
from tests.conftest import CONTRACT_BUNDLE

REFUSED = "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/x"  # nothing listens on port 1
NO_HOST = "postgresql+psycopg://jrp:s3cret@no-such-host.invalid:5432/jrp"


def _run(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def _arguments(command: str, url: str, tmp_path: Path) -> list[str]:
    if command == "serve":
        callers = write_callers(tmp_path / "callers.yaml")
        return ["serve", "--db", url, "--policy", str(CONTRACT_BUNDLE), "--callers", str(callers)]
    if command == "import":
        lines = tmp_path / "subjects.jsonl"
        lines.write_text('{"id": "91440101000010030D", "kind": "org", "name": "某公司"}\n')
        return ["import", "subjects", str(lines), "--db", url]
    if command == "impact":
        return ["impact", "--db", url, "--policy", str(CONTRACT_BUNDLE)]
    return [command, "--db", url]


def _assert_one_line(result: subprocess.CompletedProcess[str], shown: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: cannot reach the database {shown}: ")
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize("command", ["serve", "replay", "verify", "impact", "import"])
def test_a_refused_connection_is_one_line_and_exit_2(command: str, tmp_path: Path) -> None:
    result = _run(_arguments(command, REFUSED, tmp_path), tmp_path)
    _assert_one_line(result, "postgresql+psycopg://postgres:***@127.0.0.1:1/x")
    assert "Connection refused" in result.stderr


@pytest.mark.parametrize("command", ["serve", "replay"])
def test_a_host_that_does_not_exist_is_one_line_and_exit_2(command: str, tmp_path: Path) -> None:
    result = _run(_arguments(command, NO_HOST, tmp_path), tmp_path)
    _assert_one_line(result, "postgresql+psycopg://jrp:***@no-such-host.invalid:5432/jrp")


@pytest.mark.parametrize("command", ["serve", "replay", "verify", "impact", "import"])
def test_an_sqlite_file_in_a_missing_directory_is_one_line_and_exit_2(
    command: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/no/such/directory/jrp.db"
    result = _run(_arguments(command, url, tmp_path), tmp_path)
    _assert_one_line(result, url)
    assert not (tmp_path / "no").exists()
