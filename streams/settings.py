"""Process settings: one object built at start from `FLOORPULSE_*` variables and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, FilePath, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.errors import SettingsError
from streams.kafka_config import (
    SASL_PROTOCOLS,
    TLS_PROTOCOLS,
    ScramMechanism,
    SecurityProtocol,
    TlsMaterialError,
    tls_context,
)


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
    replication_factor: int | None = Field(
        default=None,
        ge=1,
        le=16,
        description="replicas of each topic and changelog floorpulse creates; unset: 3 on a "
        "cluster of three brokers or more, else one per broker",
    )
    min_insync_replicas: int | None = Field(
        default=None,
        ge=1,
        le=16,
        description="the min.insync.replicas of those topics: replicas that must hold a write "
        "before it is acknowledged (producers use acks=all); unset: 2 with three replicas or "
        "more, else 1",
    )

    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT",
        description="how clients reach Kafka: PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL",
    )
    kafka_security_sasl_mechanism: ScramMechanism = Field(
        default="SCRAM-SHA-512", description="the SASL mechanism: SCRAM-SHA-512 or SCRAM-SHA-256"
    )
    kafka_security_username: str | None = Field(
        default=None, description="the SCRAM user (with SASL_PLAINTEXT or SASL_SSL)"
    )
    kafka_security_password: SecretStr | None = Field(
        default=None, description="the SCRAM user's password: from the environment only"
    )
    kafka_security_ca_file: FilePath | None = Field(
        default=None,
        description="PEM certificates of the CAs that sign the brokers' (with SSL or SASL_SSL); "
        "unset: the system's",
    )
    kafka_security_cert_file: FilePath | None = Field(
        default=None,
        description="this client's PEM certificate, for brokers that require one (mutual TLS)",
    )
    kafka_security_key_file: FilePath | None = Field(
        default=None, description="the PEM private key of that certificate, if in its own file"
    )
    kafka_security_key_password: SecretStr | None = Field(
        default=None, description="the password of an encrypted private key: environment only"
    )
    kafka_security_check_hostname: bool = Field(
        default=True, description="whether a broker's certificate must name the host dialled"
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
    retention_days: float = Field(
        default=35,
        ge=1,
        description="a worker's state and /metrics let go of campaigns, queues, people and teams"
        " with no event for this many days of event time (beyond the 30-day abandon ratio); at"
        " least 1, so that nobody is forgotten between two shifts",
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

    @model_validator(mode="after")
    def _replication_is_coherent(self) -> Settings:
        factor, least = self.replication_factor, self.min_insync_replicas
        if factor is not None and least is not None and least > factor:
            raise ValueError(
                f"FLOORPULSE_MIN_INSYNC_REPLICAS: {least} is more than "
                f"FLOORPULSE_REPLICATION_FACTOR ({factor}): no write could ever be acknowledged"
            )
        return self

    @model_validator(mode="after")
    def _security_is_coherent(self) -> Settings:
        """Every setting the protocol needs is there, none it would ignore is set, and the TLS
        material loads. Messages name variables, never a secret's value."""
        var, protocol = "FLOORPULSE_KAFKA_SECURITY_", self.kafka_security_protocol
        sasl, tls = protocol in SASL_PROTOCOLS, protocol in TLS_PROTOCOLS
        credentials = {
            "USERNAME": self.kafka_security_username,
            "PASSWORD": self.kafka_security_password,
        }
        material = {
            "CA_FILE": self.kafka_security_ca_file,
            "CERT_FILE": self.kafka_security_cert_file,
            "KEY_FILE": self.kafka_security_key_file,
            "KEY_PASSWORD": self.kafka_security_key_password,
        }
        for name, value in credentials.items():
            if sasl and not (value.get_secret_value() if isinstance(value, SecretStr) else value):
                raise ValueError(f"{var}{name}: required with {var}PROTOCOL={protocol}")
            if not sasl and value is not None:
                raise ValueError(
                    f"{var}{name}: set, but {var}PROTOCOL={protocol} has no SASL "
                    "(SASL_PLAINTEXT or SASL_SSL use it)"
                )
        for name, given in material.items():
            if not tls and given is not None:
                raise ValueError(
                    f"{var}{name}: set, but {var}PROTOCOL={protocol} has no TLS "
                    "(SSL or SASL_SSL use it)"
                )
        if self.kafka_security_key_file is not None and self.kafka_security_cert_file is None:
            raise ValueError(f"{var}KEY_FILE: set without {var}CERT_FILE, its certificate")
        if tls:
            try:
                tls_context(
                    ca_file=self.kafka_security_ca_file,
                    cert_file=self.kafka_security_cert_file,
                    key_file=self.kafka_security_key_file,
                    key_password=self.kafka_security_key_password,
                    check_hostname=self.kafka_security_check_hostname,
                )
            except TlsMaterialError as exc:
                raise ValueError(str(exc)) from None
        return self


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning pydantic's report into one message per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(_problem(err) for err in exc.errors())
        raise SettingsError(f"bad setting: {problems}") from None


def _problem(err: ErrorDetails) -> str:
    """One variable's problem. Checks across settings name their variables themselves."""
    if not err["loc"]:
        return str(err.get("ctx", {}).get("error") or err["msg"])
    return f"FLOORPULSE_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
