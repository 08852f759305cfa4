"""SASL/SCRAM and TLS (FLOORPULSE_KAFKA_SECURITY_*) against the project's own broker, configured
with a SCRAM user and TLS listeners (streams.localkafka.BrokerSecurity): every client floorpulse
has works over SCRAM, SCRAM over TLS and mutual TLS, wrong secrets are refused in one line, and
no secret ever shows in an output or a log.

One broker serves the three secured listeners (and its PLAINTEXT one, for the set-up); its CA and
certificates are made at test time (tests/integration/certificates.py), its user's password and
the client key's password are random, and reach the clients through the environment only.
"""

from __future__ import annotations

import copy
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from producers.routing import route_line
from streams.kafka_config import PLAINTEXT, SASL_PROTOCOLS, KafkaSecurity, SecurityProtocol
from streams.localkafka import BrokerSecurity, Ports, free_ports, start, stop
from streams.topics_admin import admin_client, ensure_topics
from tests.integration.certificates import Pki, make_pki
from tests.integration.live import WorkerProcess, wait_for
from tests.integration.test_worker import assert_matches_report, expected, read_lines, until_applied
from tests.scenarios import scenario_logs

pytestmark = pytest.mark.kafka

USER: Final = "floorpulse-test"
SECURED: Final[tuple[SecurityProtocol, ...]] = ("SASL_PLAINTEXT", "SASL_SSL", "SSL")
MAIN: Final = "import sys; from streams.cli import main; sys.exit(main())"


@dataclass(frozen=True)
class SecuredBroker:
    """A broker with a listener per secured protocol, and what clients need to reach each."""

    plaintext: str
    listeners: Mapping[SecurityProtocol, str]
    pki: Pki
    password: str
    key_password: str

    def env(self, protocol: SecurityProtocol, **changes: str | None) -> dict[str, str]:
        """The variables of a floorpulse command reaching the broker over `protocol` (with
        `changes`: a None value unsets one), on top of this process's environment."""
        wanted: dict[str, str | None] = {
            "FLOORPULSE_KAFKA_BOOTSTRAP": self.listeners[protocol],
            "FLOORPULSE_KAFKA_SECURITY_PROTOCOL": protocol,
        }
        if protocol in SASL_PROTOCOLS:
            wanted["FLOORPULSE_KAFKA_SECURITY_USERNAME"] = USER
            wanted["FLOORPULSE_KAFKA_SECURITY_PASSWORD"] = self.password
        if protocol != "SASL_PLAINTEXT":
            wanted["FLOORPULSE_KAFKA_SECURITY_CA_FILE"] = str(self.pki.ca)
        if protocol == "SSL":
            wanted["FLOORPULSE_KAFKA_SECURITY_CERT_FILE"] = str(self.pki.client_cert)
            wanted["FLOORPULSE_KAFKA_SECURITY_KEY_FILE"] = str(self.pki.client_key)
            wanted["FLOORPULSE_KAFKA_SECURITY_KEY_PASSWORD"] = self.key_password
        wanted.update({f"FLOORPULSE_KAFKA_SECURITY_{k.upper()}": v for k, v in changes.items()})
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORPULSE_KAFKA_")}
        env.update({k: v for k, v in wanted.items() if v is not None})
        return env

    def assert_no_secret_in(self, *texts: str) -> None:
        for text in texts:
            for secret in (self.password, self.key_password):
                assert secret not in text, "a secret was shown"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    """The module's broker: SASL_PLAINTEXT, SASL_SSL and SSL (client certificates required)
    listeners, a SCRAM user; stopped and wiped afterwards."""
    root = tmp_path_factory.mktemp("secured")
    password, key_password = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    pki = make_pki(root / "pki", key_password)
    plain, controller, *others = free_ports(2 + len(SECURED))
    ports = Ports(plain, controller, dict(zip(SECURED, others, strict=True)))
    security = BrokerSecurity({USER: password}, keystore=pki.broker_keystore, truststore=pki.ca)
    data_dir = root / "kafka"
    try:
        broker = start(data_dir, ports, security=security)
        yield SecuredBroker(
            plaintext=broker.bootstrap,
            listeners={p: f"127.0.0.1:{port}" for p, port in ports.secured.items()},
            pki=pki,
            password=password,
            key_password=key_password,
        )
    finally:
        stop(data_dir, wipe=True)


@pytest.fixture
def fresh(secured: SecuredBroker) -> SecuredBroker:
    """The broker without the topics and the worker group a previous test left."""
    with admin_client(secured.plaintext, timeout_s=10.0, security=PLAINTEXT) as admin:
        client: Any = admin
        names = admin.list_topics()
        topics = [t for t in names if not t.startswith("__")]
        if topics:
            client.delete_topics(topics, timeout_ms=10_000)
        if "__consumer_offsets" in names:
            # The worker's committed offsets: it stopped cleanly, so its group is empty.
            deleted = client.delete_groups(["floorpulse"])
            assert deleted["floorpulse"] in ("OK", "GroupIdNotFoundError"), deleted

    def gone() -> bool | None:
        with admin_client(secured.plaintext, timeout_s=10.0, security=PLAINTEXT) as admin:
            return not set(topics) & set(admin.list_topics()) or None

    wait_for("the deleted topics to go", gone)
    return secured


def floorpulse(env: Mapping[str, str], *args: str, timeout_s: float = 120.0) -> Done:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", MAIN, *args],
        capture_output=True,
        text=True,
        env=dict(env),
        timeout=timeout_s,
        check=False,
    )
    return Done(done.returncode, done.stdout, done.stderr, time.monotonic() - began)


def at_once(env: Mapping[str, str], *commands: tuple[str, ...]) -> list[Done]:
    """floorpulse commands run side by side (each may wait out its timeout)."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: floorpulse(env, *args), commands))


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str
    elapsed_s: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def security_of(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> KafkaSecurity:
    """The security a floorpulse command builds from `env`, built the same way here."""
    for name in [n for n in os.environ if n.startswith("FLOORPULSE_KAFKA_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("FLOORPULSE_KAFKA_"):
            monkeypatch.setenv(name, value)
    return KafkaSecurity.from_environment()


@pytest.mark.parametrize("protocol", SECURED)
def test_every_client_works_over(
    protocol: SecurityProtocol,
    fresh: SecuredBroker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = fresh.env(protocol)
    bootstrap = env["FLOORPULSE_KAFKA_BOOTSTRAP"]
    log = next(p for p in scenario_logs() if p.name.startswith("basic"))
    lines = read_lines(log)
    routable = [line for line in lines if route_line(line) is not None]
    # Replay leaves out the lines it cannot route, which the report counts as invalid.
    report = copy.deepcopy(expected(log))
    report["events"]["invalid"] -= len(lines) - len(routable)
    outputs: list[str] = []

    # kafka-python's admin client: `floorpulse kafka status`, and the topics created.
    status = floorpulse(env, "kafka", "status", "--data-dir", str(tmp_path / "none"))
    outputs.append(status.output)
    assert status.returncode == 0, status.output
    ensure_topics(bootstrap, 6, security=security_of(env, monkeypatch))

    # Faust (the worker), with aiokafka (replay) feeding it.
    (port,) = free_ports(1)
    worker = WorkerProcess(bootstrap, port, tmp_path / "worker.log")
    try:
        worker.start()
        replayed = floorpulse(env, "replay", str(log), "--speed", "max")
        outputs.append(replayed.output)
        assert replayed.returncode == 0, replayed.output
        samples = until_applied([worker], report)
        assert_matches_report(samples, report)

        # aiokafka's consumer (record) reads back what replay sent.
        out = tmp_path / "recorded.jsonl"
        recorded = floorpulse(env, "record", str(out), "--from-beginning", "--until-idle", "2")
        outputs.append(recorded.output)
        assert recorded.returncode == 0, recorded.output
        assert sorted(out.read_bytes().splitlines()) == sorted(r.rstrip(b"\n") for r in routable)

        # kafka-python's producer (the simulator): the worker sees its events too.
        simulated = floorpulse(
            env, "simulate", "--agents", "3", "--teams", "1", "--campaigns", "1",
            "--duration", "10m", "--speed", "max", "--source", "secure",
        )  # fmt: skip
        outputs.append(simulated.output)
        assert simulated.returncode == 0, simulated.output
        wait_for(
            "the simulated events on the worker",
            lambda: worker.samples().applied() > samples.applied() or None,
        )
    finally:
        worker.stop(signal.SIGTERM)
    fresh.assert_no_secret_in(*outputs, worker.log.read_text(errors="replace"))


def test_a_wrong_password_is_refused_in_one_line_and_never_shown(secured: SecuredBroker) -> None:
    wrong = "not-" + secrets.token_urlsafe(12)
    env = secured.env("SASL_PLAINTEXT", password=wrong)
    log = next(p for p in scenario_logs() if p.name.startswith("basic"))
    (port,) = free_ports(1)

    status, replay, worker = at_once(
        env,
        ("kafka", "status", "--timeout", "3"),
        ("replay", str(log), "--speed", "max"),
        ("worker", "--web-port", str(port)),
    )

    assert status.returncode == 1
    assert "did not let this client in over SASL_PLAINTEXT" in status.stdout
    for done, command in ((replay, "replay"), (worker, "worker")):
        assert done.returncode == 1, done.output
        refusal = [line for line in done.stderr.splitlines() if "did not let this client" in line]
        assert len(refusal) == 1, done.stderr
        assert refusal[0].startswith(f"floorpulse {command}: Kafka at "), refusal[0]
        assert "FLOORPULSE_KAFKA_SECURITY_" in refusal[0]
    for done in (status, replay, worker):
        assert wrong not in done.output
        secured.assert_no_secret_in(done.output)


def test_tls_needs_the_brokers_ca_and_a_client_certificate(secured: SecuredBroker) -> None:
    with ThreadPoolExecutor() as pool:
        untrusted, anonymous = pool.map(
            lambda env: floorpulse(env, "kafka", "status"),
            [
                secured.env("SASL_SSL", ca_file=str(secured.pki.other_ca)),
                secured.env("SSL", cert_file=None, key_file=None, key_password=None),
            ],
        )

    assert untrusted.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stdout, untrusted.output
    assert anonymous.returncode == 1
    assert "did not let this client in over SSL" in anonymous.stdout, anonymous.output
    secured.assert_no_secret_in(untrusted.output, anonymous.output)
