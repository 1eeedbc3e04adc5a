"""Demo callers and data for ``jrp serve --demo``."""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console

DEMO_DIR = Path(__file__).resolve().parent
DEMO_CALLERS = DEMO_DIR / "callers.yaml"
_KEY_COMMENT = re.compile(r"^\s*-\s*name:\s*(?P<name>.+)$|#\s*key:\s*(?P<key>\S+)\s*$")


def demo_keys(callers_file: Path = DEMO_CALLERS) -> list[tuple[str, str]]:
    """(caller name, key) pairs from the demo callers file's ``# key:`` comments."""
    pairs: list[tuple[str, str]] = []
    name = ""
    for line in callers_file.read_text(encoding="utf-8").splitlines():
        match = _KEY_COMMENT.search(line)
        if match and match["name"]:
            name = match["name"].strip()
        elif match and match["key"]:
            pairs.append((name, match["key"]))
    return pairs


def announce(callers_file: Path = DEMO_CALLERS, *, base_url: str | None = None) -> None:
    """Print the demo keys so a newcomer can try every endpoint from /docs, and sign in to
    the console (``base_url``/console/) with any of them."""
    console = Console(stderr=True, highlight=False)
    console.print("[bold]jrp demo[/]: these API keys are public; use them as 'Bearer <key>':")
    for name, key in demo_keys(callers_file):
        console.print(f"  {key:<20} {name}")
    if base_url is not None:
        console.print(f"console: {base_url}/console/  (sign in with one of the keys above)")
        console.print(f"API docs: {base_url}/docs")
