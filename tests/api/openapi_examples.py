"""Real requests and answers for every ``/v1`` and ``/public/v1`` operation: the examples of
``/openapi.json`` (``api/openapi_examples.json``).

``scenario`` walks the demo (``jrp serve --demo``: the shipped bundle, the demo callers and
data) through every operation, each step using what the earlier ones answered (a decision id,
an entry id). ``tests/api/test_openapi.py`` runs it and validates every answer against the
schema ``/openapi.json`` declares; ``python -m tests.api.openapi_examples`` runs it and writes
each request and answer to ``api/openapi_examples.json`` (several for an operation: the
``examples`` of its OpenAPI entry, named by ``Step.name``).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.openapi import EXAMPLES_FILE

ORG = "91440101000010014P"  # a judgment debtor (demo data)
PERSON = "440106198001010115"  # 张示例, its legal representative
EDITED = Path(__file__).resolve().parents[1] / "fixtures" / "bundles" / "contract_example"
"""The bundle whose impact the example asks for: small, and different from the demo's."""


@dataclass
class Step:
    """One request: ``operation`` is ``"METHOD /path/{template}"``; ``key`` a demo key."""

    operation: str
    key: str | None
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    status: int = 200
    checkpoint: bool = False
    """sign checkpoints first (as the service does within seconds), for proofs"""
    name: str | None = None
    """what this example shows, when an operation has several"""
    record: bool = True
    """False: a step the scenario needs that adds nothing to the examples"""

    @property
    def method(self) -> str:
        return self.operation.split(" ", 1)[0]

    @property
    def url(self) -> str:
        template = self.operation.split(" ", 1)[1]
        return template.format(**self.path)

    def request(self) -> dict[str, Any]:
        """The request as stored in the examples file."""
        stored: dict[str, Any] = {} if self.name is None else {"name": self.name}
        for name in ("path", "query"):
            if getattr(self, name):
                stored[name] = getattr(self, name)
        if self.body is not None:
            stored["body"] = self.body
        return stored


Scenario = Generator[Step, Any, None]


def _bundle_files() -> dict[str, str]:
    return {
        str(path.relative_to(EDITED)): path.read_text(encoding="utf-8")
        for path in sorted(EDITED.rglob("*.yaml"))
    }


def scenario() -> Scenario:
    """Every operation once or more, in an order where each finds what it needs."""
    # Registry
    yield Step(
        "POST /v1/subjects",
        "demo-registrar",
        body=[{"id": "914401010000100575", "kind": "org", "name": "示例物流有限公司",
               "region": "440106"}],
    )  # fmt: skip
    yield Step(
        "POST /v1/relations",
        "demo-registrar",
        body=[{"org_id": "914401010000100575", "person_id": PERSON,
               "role": "legal_representative", "start": "2024-01-01"}],
    )  # fmt: skip
    yield Step("GET /v1/subjects/{id}", "demo-auditor", path={"id": ORG})
    # Checks: a hit, no hit, an explanation
    hit = yield Step(
        "POST /v1/checks",
        "demo-finance",
        body={"subject_id": ORG, "matter": "government_procurement", "reference": "采购-2026-001"},
        name="a judgment debtor: prohibited",
    )
    yield Step(
        "POST /v1/checks",
        "demo-finance",
        body={"subject_id": "91440101000010030D", "matter": "government_procurement"},
        name="no hit",
    )
    yield Step(
        "POST /v1/checks",
        "demo-finance",
        body={"subject_id": PERSON, "matter": "government_procurement", "explain": True},
        name="explain: why an entry of a held org gives no hit",
    )
    decision_id = hit["decision_id"]
    measure_id = hit["hits"][0]["measure_id"] if hit["hits"] else None
    if measure_id is not None:
        yield Step(
            "POST /v1/decisions/{decision_id}/feedback",
            "demo-finance",
            path={"decision_id": decision_id},
            body={"measure_id": measure_id, "executed": True, "note": "已限制参加政府采购"},
            status=201,
        )
    # Audit
    yield Step("GET /v1/decisions", "demo-auditor", query={"subject_id": ORG, "limit": 2})
    yield Step("GET /v1/decisions/{decision_id}", "demo-auditor", path={"decision_id": decision_id})
    yield Step("GET /v1/audit/verify", "demo-auditor")
    yield Step("GET /v1/stats/feedback", "demo-auditor")
    yield Step("POST /v1/replay", "demo-auditor", body={"policy": "recorded"})
    # Entries and their lifecycle
    registered = yield Step(
        "POST /v1/entries",
        "demo-court",
        body={"list": "dishonest_judgment_debtor", "subject_id": "914401010000100575",
              "subject_kind": "org", "decided_on": "2026-06-01",
              "doc_no": "(2026)粤0106执2001号", "reason": "有履行能力而拒不履行(示例)",
              "attributes": {"court": "广州市天河区人民法院"}},
        status=201,
    )  # fmt: skip
    entry_id = registered["entry"]["id"]
    yield Step("GET /v1/entries/{entry_id}", "demo-auditor", path={"entry_id": entry_id})
    yield Step(
        "POST /v1/entries/{entry_id}/objection",
        "demo-credit-office",
        path={"entry_id": entry_id},
        body={"reason": "已全部履行(示例)"},
    )
    yield Step("GET /v1/objections", "demo-credit-office", query={"status": "open"})
    yield Step(
        "POST /v1/entries/{entry_id}/objection/resolution",
        "demo-court",
        path={"entry_id": entry_id},
        body={"outcome": "rejected", "note": "复核维持"},
    )
    yield Step(
        "GET /v1/entries/{entry_id}/decisions", "demo-credit-office", path={"entry_id": entry_id}
    )
    yield Step("POST /v1/entries/{entry_id}/revoke", "demo-court", path={"entry_id": entry_id})
    yield Step("GET /v1/notices", "demo-credit-office")
    yield Step("GET /v1/audit/access", "demo-auditor", query={"subject_id": PERSON})
    # Repair: the demo's administrative penalties are repairable
    subject = yield Step(
        "GET /v1/subjects/{id}", "demo-auditor", path={"id": "91440101000010049A"}, record=False
    )
    repairable = next(entry["id"] for entry in subject["entries"] if entry["status"] == "active")
    yield Step(
        "POST /v1/entries/{entry_id}/repair",
        "demo-credit-office",
        path={"entry_id": repairable},
        body={"note": "已完成信用修复(示例)"},
    )
    # Policy
    policy = yield Step("GET /v1/policy", "demo-auditor")
    version = policy["version"]
    yield Step("GET /v1/policy/versions/{version}", "demo-auditor", path={"version": version})
    yield Step("POST /v1/policy/reload", "demo-credit-office")
    yield Step("POST /v1/policy/impact", "demo-auditor", body={"files": _bundle_files()})
    yield Step("GET /v1/policy/diff", "demo-auditor", query={"from": version, "to": version})
    # Verifiable logs
    yield Step("GET /v1/audit/public-key", None)
    yield Step("GET /v1/audit/checkpoint", "demo-auditor", query={"log": "decisions"})
    yield Step("GET /v1/audit/checkpoints", "demo-auditor", query={"log": "decisions"})
    yield Step(
        "GET /v1/decisions/{decision_id}/proof",
        "demo-finance",
        path={"decision_id": decision_id},
        checkpoint=True,
    )
    yield Step("GET /v1/audit/consistency", "demo-auditor",
               query={"log": "decisions", "first": 1, "second": 2})  # fmt: skip
    # The exchange feed (docs/exchange.md)
    yield Step("GET /v1/exchange/events", "demo-peer", query={"after": 0, "limit": 5})
    # Reports, the map, publication
    yield Step("GET /v1/subjects/{id}/report", "demo-auditor", path={"id": ORG})
    yield Step("GET /v1/subjects/{id}/graph", "demo-auditor", path={"id": PERSON},
               query={"depth": 2})  # fmt: skip
    yield Step("GET /v1/stats/publication", "demo-auditor")
    yield Step("GET /public/v1/lists", None)
    yield Step(
        "GET /public/v1/lists/{list}/entries",
        None,
        path={"list": "dishonest_judgment_debtor"},
        query={"limit": 2},
    )
    yield Step("GET /public/v1/orgs/{id}/report", None, path={"id": ORG})
    # Credit grades, commitments, early warning
    yield Step("GET /v1/subjects/{id}/grade", "demo-auditor", path={"id": ORG},
               query={"as_of": "2026-06-01"})  # fmt: skip
    recorded = yield Step(
        "POST /v1/commitments",
        "demo-registrar",
        body={"subject_id": "914401010000100575", "subject_kind": "org",
              "matter": "market_access", "doc_no": "穗天市监容缺〔2026〕21号(示例)",
              "content": "容缺受理变更登记:承诺 5 个工作日内补交股东会决议(示例)",
              "made_on": "2026-06-01", "due_working_days": 5},
        status=201,
    )  # fmt: skip
    kept = recorded["commitment"]["id"]
    yield Step("GET /v1/commitments", "demo-credit-office",
               query={"subject_id": "914401010000100575"})  # fmt: skip
    yield Step("GET /v1/commitments/{commitment_id}", "demo-auditor", path={"commitment_id": kept})
    yield Step(
        "POST /v1/commitments/{commitment_id}/fulfilment",
        "demo-registrar",
        path={"commitment_id": kept},
        body={"fulfilled_on": "2026-06-05", "note": "已按期补交(示例)"},
    )
    broken = yield Step(
        "POST /v1/commitments",
        "demo-registrar",
        body={"subject_id": "914401010000100575", "subject_kind": "org",
              "matter": "market_access", "doc_no": "穗天市监容缺〔2026〕22号(示例)",
              "content": "容缺受理食品经营许可:承诺 10 个工作日内补交健康证明(示例)",
              "made_on": "2026-06-01", "due_working_days": 10},
        status=201,
        record=False,
    )  # fmt: skip
    yield Step(
        "POST /v1/commitments/{commitment_id}/breach",
        "demo-registrar",
        path={"commitment_id": broken["commitment"]["id"]},
        body={"decided_on": "2026-06-20", "doc_no": "穗天市监违诺〔2026〕2号(示例)",
              "reason": "承诺期限届满未补交健康证明,经催告仍未补交(示例)"},
        status=201,
    )  # fmt: skip
    yield Step("GET /v1/warnings", "demo-credit-office", query={"within": 10})
    yield Step("GET /healthz", None)
    yield Step("GET /metrics", None)
    yield Step("GET /readyz", None)


@dataclass
class Answered:
    step: Step
    status: int
    body: Any


def run(client: TestClient) -> Iterator[Answered]:
    """Send every step of ``scenario`` through ``client``; yields each answer."""
    steps = scenario()
    answer: Any = None
    while True:
        try:
            step = steps.send(answer)
        except StopIteration:
            return
        if step.checkpoint:
            client.app.state.service.verifiable.checkpoint_now()  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {step.key}"} if step.key else {}
        response = client.request(
            step.method,
            step.url,
            params=step.query or None,
            json=step.body,
            headers=headers,
        )
        json_answer = response.headers.get("content-type", "").startswith("application/json")
        body = response.json() if json_answer else response.text  # /metrics: text
        yield Answered(step, response.status_code, body)
        answer = body


@contextmanager
def demo_client(db_url: str, signing_key: Path | None = None) -> Iterator[TestClient]:
    """The app as ``jrp serve --demo`` runs it, on ``db_url``."""
    from api.app import create_app
    from api.auth import load_callers
    from api.demo import DEMO_CALLERS
    from api.demo import data as demo_data
    from engine.service import Service
    from engine.settings import Settings

    settings = Settings(db=db_url, callers=DEMO_CALLERS, demo=True, signing_key=signing_key)
    service = Service.start(settings)
    demo_data.load(service)
    callers = load_callers(DEMO_CALLERS, service.policy.bundle.vocabulary)
    with TestClient(create_app(service, callers), raise_server_exceptions=False) as client:
        yield client


def write_examples() -> None:
    """Run the scenario on a fresh SQLite database and store the first answer per operation."""
    from api.cli.signing import demo_signing_key

    examples: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/examples.db"
        with demo_client(url, demo_signing_key(url)) as client:
            for answered in run(client):
                step = answered.step
                if answered.status != step.status:
                    raise SystemExit(f"{step.operation}: {answered.status} {answered.body}")
                if step.record:
                    examples.setdefault(step.operation, []).append(
                        {
                            "request": step.request(),
                            "status": step.status,
                            "response": answered.body,
                        }
                    )
    EXAMPLES_FILE.write_text(
        json.dumps(examples, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"{EXAMPLES_FILE}: {len(examples)} operations")


if __name__ == "__main__":
    write_examples()
