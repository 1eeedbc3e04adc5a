"""Typed settings (``JRP_`` variables; CLI flags override them), validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_POLICY_DIR = PROJECT_ROOT / "memoranda"
DEFAULT_DB_URL = "sqlite:///./jrp.db"
SUPPORTED_DB_PREFIXES = ("sqlite://", "postgresql+psycopg://", "postgresql://")


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="JRP_", extra="ignore")

    db: str = Field(default=DEFAULT_DB_URL, description="SQLAlchemy URL of the store")
    policy: Path = Field(default=SHIPPED_POLICY_DIR, description="policy bundle directory")
    callers: Path | None = Field(default=None, description="callers YAML file")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    demo: bool = False
    signing_key: Path | None = Field(default=None, description="Ed25519 PEM key for checkpoints")
    accept_truncated_log: bool = False
    checkpoint_interval: float = Field(default=5.0, gt=0, le=10)
    public_rate: int = Field(
        default=60, ge=1, le=1_000_000, description="public requests per minute per address"
    )
    region: str | None = Field(
        default=None, max_length=32, description="this instance's 行政区划代码 (exchange feed)"
    )
    peers: Path | None = Field(default=None, description="peers file (docs/exchange.md)")
    pull_every: float | None = Field(
        default=None, ge=1, le=86_400, description="seconds between background pulls of the peers"
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        le=1024**3,
        description="largest request body (413 beyond)",
    )
    body_timeout: float = Field(
        default=30.0, gt=0, le=3600, description="seconds a request body may stall (408 beyond)"
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="seconds a request's line and headers may take to arrive (408 beyond)",
    )
    decision_writer: Literal["thread", "process"] = Field(
        default="process",
        description="where decision batches are committed: a child process (another core, "
        "off the serving process's GIL) or the serving process's writer thread",
    )
    checkpoint_runner: Literal["thread", "process"] = Field(
        default="process",
        description="where the checkpoint rounds run: a child process (another core, off the "
        "serving process's GIL) or a thread of the serving process",
    )
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("db")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(SUPPORTED_DB_PREFIXES):
            raise ValueError(
                "must be a SQLite (sqlite:///path) or PostgreSQL "
                "(postgresql+psycopg://user@host/db) URL"
            )
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; SQLAlchemy's bare scheme means psycopg2.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("decision_writer", "checkpoint_runner")
    @classmethod
    def _child_can_reach_the_database(cls, value: str, info: ValidationInfo) -> str:
        db = str(info.data.get("db", ""))
        if value == "process" and db.split("?")[0] in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError(
                "an in-memory SQLite database cannot be reached from another process: "
                f"set JRP_{str(info.field_name).upper()}=thread or use a database file"
            )
        return value

    @field_validator("policy")
    @classmethod
    def _policy_is_directory(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError(f"policy bundle directory {value} does not exist")
        return value

    @field_validator("signing_key")
    @classmethod
    def _signing_key_is_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"signing key file {value} does not exist")
        return value

    @field_validator("peers")
    @classmethod
    def _peers_is_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"peers file {value} does not exist")
        return value

    @field_validator("callers")
    @classmethod
    def _callers_is_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"callers file {value} does not exist")
        return value
