"""Pulling every peer on a schedule inside ``jrp serve`` (``--peers FILE --pull-every S``)."""

from __future__ import annotations

import threading
from pathlib import Path

import structlog

from engine.errors import ConfigurationError
from engine.exchange.peers import Peer, load_peers
from engine.exchange.pull import pull
from engine.service import Service
from engine.settings import Settings

log = structlog.get_logger(__name__)


class Puller:
    """A thread pulling each peer every ``every`` seconds until ``close``.

    With ``--workers N`` every worker runs one: a page is applied once (the cursor is checked
    under the log's lock), and a worker that finds the cursor moved logs it and waits.
    """

    def __init__(self, service: Service, peers: dict[str, Peer], every: float) -> None:
        self.service = service
        self.peers = peers
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="jrp-exchange", daemon=True)
        self._thread.start()

    def round(self) -> None:
        """Pull every peer once (what each tick does)."""
        for peer in self.peers.values():
            try:
                report = pull(self.service, peer)
            except Exception as exc:  # a failed round is retried at the next one
                log.warning("exchange.pull_failed", peer=peer.name, error=type(exc).__name__)
                continue
            if report.refused is not None:
                log.warning("exchange.pull_refused", peer=peer.name, reason=report.refused)
            elif report.records:
                log.info("exchange.pull_done", **report.to_dict())

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.round()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def attach_puller(service: Service, settings: Settings) -> None:
    """Give the service its puller when ``pull_every`` is set; ConfigurationError when the
    peers file is missing or broken."""
    if settings.pull_every is None:
        return
    if settings.peers is None:
        raise ConfigurationError("--pull-every needs a peers file (--peers, JRP_PEERS)")
    service.puller = Puller(service, load_peers(Path(settings.peers)), settings.pull_every)
