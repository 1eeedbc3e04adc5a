"""The README's publication walk-through, request by request, against the demo (``jrp serve
--demo``: the shipped bundle, the demo callers and data), so its commands cannot rot.

Each ``curl`` line of the walk-through's code block is parsed (URL, ``-H``, ``-G`` with
``-d``/``--data-urlencode``, ``-X``) and sent through the app; each must answer 200, and the
demo must show what the walk-through says it shows: a published entry, a search that finds
one, the reports (JSON and PDF), the map and the timeliness figures. Run on both databases.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import load_callers
from api.demo import DEMO_CALLERS
from api.demo import data as demo_data
from engine.service import Service
from engine.settings import Settings
from tests.api.test_commitments import policy_dir

__all__ = ["policy_dir"]  # the shipped bundle

README = Path(__file__).resolve().parents[2] / "README.md"
WALK_THROUGH = "### Walk-through: publication"


@dataclass
class Curl:
    method: str = "GET"
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    params: list[tuple[str, str]] = field(default_factory=list)
    output: str | None = None


def walk_through_commands() -> list[str]:
    """The curl commands of the walk-through's first code block, continuations joined."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(WALK_THROUGH) :]
    block = section.split("```", 2)[1]
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("curl ")]


def parse(command: str) -> Curl:
    """The request one curl command makes (the options the README uses; others fail)."""
    words = shlex.split(command)[1:]
    curl = Curl()
    get_with_data = False
    data: list[tuple[str, str]] = []
    while words:
        word = words.pop(0)
        if word == "-s":
            continue
        if word == "-G":
            get_with_data = True
        elif word == "-X":
            curl.method = words.pop(0)
        elif word == "-H":
            name, _, value = words.pop(0).partition(":")
            curl.headers[name.strip()] = value.strip()
        elif word == "-o":
            curl.output = words.pop(0)
        elif word in ("-d", "--data-urlencode"):
            name, _, value = words.pop(0).partition("=")
            data.append((name, value))
        elif word.startswith("localhost:8000/") or word.startswith("http"):
            curl.url = word
        else:
            raise AssertionError(f"the test does not know curl option {word!r}: {command}")
    assert get_with_data or not data, f"data without -G is a POST body: {command}"
    path = curl.url.split("localhost:8000", 1)[1]
    assert path.isascii(), f"curl sends a non-ASCII URL as is: use -G --data-urlencode ({command})"
    curl.url = path
    curl.params = data
    return curl


@pytest.fixture
def demo(db_url: str, policy_dir: Path) -> Iterator[TestClient]:
    """The app as ``jrp serve --demo`` starts it (demo callers, demo data)."""
    service = Service.start(Settings(db=db_url, policy=policy_dir, callers=DEMO_CALLERS))
    registry = load_callers(DEMO_CALLERS, service.policy.bundle.vocabulary)
    demo_data.load(service)
    with TestClient(create_app(service, registry), raise_server_exceptions=False) as client:
        yield client


def test_the_readme_publication_commands_work_on_the_demo(demo: TestClient) -> None:
    commands = walk_through_commands()
    assert len(commands) >= 6
    answers = {}
    for command in commands:
        curl = parse(command)
        answer = demo.request(curl.method, curl.url, params=curl.params, headers=curl.headers)
        assert answer.status_code == 200, (command, answer.text[:300])
        answers[curl.url, tuple(curl.params), curl.headers.get("Accept")] = answer
        if curl.output is not None:
            assert answer.content.startswith(b"%PDF"), command
    feed = answers["/public/v1/lists", (), None].json()
    assert {row["list"]: row["entries"] for row in feed}["dishonest_judgment_debtor"] >= 1
    searched = [
        answer.json()
        for (url, params, _accept), answer in answers.items()
        if url.startswith("/public/v1/lists/") and params
    ]
    assert searched and all(page["items"] for page in searched), searched
    for page in searched:  # persons masked: 440106********0115 / 张*
        for item in page["items"]:
            if item["subject_kind"] == "person":
                assert "********" in item["subject_id"] and item["subject_name"].endswith("*")
    reports = [a.json() for (url, _p, accept), a in answers.items() if url.endswith("/report")
               and accept is None]  # fmt: skip
    assert reports and all(report["entries"] for report in reports)
