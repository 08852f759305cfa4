"""Process settings: one object built at start from `FLOORPULSE_*` variables and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A setting has a value floorpulse cannot use; the message names it and says what to fix."""


class Settings(BaseSettings):
    """Settings shared by every command. The engine never reads these: it takes plain arguments."""

    model_config = SettingsConfigDict(env_prefix="FLOORPULSE_", extra="ignore")

    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092",
        description="Kafka bootstrap address, host:port[,host:port...]",
    )
    partitions: int = Field(
        default=6, ge=1, le=1000, description="partitions of each topic floorpulse creates"
    )

    web_port: int = Field(
        default=6066, ge=1, le=65535, description="a worker's HTTP port, serving /metrics"
    )
    web_bind: str = Field(
        default="127.0.0.1", description="the address a worker's HTTP server listens on"
    )
    data_dir: Path | None = Field(
        default=None,
        description="a worker's own directory, where its tables live in RocksDB; unset, in memory",
    )
    future_limit_s: float = Field(
        default=86_400,
        gt=0,
        description="a worker dead-letters events stamped further ahead of its clock than this",
    )
    max_campaigns: int = Field(
        default=1000, ge=1, description="campaigns a worker's /metrics names; more are `other`"
    )
    max_queues: int = Field(
        default=1000, ge=1, description="queues a worker's /metrics names; more are `other`"
    )
    max_teams: int = Field(
        default=1000, ge=1, description="teams a worker's /metrics names; more are `other`"
    )

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_is_host_port(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"expected host:port[,host:port...], got {value!r}")
        return value


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning pydantic's report into one message per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"FLOORPULSE_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"bad setting: {problems}") from None
