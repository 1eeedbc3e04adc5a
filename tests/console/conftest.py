"""Console fixtures: the API test app (tests/api/conftest.py) with data on every page."""

from __future__ import annotations

import pytest

from tests.api.conftest import KEYS, Running, auth, key_of, policy_dir, running  # noqa: F401

__all__ = ["KEYS", "Running", "auth", "key_of"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests (marker ``browser``) run in the SQLite pass only.

    They drive the page flow and the browser (rendering, scripts, requests, fonts); the
    database under the pages is exercised on both databases by the TestClient tests here,
    so a second browser pass on PostgreSQL would repeat minutes of identical work.
    """
    from tests.conftest import TEST_DB

    if TEST_DB != "postgresql":
        return
    browser = [item for item in items if item.get_closest_marker("browser") is not None]
    if browser:
        config.hook.pytest_deselected(items=browser)
        items[:] = [item for item in items if item.get_closest_marker("browser") is None]
