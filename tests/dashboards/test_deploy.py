"""deploy/compose.yaml and Grafana's provisioning, checked without Docker: they parse, every file
they mount exists, every image is pinned, and the pieces name each other consistently."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dashboards.build import DEFAULT_OUT, rendered
from dashboards.publish import FOLDER_UID
from tests.dashboards.contract import ROOT
from tests.dashboards.rules import PROMETHEUS, load

DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
# An exact release: a version with at least major.minor.patch, never "latest" or a bare major.
PINNED = re.compile(r"^[\w./-]+:v?\d+\.\d+\.\d+(-[\w.]+)?$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = load(COMPOSE)
    assert isinstance(document, dict) and document["services"]
    return document


def mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    """Host paths (relative to the compose file) and where they appear in the container."""
    found = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            found.append(((DEPLOY / source).resolve(), target))
    return found


def test_every_service_has_a_pinned_image_or_a_build(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            context = (DEPLOY / service["build"]["context"]).resolve()
            assert (context / service["build"]["dockerfile"]).is_file(), name
        else:
            assert PINNED.match(service["image"]), f"{name}: {service['image']} is not pinned"


def test_the_dockerfile_base_image_is_pinned() -> None:
    bases = re.findall(r"^FROM\s+(\S+)", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)
    assert bases and all(re.match(r"^[\w./-]+:\d+\.\d+\.\d+[\w.-]*$", b) for b in bases), bases


def test_every_mounted_file_exists(compose: dict[str, Any]) -> None:
    checked = 0
    for name, service in compose["services"].items():
        for source, _ in mounts(service):
            assert source.exists(), f"{name} mounts {source}, which does not exist"
            checked += 1
    assert checked >= 5


def test_kafka_is_the_version_the_local_broker_runs(compose: dict[str, Any]) -> None:
    pom = (DEPLOY / "kafka" / "pom.xml").read_text()
    version = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    assert version is not None
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{version.group(1)}"


def test_grafana_provisions_the_committed_dashboards(compose: dict[str, Any]) -> None:
    grafana = dict((target, source) for source, target in mounts(compose["services"]["grafana"]))
    provider = load(DEPLOY / "grafana/provisioning/dashboards/floorpulse.yml")["providers"][0]
    assert grafana[provider["options"]["path"]] == DEFAULT_OUT
    assert provider["folderUid"] == FOLDER_UID
    home = compose["services"]["grafana"]["environment"][
        "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"
    ]
    directory, _, file_name = home.rpartition("/")
    assert directory == provider["options"]["path"] and file_name in rendered()
    assert grafana["/etc/grafana/provisioning"] == DEPLOY / "grafana" / "provisioning"


def test_grafana_reads_the_compose_prometheus(compose: dict[str, Any]) -> None:
    (source,) = load(DEPLOY / "grafana/provisioning/datasources/prometheus.yml")["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"]
    host = re.match(r"http://([\w-]+):9090$", source["url"])
    assert host is not None and host.group(1) in compose["services"]
    scrape = load(PROMETHEUS / "prometheus.yml")["global"]["scrape_interval"]
    assert source["jsonData"]["timeInterval"] == scrape


def test_prometheus_scrapes_the_worker_locally_and_in_compose(compose: dict[str, Any]) -> None:
    config = load(PROMETHEUS / "prometheus.yml")
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "floorpulse-worker"
    (pattern,) = job["file_sd_configs"][0]["files"]
    local = [t for p in PROMETHEUS.glob(pattern) for group in load(p) for t in group["targets"]]
    assert local == ["127.0.0.1:6066"]
    prometheus = dict((t, s) for s, t in mounts(compose["services"]["prometheus"]))
    targets_dir = prometheus["/etc/prometheus/" + pattern.split("/")[0]]
    in_compose = [t for p in targets_dir.glob("*.yml") for g in load(p) for t in g["targets"]]
    assert in_compose == ["worker:6066"] and "worker" in compose["services"]
    assert prometheus["/etc/prometheus/rules"] == PROMETHEUS / "rules"


def test_the_worker_listens_where_prometheus_can_reach_it(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert worker["command"] == ["worker"]
    assert worker["environment"]["FLOORPULSE_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert worker["environment"]["FLOORPULSE_WEB_BIND"] == "0.0.0.0"


def test_published_ports_stay_on_this_machine(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} to the network"
