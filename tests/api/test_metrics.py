"""``GET /metrics``: the contract's metrics in the Prometheus text format, open, route templates
as labels; in ``jrp serve --workers 2`` every worker's counts in one answer, the metrics
directory set and emptied by the service itself."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from engine.entries.overview import in_force_by_list
from engine.timing import china_today
from tests.api.conftest import Running, auth, debtor_entry, write_callers
from tests.conftest import CONTRACT_BUNDLE
from tests.engine.registry.test_registry import org
from tests.serving import ServeProcess, ServerNotReady

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

CONTRACT_METRICS = {
    "jrp_checks": "counter",
    "jrp_check_duration_seconds": "histogram",
    "jrp_http_requests": "counter",
    "jrp_decision_log_batch_size": "histogram",
    "jrp_decision_log_commit_seconds": "histogram",
    "jrp_event_log_seq": "gauge",
    "jrp_state_seq": "gauge",
    "jrp_entries_in_force": "gauge",
}


def _parse(text: str) -> tuple[dict[str, str], Samples]:
    """Each family's type, and every sample by (name, labels)."""
    types: dict[str, str] = {}
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return types, samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _matching(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: value for (sample, labels), value in samples.items() if sample == name}


def _scrape(running: Running) -> tuple[str, dict[str, str], Samples]:
    answer = running.client.get("/metrics")  # no key: the route is open
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return (answer.text, *_parse(answer.text))


def test_metrics_count_checks_requests_and_batches(running: Running) -> None:
    client = running.client
    _, _, before = _scrape(running)
    listed = org(7)
    created = client.post("/v1/entries", json=debtor_entry(listed, 7), headers=auth("court"))
    assert created.status_code == 201, created.text
    outcomes = []
    for subject_id in (listed, org(8), listed):
        answer = client.post(
            "/v1/checks",
            json={"subject_id": subject_id, "matter": "government_procurement"},
            headers=auth("finance"),
        )
        assert answer.status_code == 200, answer.text
        outcomes.append(answer.json()["outcome"])
    unknown = client.get(f"/v1/entries/{org(9)}", headers=auth("auditor"))
    assert unknown.status_code == 404
    missing = client.get(f"/no/such/{org(9)}")
    assert missing.status_code == 404

    text, types, after = _scrape(running)
    for name, kind in CONTRACT_METRICS.items():
        assert types.get(name) == kind, (name, types.get(name))

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    for outcome in set(outcomes):
        assert grew("jrp_checks_total", outcome=outcome) == outcomes.count(outcome)
    assert grew("jrp_check_duration_seconds_count") == 3
    assert grew("jrp_check_duration_seconds_bucket", le="+Inf") == 3
    assert grew("jrp_check_duration_seconds_sum") > 0
    assert grew("jrp_http_requests_total", route="/v1/checks", status="200") == 3
    assert grew("jrp_http_requests_total", route="/v1/entries", status="201") == 1
    assert grew("jrp_http_requests_total", route="/v1/entries/{entry_id}", status="404") == 1
    assert grew("jrp_http_requests_total", route="(unmatched)", status="404") == 1
    assert grew("jrp_http_requests_total", route="/metrics", status="200") == 1  # the first
    assert org(9) not in text and "/no/such" not in text  # templates, never paths
    # Three decisions in one or more batches; each batch's commit timed.
    assert grew("jrp_decision_log_batch_size_sum") == 3
    batches = grew("jrp_decision_log_batch_size_count")
    assert 1 <= batches <= 3
    assert grew("jrp_decision_log_commit_seconds_count") == batches
    # Positions: the log's head, and this worker caught up with it.
    head = running.service.log_head()
    assert _value(after, "jrp_event_log_seq") == head
    assert _value(after, "jrp_state_seq") == head == running.service.state.seq
    in_force = _matching(after, "jrp_entries_in_force")
    expected = in_force_by_list(running.service, china_today())
    assert in_force == {frozenset({("list", i["list"])}): i["in_force"] for i in expected}
    assert in_force[frozenset({("list", "dishonest_judgment_debtor")})] == 1


def test_refused_checks_are_counted_as_requests_not_as_checks(running: Running) -> None:
    _, _, before = _scrape(running)
    answer = running.client.post(
        "/v1/checks", json={"subject_id": "not-an-id", "matter": "government_procurement"},
        headers=auth("finance"),
    )  # fmt: skip
    assert answer.status_code == 422
    assert running.client.post("/v1/checks", json={}).status_code == 401
    _, _, after = _scrape(running)
    checks = sum(_matching(after, "jrp_checks_total").values())
    assert checks == sum(_matching(before, "jrp_checks_total").values())
    for status in ("422", "401"):
        key = ("jrp_http_requests_total", frozenset({("route", "/v1/checks"), ("status", status)}))
        assert after.get(key, 0) - before.get(key, 0) == 1


def _stale_counter(directory: Path) -> None:
    """A metric file as a worker of an earlier run left it: 41 checks of outcome "stale"."""
    stale = MmapedDict(str(directory / "counter_999999.db"))
    key = mmap_key("jrp_checks", "jrp_checks_total", ("outcome",), ("stale",), "earlier run")
    stale.write_value(key, 41.0, 0.0)
    stale.close()


def test_two_workers_report_every_workers_counts(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "bundle"
    shutil.copytree(CONTRACT_BUNDLE, policy)
    callers = write_callers(tmp_path / "callers.yaml")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    _stale_counter(metrics_dir)
    (metrics_dir / "keep.txt").write_text("not a metric file")
    command = [sys.executable, "-m", "api.cli", "serve", "--policy", str(policy), "--callers",
               str(callers), "--db", db_url]  # fmt: skip
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with ServeProcess(command, tmp_path / "serve.log", workers=2, env=env) as server:
        try:
            server.wait_ready(timeout=120)
        except ServerNotReady as exc:
            pytest.fail(str(exc))
        workers = server.worker_pids()
        assert len(workers) == 2
        assert not (metrics_dir / "counter_999999.db").exists()  # emptied at start
        assert (metrics_dir / "keep.txt").exists()  # only metric files are removed
        answered_by: set[int] = set()
        checks = 0
        while len(answered_by) < 2 and checks < 400:
            # A fresh connection each time: the kernel spreads them over both workers.
            answer = httpx.post(
                f"{server.base}/v1/checks",
                json={"subject_id": org(checks), "matter": "government_procurement"},
                headers=auth("finance"),
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            checks += 1
            if checks % 10 == 0:
                answered_by |= _pids_with_checks(metrics_dir, workers)
        assert answered_by == set(workers), f"one worker answered all {checks} checks"
        for _ in range(6):  # whichever worker answers the scrape, it counts every worker's
            text = httpx.get(f"{server.base}/metrics", timeout=30).text
            _, samples = _parse(text)
            assert sum(_matching(samples, "jrp_checks_total").values()) == checks
            assert _value(samples, "jrp_check_duration_seconds_count") == checks
            assert _value(samples, "jrp_decision_log_batch_size_sum") == checks
            route = {"route": "/v1/checks", "status": "200"}
            assert _value(samples, "jrp_http_requests_total", **route) == checks
            assert "stale" not in text
            states = _matching(samples, "jrp_state_seq")
            assert {dict(labels)["pid"] for labels in states} == {str(pid) for pid in workers}
            assert _value(samples, "jrp_event_log_seq") >= max(states.values()) > 0
    assert list(metrics_dir.glob("gauge_liveall_*.db")) == []  # stopped workers leave none


def _pids_with_checks(directory: Path, workers: list[int]) -> set[int]:
    """Workers that have answered a check so far: each process writes its own counts to a
    file named after its pid (``counter_PID.db``)."""
    return {
        pid
        for pid in workers
        if (directory / f"counter_{pid}.db").exists()
        and _has_checks(directory / f"counter_{pid}.db")
    }


def _has_checks(path: Path) -> bool:
    stored = MmapedDict(str(path), read_mode=True)
    try:
        return any(
            key.startswith('["jrp_checks"') and value > 0
            for key, value, _timestamp in stored.read_all_values()
        )
    finally:
        stored.close()


def test_one_worker_makes_and_removes_its_own_metrics_directory(
    tmp_path: Path, db_url: str
) -> None:
    policy = tmp_path / "bundle"
    shutil.copytree(CONTRACT_BUNDLE, policy)
    callers = write_callers(tmp_path / "callers.yaml")
    command = [sys.executable, "-m", "api.cli", "serve", "--policy", str(policy), "--callers",
               str(callers), "--db", db_url]  # fmt: skip
    with ServeProcess(command, tmp_path / "serve.log") as server:
        try:
            server.wait_ready(timeout=120)
        except ServerNotReady as exc:
            pytest.fail(str(exc))
        answer = httpx.post(
            f"{server.base}/v1/checks",
            json={"subject_id": org(1), "matter": "government_procurement"},
            headers=auth("finance"),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        _, samples = _parse(httpx.get(f"{server.base}/metrics", timeout=30).text)
        assert _value(samples, "jrp_checks_total", outcome=answer.json()["outcome"]) == 1
        # Its values are in a temporary directory the service made: one file per kind of
        # metric, named after its pid.
        pid = server.process.pid
        [directory] = {
            p.parent for p in Path(tempfile.gettempdir()).glob(f"jrp-metrics-*/*_{pid}.db")
        }
        states = _matching(samples, "jrp_state_seq")
        assert [dict(labels)["pid"] for labels in states] == [str(server.process.pid)]
    assert not directory.exists()
