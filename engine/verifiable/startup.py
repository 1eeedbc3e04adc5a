"""What ``Service.start`` does for the verifiable logs: the truncation guard and the key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from engine.errors import ConfigurationError
from engine.settings import Settings
from engine.store.events import EventType, NewEvent
from engine.verifiable import keys, truncation
from engine.verifiable.service import VerifiableLogs

log = structlog.get_logger(__name__)

ACCEPT_ACTOR = "jrp serve --accept-truncated-log"


class TruncatedLog(ConfigurationError):
    """A log holds less than a stored checkpoint says it did: the service does not start."""


def open_logs(verifiable: VerifiableLogs, settings: Settings, write: Callable[[Any], Any]) -> None:
    """Refuse a truncated log (or record its acceptance), then load the signing key.

    Runs before the service writes anything: a truncated log would otherwise be continued
    under the removed records' seq numbers. ``write`` is ``Service.write``.
    """
    for found in truncation.find_truncations(verifiable.engine):
        if not settings.accept_truncated_log:
            raise TruncatedLog(found.message())
        log.warning(
            "verifiable.truncation_accepted",
            log=found.log, checkpoint_size=found.size, checkpoint_timestamp=found.timestamp,
            records_found=found.found,
        )  # fmt: skip
        truncation.accept(verifiable.engine, found)
        event = NewEvent(EventType.log_truncation_accepted, found.payload(), actor=ACCEPT_ACTOR)
        write(lambda _session, _state, event=event: [event])
    verifiable.interval = settings.checkpoint_interval
    verifiable.runner = settings.checkpoint_runner
    verifiable.use_key(
        keys.load_private(settings.signing_key) if settings.signing_key is not None else None
    )
