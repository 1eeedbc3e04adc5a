"""Every package of the project imports on its own, in a fresh interpreter: no import cycle
hides behind the order in which the app (or another test) happens to import things first."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "api", "measures")


def project_packages() -> list[str]:
    """Each package (a folder with ``__init__.py``): importing one runs its ``__init__``,
    which imports most of what it holds. (A fresh interpreter per module would take minutes;
    re-importing modules in one interpreter trips SQLModel's process-wide table registry.)"""
    return sorted(
        ".".join(init.parent.relative_to(ROOT).parts)
        for package in PACKAGES
        for init in (ROOT / package).rglob("__init__.py")
    )


def _import_alone(name: str) -> str | None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {name}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode == 0:
        return None
    return f"{name}: {done.stderr.strip().splitlines()[-1]}"


def test_every_package_imports_alone() -> None:
    packages = project_packages()
    assert {"engine.entries", "engine.commitments", "api.routers"} <= set(packages)
    with ThreadPoolExecutor(2) as pool:
        failed = [problem for problem in pool.map(_import_alone, packages) if problem]
    assert failed == [], "packages that fail to import alone:\n" + "\n".join(failed)
