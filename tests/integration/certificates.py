"""TLS material made at test time, into a test's own directory: a CA, a broker certificate for
127.0.0.1 and a client certificate whose key is encrypted, all PEM, as Kafka (PEM keystores) and
Python's ssl module read them. Nothing here is committed or reused between runs."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Pki:
    """The files of one test's TLS set-up."""

    ca: Path
    """The CA's certificate: the clients' CA file and the broker's truststore."""
    broker_keystore: Path
    """The broker's unencrypted PKCS#8 key and its certificate, for a PEM keystore."""
    client_cert: Path
    client_key: Path
    """The client's key, encrypted with the password given to `make_pki`."""
    other_ca: Path
    """A CA that signed nothing here: trusting it alone, a client must refuse the broker."""


def make_pki(directory: Path, client_key_password: str) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _authority("floorpulse test CA")
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker_cert = _signed(
        broker_key,
        "127.0.0.1",
        ca_key,
        ca_cert,
        ExtendedKeyUsageOID.SERVER_AUTH,
        x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        ),
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = _signed(
        client_key, "floorpulse-test-client", ca_key, ca_cert, ExtendedKeyUsageOID.CLIENT_AUTH
    )
    _, other_cert = _authority("another CA")

    pki = Pki(
        ca=directory / "ca.pem",
        broker_keystore=directory / "broker-keystore.pem",
        client_cert=directory / "client.pem",
        client_key=directory / "client-key.pem",
        other_ca=directory / "other-ca.pem",
    )
    _write(pki.ca, _pem(ca_cert))
    _write(pki.other_ca, _pem(other_cert))
    _write(
        pki.broker_keystore,
        broker_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + _pem(broker_cert)
        + _pem(ca_cert),
    )
    _write(pki.client_cert, _pem(client_cert))
    _write(
        pki.client_key,
        client_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(client_key_password.encode()),
        ),
    )
    return pki


def _authority(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + _DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _signed(
    key: ec.EllipticCurvePrivateKey,
    name: str,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    usage: x509.ObjectIdentifier,
    alternative_names: x509.SubjectAlternativeName | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + _DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if alternative_names is not None:
        builder = builder.add_extension(alternative_names, critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)
