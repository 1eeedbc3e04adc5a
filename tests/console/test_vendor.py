"""The vendored assets are the pinned files: every file listed with its SHA-256, nothing else."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import api.console

VENDOR = Path(api.console.__file__).resolve().parent / "static" / "vendor"


def test_manifest_lists_every_vendored_file_with_its_digest() -> None:
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text(encoding="utf-8"))
    listed = set()
    for directory, package in manifest["packages"].items():
        assert package["npm"] and package["version"]
        for name, digest in package["files"].items():
            data = (VENDOR / directory / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, f"{directory}/{name}"
            listed.add(f"{directory}/{name}")
    present = {str(path.relative_to(VENDOR)) for path in VENDOR.rglob("*") if path.is_file()} - {
        "MANIFEST.json"
    }
    assert present == listed
    versions = {d: p["version"] for d, p in manifest["packages"].items()}
    assert versions == {"swagger-ui": "5.35.0", "redoc": "2.5.2", "echarts": "6.1.0"}


def test_redoc_patch_is_recorded_and_leaves_no_cdn_load() -> None:
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text(encoding="utf-8"))
    patched = manifest["packages"]["redoc"]["patched"]["redoc.standalone.js"]
    assert len(patched["upstream_sha256"]) == 64 and "logo-mini" in patched["change"]
    assert b"cdn.redoc.ly" not in (VENDOR / "redoc" / "redoc.standalone.js").read_bytes()
