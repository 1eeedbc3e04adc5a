"""The session cookie's codec on its own: signed, expiring, nothing readable but what it says."""

from __future__ import annotations

import pytest

from api.console.session import (
    ConsoleSecretError,
    SessionCodec,
    csrf_matches,
    secret_from_environment,
)


def test_round_trip_and_expiry() -> None:
    codec = SessionCodec(b"k" * 32)
    session = codec.new(b"\x01" * 32, now=1000)
    assert codec.decode(codec.encode(session), now=1000) == session
    assert codec.decode(codec.encode(session), now=session.expires) is None
    anonymous = codec.new(None, now=1000)
    assert anonymous.expires - 1000 < session.expires - 1000
    assert codec.decode(codec.encode(anonymous), now=1000) == anonymous


def test_other_secret_and_tampering_are_refused() -> None:
    codec = SessionCodec(b"k" * 32)
    value = codec.encode(codec.new(b"\x01" * 32, now=1000))
    assert SessionCodec(b"j" * 32).decode(value, now=1000) is None
    payload, signature = value.split(".")
    assert codec.decode(payload + "." + signature[::-1], now=1000) is None
    assert codec.decode("x" * 5000, now=1000) is None
    assert codec.decode("!!.??", now=1000) is None
    assert codec.decode(None) is None


def test_csrf_compare() -> None:
    session = SessionCodec(b"k" * 32).new(None)
    assert csrf_matches(session, session.csrf)
    assert not csrf_matches(session, None)
    assert not csrf_matches(session, session.csrf + "x")


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JRP_CONSOLE_SECRET", raising=False)
    assert secret_from_environment() != secret_from_environment()  # random per process
    monkeypatch.setenv("JRP_CONSOLE_SECRET", "s" * 40)
    assert secret_from_environment() == b"s" * 40
    monkeypatch.setenv("JRP_CONSOLE_SECRET", "short")
    with pytest.raises(ConsoleSecretError):
        secret_from_environment()
