"""Console sessions: a signed, expiring cookie naming the caller by its key's digest.

The cookie ``jrp_console`` is ``<payload>.<signature>``, both base64url: the payload is JSON
``{"d": key digest (hex) or null, "c": CSRF token, "e": expiry (Unix seconds)}`` and the
signature its HMAC-SHA256 under the console secret. It never holds the key: the digest is
what the callers file stores, and it only names a caller while the callers file still lists
that digest. A session without ``d`` is anonymous: it carries the CSRF token of the login form.

The secret is ``JRP_CONSOLE_SECRET`` (at least 32 characters) or, when unset, random per
process: sessions then end when the process restarts. ``jrp serve --workers N`` sets one
random secret for all its workers when none is given, so a session works on every worker;
several independently started servers behind one load balancer need the variable set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass

COOKIE = "jrp_console"
LIFETIME_SECONDS = 8 * 3600
"""A signed-in session lasts a working day."""
ANONYMOUS_LIFETIME_SECONDS = 3600
"""The login form's CSRF session."""
SECRET_VARIABLE = "JRP_CONSOLE_SECRET"
MIN_SECRET_LENGTH = 32


class ConsoleSecretError(ValueError):
    """``JRP_CONSOLE_SECRET`` is set but too short."""


def secret_from_environment() -> bytes:
    """The signing secret: ``JRP_CONSOLE_SECRET``, or 32 random bytes for this process."""
    configured = os.environ.get(SECRET_VARIABLE)
    if configured is None or configured == "":
        return secrets.token_bytes(32)
    if len(configured) < MIN_SECRET_LENGTH:
        raise ConsoleSecretError(
            f"{SECRET_VARIABLE} must be at least {MIN_SECRET_LENGTH} characters"
        )
    return configured.encode("utf-8")


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    digest: bytes | None
    """SHA-256 of the caller's key; None for the anonymous session of the login form."""
    csrf: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    """Signs and checks session cookies with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def new(self, digest: bytes | None, *, now: float | None = None) -> ConsoleSession:
        """A fresh session (a new CSRF token) for ``digest`` or an anonymous one."""
        lifetime = LIFETIME_SECONDS if digest is not None else ANONYMOUS_LIFETIME_SECONDS
        expires = int(now if now is not None else time.time()) + lifetime
        return ConsoleSession(digest, secrets.token_urlsafe(24), expires)

    def encode(self, session: ConsoleSession) -> str:
        """The cookie value of ``session``."""
        payload = json.dumps(
            {
                "d": None if session.digest is None else session.digest.hex(),
                "c": session.csrf,
                "e": session.expires,
            },
            separators=(",", ":"),
        ).encode("utf-8")
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def decode(self, value: str | None, *, now: float | None = None) -> ConsoleSession | None:
        """The session a cookie holds, or None when missing, forged, malformed or expired."""
        if not value or value.count(".") != 1 or len(value) > 4096:
            return None
        payload_text, signature_text = value.split(".")
        try:
            payload = _unb64(payload_text)
            signature = _unb64(signature_text)
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(payload)
            digest = None if data["d"] is None else bytes.fromhex(data["d"])
            csrf, expires = data["c"], data["e"]
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(csrf, str) or not isinstance(expires, int):
            return None
        if expires <= (now if now is not None else time.time()):
            return None
        return ConsoleSession(digest, csrf, expires)

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()


def csrf_matches(session: ConsoleSession, sent: str | None) -> bool:
    """True when a form's CSRF field is the session's token (constant time)."""
    return sent is not None and hmac.compare_digest(session.csrf.encode(), sent.encode())
