"""What ``GET /metrics`` answers: the gauges read now, then every metric (``engine.metrics``)."""

from __future__ import annotations

from engine import metrics
from engine.entries.overview import in_force_by_list
from engine.service import Service
from engine.timing import china_today


def scrape(service: Service) -> bytes:
    """The Prometheus text of every process's metrics, after this process's gauges are set:
    the log's head, its state caught up with it, the entries in force today per list."""
    head = service.log_head()
    lists = in_force_by_list(service, china_today())  # catches the state up first
    recorded = metrics.get()
    recorded.event_log_seq.set(max(head, service.state.seq))
    recorded.state_seq.set(service.state.seq)
    if not metrics.multiprocess():
        # Lists a reloaded policy no longer has leave the answer (the multi-process files
        # cannot forget a label: there such a list keeps its last count, docs/api.md).
        recorded.entries_in_force.clear()
    for item in lists:
        recorded.entries_in_force.labels(item["list"]).set(item["in_force"])
    return metrics.exposition()
