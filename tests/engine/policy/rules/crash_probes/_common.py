"""Shared by the probe scripts: resident memory and the shipped bundle."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
"""The project root: the nearest directory above with pyproject.toml."""


def rss_mib() -> float:
    """Resident set size of this process in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
