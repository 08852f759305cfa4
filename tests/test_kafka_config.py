"""Kafka settings without a broker: replication by cluster size, the local cluster's layout and
configuration, and FLOORPULSE_KAFKA_SECURITY_* (each client's options, every bad setting named
in one line, no secret ever shown). The brokers themselves: tests/integration/test_cluster.py
and test_kafka_security.py."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from streams.errors import SettingsError
from streams.kafka_config import KafkaSecurity
from streams.localkafka import BrokerSecurity, DataDir, Ports, cluster_ports, server_properties
from streams.settings import Settings, load_settings
from streams.topics_admin import Replication
from tests.integration.certificates import Pki, make_pki

VAR = "FLOORPULSE_KAFKA_SECURITY_"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pki, str]:
    key_password = secrets.token_urlsafe(12)
    return make_pki(tmp_path_factory.mktemp("pki"), key_password), key_password


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [n for n in os.environ if n.startswith("FLOORPULSE_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def settings_problem(monkeypatch: pytest.MonkeyPatch, **variables: str) -> str:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    return str(raised.value)


@pytest.mark.parametrize(
    ("brokers", "factor", "min_insync", "expected"),
    [
        (1, None, None, (1, 1)),
        (2, None, None, (2, 1)),
        (3, None, None, (3, 2)),
        (5, None, None, (3, 2)),
        (5, 5, None, (5, 2)),
        (3, 2, None, (2, 1)),
        (3, 3, 3, (3, 3)),
    ],
)
def test_replication_follows_the_cluster_unless_set(
    brokers: int, factor: int | None, min_insync: int | None, expected: tuple[int, int]
) -> None:
    chosen = Replication.for_cluster(brokers, factor, min_insync)

    assert (chosen.factor, chosen.min_insync) == expected
    assert chosen.topic_config() == {"min.insync.replicas": str(expected[1])}


def test_a_cluster_takes_consecutive_ports() -> None:
    assert cluster_ports(9092, 3) == [Ports(9092, 9095), Ports(9093, 9096), Ports(9094, 9097)]
    assert cluster_ports(9092, 1) == [Ports(9092, 9093)]
    assert cluster_ports(9092, 3, 19000) == [
        Ports(9092, 19000),
        Ports(9093, 19001),
        Ports(9094, 19002),
    ]


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if not line.startswith("#"))


def test_a_cluster_node_knows_the_quorum_and_replicates_three_times(tmp_path: Path) -> None:
    voters = "1@127.0.0.1:9095,2@127.0.0.1:9096,3@127.0.0.1:9097"
    node = properties(
        server_properties(
            DataDir.at(tmp_path / "node-2"), Ports(9093, 9096), node_id=2, voters=voters, nodes=3
        )
    )

    assert node["node.id"] == "2"
    assert node["controller.quorum.voters"] == voters
    assert node["listeners"] == "PLAINTEXT://127.0.0.1:9093,CONTROLLER://127.0.0.1:9096"
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    ):
        assert node[key] == "3", key
    assert node["min.insync.replicas"] == node["transaction.state.log.min.isr"] == "2"


def test_a_single_node_replicates_once(tmp_path: Path) -> None:
    node = properties(server_properties(DataDir.at(tmp_path), Ports(9092, 9093)))

    assert node["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert node["offsets.topic.replication.factor"] == node["min.insync.replicas"] == "1"
    assert "broker.session.timeout.ms" not in node


def test_secured_listeners_come_beside_the_plaintext_one(tmp_path: Path) -> None:
    password = secrets.token_urlsafe(12)
    security = BrokerSecurity(
        {"alice": password}, keystore=tmp_path / "keystore.pem", truststore=tmp_path / "ca.pem"
    )
    ports = Ports(9092, 9093, {"SASL_PLAINTEXT": 9094, "SSL": 9095})
    text = server_properties(DataDir.at(tmp_path), ports, security=security)
    node = properties(text)

    assert node["advertised.listeners"] == (
        "PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9094,SSL://127.0.0.1:9095"
    )
    assert node["listener.security.protocol.map"] == (
        "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT"
    )
    assert node["inter.broker.listener.name"] == "PLAINTEXT"
    assert node["sasl.enabled.mechanisms"] == "SCRAM-SHA-512,SCRAM-SHA-256"
    assert "ScramLoginModule" in node["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"]
    assert node["ssl.keystore.type"] == node["ssl.truststore.type"] == "PEM"
    assert node["listener.name.ssl.ssl.client.auth"] == "required"
    assert password not in text
    assert password not in repr(security)


def test_replication_settings_are_checked(clean_env: pytest.MonkeyPatch) -> None:
    problem = settings_problem(
        clean_env, FLOORPULSE_REPLICATION_FACTOR="1", FLOORPULSE_MIN_INSYNC_REPLICAS="2"
    )

    assert problem.startswith("bad setting: FLOORPULSE_MIN_INSYNC_REPLICAS: 2 is more than")
    clean_env.delenv("FLOORPULSE_MIN_INSYNC_REPLICAS")
    assert load_settings().min_insync_replicas is None


def test_plaintext_is_the_default_and_needs_nothing(clean_env: pytest.MonkeyPatch) -> None:
    security = KafkaSecurity.from_settings(load_settings())

    assert security.protocol == "PLAINTEXT"
    assert security.kafka_python() == security.aiokafka() == {"security_protocol": "PLAINTEXT"}
    assert security.faust_credentials() is None


@pytest.mark.parametrize(
    ("variables", "named", "says"),
    [
        ({"PROTOCOL": "SASL"}, "PROTOCOL", "Input should be"),
        ({"PROTOCOL": "SASL_PLAINTEXT"}, "USERNAME", "required with"),
        ({"PROTOCOL": "SASL_SSL", "USERNAME": "u"}, "PASSWORD", "required with"),
        ({"PROTOCOL": "SASL_SSL", "USERNAME": "u", "PASSWORD": ""}, "PASSWORD", "required"),
        ({"USERNAME": "u"}, "USERNAME", "has no SASL"),
        ({"PASSWORD": "p"}, "PASSWORD", "has no SASL"),
        ({"PROTOCOL": "SASL_PLAINTEXT", "USERNAME": "u", "PASSWORD": "p", "CA_FILE": "CA"},
         "CA_FILE", "has no TLS"),
        ({"PROTOCOL": "SSL", "SASL_MECHANISM": "PLAIN"}, "SASL_MECHANISM", "Input should be"),
        ({"PROTOCOL": "SSL", "CA_FILE": "/no/such.pem"}, "CA_FILE", "does not point to a file"),
        ({"PROTOCOL": "SSL", "CA_FILE": "KEY"}, "CA_FILE", "holds no PEM CA certificate"),
        ({"PROTOCOL": "SSL", "KEY_FILE": "KEY"}, "KEY_FILE", "without"),
        ({"PROTOCOL": "SSL", "CERT_FILE": "CERT", "KEY_FILE": "KEY"}, "KEY_FILE", "encrypted"),
        ({"PROTOCOL": "SSL", "CERT_FILE": "CERT"}, "CERT_FILE", "private key"),
        ({"PROTOCOL": "SSL", "CERT_FILE": "CERT", "KEY_FILE": "BROKER"}, "KEY_FILE",
         "not the key"),
    ],
)  # fmt: skip
def test_a_bad_security_setting_is_named_in_one_line(
    variables: dict[str, str],
    named: str,
    says: str,
    pki: tuple[Pki, str],
    clean_env: pytest.MonkeyPatch,
) -> None:
    files, _ = pki
    paths = {"CA": files.ca, "KEY": files.client_key, "CERT": files.client_cert}
    paths["BROKER"] = files.broker_keystore
    problem = settings_problem(
        clean_env,
        **{VAR + name: str(paths.get(value, value)) for name, value in variables.items()},
    )

    assert problem.startswith(f"bad setting: {VAR}{named}: "), problem
    assert says in problem, problem
    assert "\n" not in problem


def test_a_wrong_key_password_is_named_and_never_shown(
    pki: tuple[Pki, str], clean_env: pytest.MonkeyPatch
) -> None:
    files, right = pki
    wrong = "wrong-" + secrets.token_urlsafe(8)
    problem = settings_problem(
        clean_env,
        **{
            VAR + "PROTOCOL": "SSL",
            VAR + "CERT_FILE": str(files.client_cert),
            VAR + "KEY_FILE": str(files.client_key),
            VAR + "KEY_PASSWORD": wrong,
        },
    )

    assert problem == (
        f"bad setting: {VAR}KEY_PASSWORD does not decrypt the private key in {VAR}KEY_FILE"
    )
    assert wrong not in problem and right not in problem


def test_each_client_gets_the_same_security(
    pki: tuple[Pki, str], clean_env: pytest.MonkeyPatch
) -> None:
    import faust

    files, key_password = pki
    password = secrets.token_urlsafe(12)
    for name, value in {
        "PROTOCOL": "SASL_SSL",
        "SASL_MECHANISM": "SCRAM-SHA-256",
        "USERNAME": "alice",
        "PASSWORD": password,
        "CA_FILE": str(files.ca),
        "CERT_FILE": str(files.client_cert),
        "KEY_FILE": str(files.client_key),
        "KEY_PASSWORD": key_password,
    }.items():
        clean_env.setenv(VAR + name, value)
    settings = load_settings()
    security = KafkaSecurity.from_settings(settings)

    sasl = {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "alice",
        "sasl_plain_password": password,
    }
    for options in (security.kafka_python(), security.aiokafka()):
        context = options.pop("ssl_context")
        options.pop("ssl_check_hostname", None)
        assert options == sasl
        assert context.check_hostname
    credentials = security.faust_credentials()
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password) == ("alice", password)
    assert credentials.mechanism.value == "SCRAM-SHA-256"
    assert credentials.protocol.value == "SASL_SSL"
    for shown in (repr(settings), str(settings), repr(security)):
        assert password not in shown and key_password not in shown


def test_the_worker_is_idempotent_with_acks_all_and_replicated(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    from streams.pipeline.transport import Transport
    from streams.pipeline.worker import Worker

    password = secrets.token_urlsafe(12)
    settings = Settings(
        kafka_bootstrap="127.0.0.1:9092,127.0.0.1:9093",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_security_username="alice",
        kafka_security_password=password,  # type: ignore[arg-type]
        replication_factor=3,
        min_insync_replicas=2,
        data_dir=tmp_path,
    )
    app = Worker(settings).app

    assert isinstance(app.transport, Transport)
    assert app.conf.topic_replication_factor == 3
    assert app.conf.producer_acks == -1
    # What the worker's producer gives aiokafka's AIOKafkaProducer (Producer._new_producer).
    producer = app.producer
    options = {
        **producer._settings_default(),
        **producer._settings_auth(),
        **producer._settings_extra(),
    }
    assert (options["acks"], options["enable_idempotence"]) == ("all", True)
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_password"] == password


def test_a_bad_setting_stops_a_command_at_start_in_one_line(tmp_path: Path) -> None:
    password = secrets.token_urlsafe(12)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORPULSE_")}
    env |= {VAR + "PROTOCOL": "SSL", VAR + "PASSWORD": password}

    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"floorpulse: bad setting: {VAR}PASSWORD: set, but {VAR}PROTOCOL=SSL has no SASL "
        "(SASL_PLAINTEXT or SASL_SSL use it)"
    ]
    assert password not in done.stdout + done.stderr
