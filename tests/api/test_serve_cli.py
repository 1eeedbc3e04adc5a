"""``jrp serve`` as a real process: health, 401/403, the same version from different directories."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import auth, write_callers
from tests.conftest import CONTRACT_BUNDLE
from tests.serving import ServeProcess, ServerNotReady


@contextmanager
def _serving(policy: Path, callers: Path, db_url: str, log: Path) -> Iterator[str]:
    command = [sys.executable, "-m", "api.cli", "serve", "--policy", str(policy),
               "--callers", str(callers), "--db", db_url]  # fmt: skip
    with ServeProcess(command, log) as server:
        try:
            server.wait_ready(timeout=30)
        except ServerNotReady as exc:
            pytest.fail(str(exc))
        yield server.base


def test_serve_enforces_keys_and_reports_a_content_version(tmp_path: Path, db_url: str) -> None:
    callers = write_callers(tmp_path / "callers.yaml")
    first, second = tmp_path / "a" / "bundle", tmp_path / "elsewhere" / "copy"
    shutil.copytree(CONTRACT_BUNDLE, first)
    shutil.copytree(CONTRACT_BUNDLE, second)
    versions = []
    for bundle in (first, second):
        with _serving(bundle, callers, db_url, tmp_path / f"serve-{bundle.name}.log") as base:
            assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
            assert httpx.get(f"{base}/v1/policy").status_code == 401
            assert httpx.post(f"{base}/v1/policy/reload", headers=auth("court")).status_code == 403
            policy = httpx.get(f"{base}/v1/policy", headers=auth("court"))
            assert policy.status_code == 200
            versions.append(policy.json()["version"])
    assert versions[0] == versions[1]
    assert len(versions[0]) == 64


def test_serve_refuses_an_invalid_bundle_with_path_and_line(tmp_path: Path, db_url: str) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(CONTRACT_BUNDLE, bundle)
    vocabulary = bundle / "vocabulary.yaml"
    vocabulary.write_text(vocabulary.read_text(encoding="utf-8") + "bogus: 1\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "serve",
            "--policy",
            str(bundle),
            "--callers",
            str(write_callers(tmp_path / "c.yaml")),
            "--db",
            db_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"{bundle}/vocabulary.yaml:" in result.stderr
    assert "bogus" in result.stderr


def test_serve_without_callers_refuses_to_start(tmp_path: Path, db_url: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "serve",
            "--policy",
            str(CONTRACT_BUNDLE),
            "--db",
            db_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "no callers configured" in result.stderr


def test_serve_names_a_bad_setting(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--db", "mysql://x", "--callers", "nope.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--db" in result.stderr
    assert "--callers" in result.stderr
