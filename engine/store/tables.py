"""Tables. The event log is the source of truth; every other table is a projection of it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JsonColumn = sa.JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigSerial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC on every database (SQLite would hand back naive datetimes)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: dt.datetime | None, dialect: sa.Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: sa.Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class Event(SQLModel, table=True):
    """One state change, appended once and never updated; ``seq`` orders the whole log."""

    __tablename__ = "event"

    seq: int | None = Field(default=None, sa_column=sa.Column(BigSerial, primary_key=True))
    type: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    subject_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), index=True))
    payload: dict[str, Any] = Field(sa_column=sa.Column(JsonColumn, nullable=False))
    actor: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    department: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    recorded_at: dt.datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


class PolicyVersionRecord(SQLModel, table=True):
    """A policy bundle exactly as loaded, keyed by its content version."""

    __tablename__ = "policy_version"

    version: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    files: dict[str, str] = Field(sa_column=sa.Column(JsonColumn, nullable=False))
    first_loaded_at: dt.datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
