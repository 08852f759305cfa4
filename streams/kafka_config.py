"""How floorpulse's Kafka clients reach the cluster: security from the settings, in each client
library's own words.

`KafkaSecurity` is the one description of a connection's security, built from the settings
(`FLOORPULSE_KAFKA_SECURITY_*`, streams/settings.py): a security protocol, SASL/SCRAM
credentials, TLS material. Every client takes it: `kafka_python()` gives the keyword arguments of
kafka-python (the topics admin, the simulator's producer), `aiokafka()` those of aiokafka
(replay, record), `faust_credentials()` the worker's Faust app its `broker_credentials`.

Secrets (the SCRAM password, the TLS key's password) stay in pydantic's SecretStr, which never
shows them in a repr, until the moment a client is built; nothing here logs or formats them, and
no error message built here includes one.

Exceptions:

    TlsMaterialError(ValueError)   a CA, certificate or key cannot be loaded; the message names
                                   the variable to fix (the settings report it as that setting)
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from pydantic import SecretStr

if TYPE_CHECKING:
    from streams.settings import Settings

SecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL"]
ScramMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256"]

SECURITY_PROTOCOLS: Final[tuple[SecurityProtocol, ...]] = get_args(SecurityProtocol)
SASL_PROTOCOLS: Final = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})
TLS_PROTOCOLS: Final = frozenset({"SSL", "SASL_SSL"})

_VAR: Final = "FLOORPULSE_KAFKA_SECURITY_"


class TlsMaterialError(ValueError):
    """A CA, certificate or key cannot be loaded; the message names the variable to fix."""


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    """How a client authenticates and encrypts: PLAINTEXT (the default) is neither."""

    protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: ScramMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    """PEM certificates of the CAs that sign the brokers' certificates; unset: the system's."""
    cert_file: Path | None = None
    """PEM certificate (chain) of this client, for brokers that ask for one (mutual TLS)."""
    key_file: Path | None = None
    """The PEM private key of `cert_file`, unless that file holds it too."""
    key_password: SecretStr | None = None
    check_hostname: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaSecurity:
        return cls(
            protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_security_sasl_mechanism,
            username=settings.kafka_security_username,
            password=settings.kafka_security_password,
            ca_file=settings.kafka_security_ca_file,
            cert_file=settings.kafka_security_cert_file,
            key_file=settings.kafka_security_key_file,
            key_password=settings.kafka_security_key_password,
            check_hostname=settings.kafka_security_check_hostname,
        )

    @classmethod
    def from_environment(cls) -> KafkaSecurity:
        """The security of every floorpulse command run in this environment (SettingsError
        naming the variable when one is bad)."""
        from streams.settings import load_settings

        return cls.from_settings(load_settings())

    @property
    def sasl(self) -> bool:
        return self.protocol in SASL_PROTOCOLS

    @property
    def tls(self) -> bool:
        return self.protocol in TLS_PROTOCOLS

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client TLS context (verifying the brokers' certificates), or None without TLS."""
        if not self.tls:
            return None
        return tls_context(
            ca_file=self.ca_file,
            cert_file=self.cert_file,
            key_file=self.key_file,
            key_password=self.key_password,
            check_hostname=self.check_hostname,
        )

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's KafkaAdminClient, KafkaProducer, KafkaConsumer."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls:
            options["ssl_context"] = self.ssl_context()
            options["ssl_check_hostname"] = self.check_hostname
        if self.sasl:
            options.update(self._sasl())
        return options

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's AIOKafkaProducer and AIOKafkaConsumer."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls:
            options["ssl_context"] = self.ssl_context()
        if self.sasl:
            options.update(self._sasl())
        return options

    def faust_credentials(self) -> Any:
        """Faust's `broker_credentials`: None for PLAINTEXT, else SASL or SSL credentials that
        its aiokafka transport turns into the same options as `aiokafka()`."""
        if self.protocol == "PLAINTEXT":
            return None
        import faust

        if self.sasl:
            return faust.SASLCredentials(
                username=self.username,
                password=_reveal(self.password),
                ssl_context=self.ssl_context(),
                mechanism=self.sasl_mechanism,
            )
        return faust.SSLCredentials(self.ssl_context())

    def _sasl(self) -> dict[str, Any]:
        return {
            "sasl_mechanism": self.sasl_mechanism,
            "sasl_plain_username": self.username,
            "sasl_plain_password": _reveal(self.password),
        }


PLAINTEXT: Final = KafkaSecurity()
"""No authentication, no encryption: the project's local broker on 127.0.0.1."""


def or_environment(security: KafkaSecurity | None) -> KafkaSecurity:
    """`security` if given, else the environment's (FLOORPULSE_KAFKA_SECURITY_*)."""
    return KafkaSecurity.from_environment() if security is None else security


def tls_context(
    *,
    ca_file: Path | None,
    cert_file: Path | None,
    key_file: Path | None,
    key_password: SecretStr | None,
    check_hostname: bool,
) -> ssl.SSLContext:
    """A client TLS context: the CAs to trust (the system's without `ca_file`) and, for brokers
    that ask, this client's certificate and key. TlsMaterialError names what cannot be loaded."""
    try:
        context = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
    except (ssl.SSLError, OSError) as exc:
        raise TlsMaterialError(
            f"{_VAR}CA_FILE: {ca_file} holds no PEM CA certificate ({_reason(exc)})"
        ) from None
    context.check_hostname = check_hostname
    if cert_file is not None:
        _load_client_certificate(context, cert_file, key_file, key_password)
    return context


class _NoPassword(Exception):
    pass


def _load_client_certificate(
    context: ssl.SSLContext, cert_file: Path, key_file: Path | None, key_password: SecretStr | None
) -> None:
    asked = False

    def password() -> str:
        # A callable, never None: without one, OpenSSL would prompt on the terminal.
        nonlocal asked
        asked = True
        if key_password is None:
            raise _NoPassword
        return key_password.get_secret_value()

    key = f"{_VAR}KEY_FILE" if key_file is not None else f"{_VAR}CERT_FILE"
    try:
        context.load_cert_chain(cert_file, key_file, password=password)
    except _NoPassword:
        raise TlsMaterialError(
            f"{key}: the private key is encrypted: set {_VAR}KEY_PASSWORD"
        ) from None
    except (ssl.SSLError, OSError) as exc:
        if isinstance(exc, ssl.SSLError) and exc.reason == "KEY_VALUES_MISMATCH":
            problem = f"{key}: the private key is not the key of {_VAR}CERT_FILE's certificate"
        elif asked:
            problem = f"{_VAR}KEY_PASSWORD does not decrypt the private key in {key}"
        elif key_file is None:
            problem = (
                f"{_VAR}CERT_FILE: {cert_file} needs a PEM certificate and its private key, "
                f"or set {_VAR}KEY_FILE ({_reason(exc)})"
            )
        else:
            problem = (
                f"{_VAR}CERT_FILE/{_VAR}KEY_FILE: not a PEM certificate and its PEM private key "
                f"({_reason(exc)})"
            )
        raise TlsMaterialError(problem) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def _reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()
