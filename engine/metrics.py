"""The service's Prometheus metrics (``GET /metrics``, docs/api.md#operations).

One process: the values live in this process and ``exposition`` writes them out. Several
workers (``jrp serve``, always, ``api/cli/metricsdir.py``): ``PROMETHEUS_MULTIPROC_DIR`` is
set before any worker starts, each process writes its values to its own memory-mapped files
there, and the worker answering a scrape reads every process's files, so every worker's
counts are in one answer.

Gauges in several workers: ``jrp_state_seq`` keeps one value per live worker (label ``pid``),
``jrp_event_log_seq`` the highest any worker saw, ``jrp_entries_in_force`` the most recent
count (set by the worker answering the scrape, from its state caught up with the log).

Recording a value costs a few µs (a lock, a float, in ``jrp serve`` a write to the mapped
file); a check records three (docs/performance.md).
"""

from __future__ import annotations

import os

from prometheus_client import disable_created_metrics, values
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics import Counter, Gauge, Histogram
from prometheus_client.registry import CollectorRegistry

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The Prometheus text format, version 0.0.4 (what every Prometheus server reads)."""

_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
)  # fmt: skip


class Metrics:
    """The service's metrics, in a registry of their own (no default process collectors: in
    several workers they would describe only the worker that happens to answer)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.checks = Counter(
            "jrp_checks",
            "Checks answered and logged, by outcome (POST /v1/checks and the console's checks)",
            ["outcome"],
            registry=registry,
        )
        self.check_seconds = Histogram(
            "jrp_check_duration_seconds",
            "Server-side time of a check: waiting for the log's head, answering, the commit",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.http_requests = Counter(
            "jrp_http_requests",
            "HTTP requests by route template (never the path itself) and status",
            ["route", "status"],
            registry=registry,
        )
        self.batch_size = Histogram(
            "jrp_decision_log_batch_size",
            "Decisions committed per decision-log transaction (group commit)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "jrp_decision_log_commit_seconds",
            "Time to chain and commit one decision-log batch (the writer thread)",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.event_log_seq = Gauge(
            "jrp_event_log_seq",
            "The event log's last committed seq, read when scraped",
            multiprocess_mode="max",
            registry=registry,
        )
        self.state_seq = Gauge(
            "jrp_state_seq",
            "The last event seq this worker has applied to its state",
            multiprocess_mode="liveall",
            registry=registry,
        )
        self.entries_in_force = Gauge(
            "jrp_entries_in_force",
            "Entries in force today (active, inside their window), by list",
            ["list"],
            multiprocess_mode="mostrecent",
            registry=registry,
        )
        # ``labels()`` takes a lock and builds a tuple each time: children kept per label.
        self._checks_by_outcome: dict[str, Counter] = {}
        self._requests_by_route: dict[tuple[str, int], Counter] = {}

    def check_decided(self, outcome: str, seconds: float) -> None:
        """One check answered and logged, ``seconds`` after it arrived."""
        self.check_seconds.observe(seconds)
        child = self._checks_by_outcome.get(outcome)
        if child is None:
            child = self._checks_by_outcome[outcome] = self.checks.labels(outcome)
        child.inc()

    def request_handled(self, route: str, status: int) -> None:
        """One HTTP request more in ``jrp_http_requests_total{route,status}``."""
        child = self._requests_by_route.get((route, status))
        if child is None:
            child = self._requests_by_route[route, status] = self.http_requests.labels(
                route, str(status)
            )
        child.inc()

    def batch_committed(self, size: int, seconds: float) -> None:
        """One decision-log batch of ``size`` committed in ``seconds``."""
        self.batch_size.observe(size)
        self.commit_seconds.observe(seconds)


_metrics: Metrics | None = None


def get() -> Metrics:
    """This process's metrics, made on first use.

    Made late on purpose: prometheus_client picks where values live (in the process, or in
    ``PROMETHEUS_MULTIPROC_DIR``) when a metric is made, and ``jrp serve`` sets the directory
    after much of the service has been imported; by the first use it is set.
    """
    global _metrics
    if _metrics is None:
        if os.environ.get(MULTIPROC_ENV) and not multiprocess():
            values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
        # No ``*_created`` series: several workers never have them, so one worker neither.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        _metrics = Metrics()
    return _metrics


UNMATCHED_ROUTE = "(unmatched)"
"""The ``route`` label of a request no route matched (a 404 or 405 before routing)."""


def multiprocess() -> bool:
    """True when values go to ``PROMETHEUS_MULTIPROC_DIR`` (``jrp serve``)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def exposition() -> bytes:
    """Every metric in the Prometheus text format, every process's values included."""
    if not multiprocess():
        return generate_latest(get().registry)
    from prometheus_client.multiprocess import MultiProcessCollector

    merged = CollectorRegistry()
    MultiProcessCollector(merged, path=os.environ[MULTIPROC_ENV])  # type: ignore[no-untyped-call]
    return generate_latest(merged)


def process_stopped(pid: int | None = None) -> None:
    """Drop a stopped worker's per-process gauges (``jrp_state_seq``) from later scrapes."""
    if not multiprocess():
        return
    from prometheus_client.multiprocess import mark_process_dead

    mark_process_dead(  # type: ignore[no-untyped-call]
        os.getpid() if pid is None else pid, os.environ[MULTIPROC_ENV]
    )
