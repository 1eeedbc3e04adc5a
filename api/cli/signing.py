"""The demo's signing key: made on first use beside the demo database (never in git)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import structlog

from engine.verifiable import keys


def demo_signing_key(db_url: str) -> Path:
    """``<database>.key`` beside a SQLite file (``./jrp-demo.key`` otherwise), made if missing."""
    url = sa.engine.make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database).with_suffix(".key")
    else:
        path = Path("jrp-demo.key")
    if not path.exists():
        key = keys.generate(path)
        structlog.get_logger("jrp").info(
            "serve.demo_signing_key", path=str(path), key_id=keys.key_id(key.public_key())
        )
    return path
