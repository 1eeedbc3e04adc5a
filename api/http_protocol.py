"""uvicorn's HTTP/1.1 protocol with a deadline for a request's head (``JRP_HEADER_TIMEOUT``).

uvicorn bounds only the idle time between two requests of a connection (its keep-alive
timeout, 5 s). A client that opens a connection and then sends nothing, or sends a request
line and headers a byte at a time (slowloris), would hold the connection, and a file
descriptor, for ever. Here:

- a new connection must deliver a complete head (request line and headers) within
  ``header_timeout`` seconds of being accepted; a request after the first, within
  ``header_timeout`` seconds of its first byte (between requests uvicorn's keep-alive timeout
  still decides);
- past the deadline a head that has begun is answered 408 ``request_timeout`` in the error
  envelope, with ``connection: close``; a connection that sent no byte at all is closed
  without an answer (there is no request to answer). Either way one ``request.header_timeout``
  event is logged, naming the client's address and nothing it sent.

``jrp serve`` passes ``http_protocol(settings.header_timeout)`` as uvicorn's ``http``: a
``functools.partial`` of a module-level class, so that uvicorn can pickle it into each worker
of ``--workers N``. The class is uvicorn's httptools protocol, the one uvicorn's ``auto``
picks: ``httptools`` comes with ``uvicorn[standard]`` (pyproject.toml, requirements.lock), and
without it this module does not import, so ``jrp serve`` never runs without the deadline on
uvicorn's h11 protocol. It relies on these of uvicorn's
``HttpToolsProtocol`` (pinned by ``tests/api/test_header_timeout.py``): the parser callbacks
``on_message_begin`` and ``on_headers_complete``, and the attributes ``transport``, ``loop``,
``client``, ``cycle`` (``response_complete``) and ``server_state.default_headers``.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any, cast

import structlog
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from engine import metrics
from engine.errors import Code

log = structlog.get_logger("jrp.request")

LINGER_SECONDS = 2.0
"""How long a connection answered 408 for a slow head stays open, half-closed, reading and
dropping what the client still sends."""


def timeout_answer(header_timeout: float, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The whole 408 response, in the contract's error envelope, closing the connection."""
    message = (
        f"the request line and headers did not arrive within {header_timeout:g} s"
        " (JRP_HEADER_TIMEOUT)"
    )
    body = json.dumps(
        {"error": {"code": Code.request_timeout.value, "message": message, "details": []}}
    ).encode()
    head = [b"HTTP/1.1 408 Request Timeout\r\n"]
    head += [name + b": " + value + b"\r\n" for name, value in default_headers]
    head += [
        b"content-type: application/json\r\n",
        b"content-length: %d\r\n" % len(body),
        b"connection: close\r\n\r\n",
    ]
    return b"".join(head) + body


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` whose request heads must arrive within ``header_timeout`` s."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout
        self.head_deadline: asyncio.TimerHandle | None = None
        self.head_started = False
        self.lingering = False

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return  # after the 408: read and dropped until the close
        super().data_received(data)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        # The first byte of a request: its head's deadline starts now (on a new connection it
        # started when the connection was accepted, and stays).
        super().on_message_begin()
        self.head_started = True
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        self.head_started = False
        super().on_headers_complete()

    def _arm(self) -> None:
        if self.head_deadline is None:
            self.head_deadline = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _head_timed_out(self) -> None:
        self.head_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head behind a response still being written (uvicorn stops reading
            # meanwhile): not the client's delay. Its deadline starts over.
            self._arm()
            return
        client = self.client
        log.warning(
            "request.header_timeout",
            client=f"{client[0]}:{client[1]}" if client else None,
            timeout_s=self.header_timeout,
            answered=408 if self.head_started else None,
        )
        if self.head_started:
            metrics.get().request_handled(metrics.UNMATCHED_ROUTE, 408)
            self.transport.write(
                timeout_answer(self.header_timeout, self.server_state.default_headers)
            )
            # A lingering close: closing at once with the client still sending makes the
            # kernel answer its next bytes with a reset, which can discard the 408 before
            # the client reads it. Half-close, drop what still arrives, close a moment later.
            self.lingering = True
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
            return
        self.transport.close()


def http_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """What ``jrp serve`` gives uvicorn as ``http=``: the protocol class with its timeout.

    uvicorn only calls it with the protocol's arguments (``server.py``'s ``create_protocol``),
    so a picklable ``partial`` serves where it types a class.
    """
    return cast(
        "type[asyncio.Protocol]",
        functools.partial(HeaderTimeoutProtocol, header_timeout=header_timeout),
    )
