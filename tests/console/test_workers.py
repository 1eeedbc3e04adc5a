"""``jrp serve --workers 2`` without ``JRP_CONSOLE_SECRET``: a session works on every worker."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import httpx

from tests.api.conftest import key_of, write_callers
from tests.conftest import CONTRACT_BUNDLE
from tests.console.helpers import csrf_of
from tests.serving import ServeProcess


def test_one_session_is_valid_on_every_worker(tmp_path: Path, db_url: str) -> None:
    policy = tmp_path / "bundle"
    shutil.copytree(CONTRACT_BUNDLE, policy)
    callers = write_callers(tmp_path / "callers.yaml")
    command = [sys.executable, "-m", "api.cli", "serve", "--policy", str(policy), "--callers",
               str(callers), "--db", db_url]  # fmt: skip
    os.environ.pop("JRP_CONSOLE_SECRET", None)
    with ServeProcess(command, tmp_path / "serve.log", workers=2) as server:
        server.wait_ready(timeout=120)
        with httpx.Client(base_url=server.base) as client:
            form = client.get("/console/login")
            signed = client.post(
                "/console/login", data={"key": key_of("auditor"), "csrf": csrf_of(form.text)}
            )
            assert signed.status_code == 303
            cookie = client.cookies.get("jrp_console")
        # New connections are spread over both workers by the kernel; each must accept it.
        for _ in range(30):
            with httpx.Client(base_url=server.base, cookies={"jrp_console": cookie}) as fresh:
                assert fresh.get("/console/decisions").status_code == 200
