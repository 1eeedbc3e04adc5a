"""An app on a real database with a real bundle and callers file, driven through HTTP."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import load_callers
from engine.service import Service
from engine.settings import Settings
from tests.conftest import CONTRACT_BUNDLE

KEYS = {
    "court": ("某市中级人民法院", "court", ["initiator"]),
    "tax": ("某市税务局", "tax", ["initiator", "implementer"]),
    "finance": ("某市财政局", "finance", ["implementer"]),
    "auditor": ("某市审计局", "finance", ["auditor"]),
    "admin": ("某市发展改革委信用处", "tax", ["policy_admin", "credit_office"]),
    "registrar": ("某市市场监管局", "tax", ["registrar"]),
}


def key_of(name: str) -> str:
    """The API key the test callers file gives ``name``."""
    return f"test-key-{name}"


def auth(name: str) -> dict[str, str]:
    """Headers authenticating as the test caller ``name``."""
    return {"Authorization": f"Bearer {key_of(name)}"}


def write_callers(path: Path) -> Path:
    """A callers file for the contract example bundle's departments."""
    callers = [
        {
            "name": display,
            "department": department,
            "roles": roles,
            "key_sha256": hashlib.sha256(key_of(name).encode()).hexdigest(),
        }
        for name, (display, department, roles) in KEYS.items()
    ]
    path.write_text(yaml.safe_dump({"callers": callers}, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class Running:
    client: TestClient
    service: Service
    policy_dir: Path


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """A private copy of the contract example bundle (tests may edit it)."""
    target = tmp_path / "bundle"
    shutil.copytree(CONTRACT_BUNDLE, target)
    return target


@pytest.fixture
def running(db_url: str, policy_dir: Path, tmp_path: Path) -> Iterator[Running]:
    """The service started as ``jrp serve`` would, behind a test client."""
    settings = Settings(db=db_url, policy=policy_dir, callers=write_callers(tmp_path / "c.yaml"))
    service = Service.start(settings)
    assert settings.callers is not None
    registry = load_callers(settings.callers, service.policy.bundle.vocabulary)
    with TestClient(create_app(service, registry), raise_server_exceptions=False) as client:
        yield Running(client=client, service=service, policy_dir=policy_dir)


def debtor_entry(subject_id: str, n: int) -> dict[str, Any]:
    """A 失信被执行人 entry of the contract bundle for org ``subject_id``, numbered ``n``."""
    return {
        "list": "dishonest_judgment_debtor",
        "subject_id": subject_id,
        "subject_kind": "org",
        "subject_name": f"某公司{n}",
        "decided_on": "2025-03-01",
        "doc_no": f"(2025)粤01执{n}号",
        "attributes": {"amount": 2_000_000, "category": "tax_evasion"},
    }
