"""structlog, configured once: JSON lines when not on a terminal, readable lines on one.

Every line goes through the same processors, whoever logs it: the service's own events
(structlog), and the standard library's loggers (uvicorn's start, stop and crash reports,
Alembic, Python warnings) through ``structlog.stdlib.ProcessorFormatter``. So a traceback is a
field of a JSON event, never lines of plain text, and no line carries a person's full id:
``subject_id``, ``person_id`` and ``org_id`` fields are masked, and so is any 18-digit
citizen number inside any other text (an exception's message, a traceback).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

from engine.registry.identifiers import mask_subject_id

_ID_FIELDS = ("subject_id", "person_id", "org_id")
_CITIZEN_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
"""An 18-character token that may be a 公民身份号码 (org codes with letters never match)."""


def mask_text(text: str) -> str:
    """``text`` with every token that may be a citizen number masked (``110105********002X``);
    all-digit org codes stay whole (``mask_subject_id``)."""
    if len(text) < 18:
        return text
    return _CITIZEN_NUMBER.sub(lambda m: mask_subject_id(m.group()), text)


def _masked(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if depth < 4 and isinstance(value, dict):
        return {k: _masked(v, depth + 1) for k, v in value.items()}
    if depth < 4 and isinstance(value, list | tuple):
        return [_masked(v, depth + 1) for v in value]
    return value


def _mask_personal_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # Citizen ids are personal information (PIPL): never write them to application logs.
    for key, value in event_dict.items():
        if key in _ID_FIELDS and isinstance(value, str):
            event_dict[key] = mask_subject_id(value)
        elif key != "_record":
            event_dict[key] = _masked(value)
    return event_dict


def _logger_name(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    record = event_dict.get("_record")
    if record is not None:
        event_dict.setdefault("logger", record.name)
    return event_dict


_configured: dict[str, str] | None = None


def configured() -> dict[str, str] | None:
    """The arguments of this process's last ``configure``, or None: a child process of the
    service's own (``engine.decisions.writer_process``) logs as its parent does."""
    return None if _configured is None else dict(_configured)


def configure(
    *,
    log_format: Literal["auto", "json", "console"] = "auto",
    level: str = "info",
) -> None:
    """Configure structlog and the standard library loggers it shares output with."""
    global _configured
    _configured = {"log_format": log_format, "level": level}
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer()
    )
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Tracebacks become a field (``exception``) before masking reads every field.
        structlog.processors.format_exc_info,
        _mask_personal_ids,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        # One write() per event (message and newline together): print() writes the newline
        # apart, and a line the standard library's handler wrote from another thread in
        # between ran two events into one line.
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    # uvicorn's loggers keep handlers of their own when it configured them: ours only.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    # Never uvicorn's access log: it writes each raw path and query (names, ids), where the
    # request log (api/request_log.py) writes the route template. ``access_log=False`` alone
    # does not hold in ``--workers N``: each worker configures this after uvicorn did.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    logging.captureWarnings(True)
    # Alembic narrates every migration step at INFO; only its problems belong in service logs.
    logging.getLogger("alembic").setLevel(max(numeric_level, logging.WARNING))
