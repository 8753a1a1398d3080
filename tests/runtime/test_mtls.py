"""Mutual TLS between services: a service that requires client certificates.

A CA made here signs one certificate for the served service and one for its
caller; the service runs as ``devgen serve`` with the TLS settings, and the
kit's service client calls it with and without a certificate.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devgen.kit.client import ServiceClient
from devgen.kit.errors import ServiceUnavailable
from devgen.kit.settings import ClientSettings, TlsSettings
from devgen.kit.tls import client_context
from tests.helpers import eventually_sync
from tests.runtime.processes import free_port, isolated_env

pytestmark = pytest.mark.slow

_ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


class Authority:
    """A certificate authority for one test."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _ONE_DAY)
            .not_valid_after(now + _ONE_DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.cert = directory / f"{name}-ca.pem"
        self.cert.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str) -> Issued:
        """A certificate for service ``name`` on 127.0.0.1, for serving and for calling."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _ONE_DAY)
            .not_valid_after(now + _ONE_DAY)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        issued = Issued(self.directory / f"{name}.pem", self.directory / f"{name}-key.pem")
        issued.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        issued.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return issued


@pytest.fixture
def ca(tmp_path: Path) -> Authority:
    return Authority(tmp_path, "devgen")


@pytest.fixture
def served(tmp_path: Path, ca: Authority) -> Iterator[str]:
    """``devgen serve codegen`` requiring client certificates signed by ``ca``; its URL."""
    certificate = ca.issue("codegen")
    port = free_port()
    env = isolated_env(
        tmp_path / "data",
        DEVGEN_TLS_CERT_FILE=str(certificate.cert),
        DEVGEN_TLS_KEY_FILE=str(certificate.key),
        DEVGEN_TLS_CA_FILE=str(ca.cert),
        DEVGEN_TLS_REQUIRE_CLIENT_CERT="true",
    )
    output = (tmp_path / "codegen.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "devgen.cli", "serve", "codegen", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        # Listening (a TLS handshake without a client certificate fails, but only once up).
        eventually_sync(
            lambda: process.poll() is None and _handshake_refused(url, ca),
            timeout=90,
            what="codegen listening with TLS",
        )
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        output.close()


def _handshake_refused(url: str, ca: Authority) -> bool:
    try:
        httpx.get(f"{url}/health", verify=ssl.create_default_context(cafile=ca.cert), timeout=2)
    except httpx.ConnectError as exc:
        # "Connection refused": not listening yet; anything else is the TLS refusal.
        return "Connection refused" not in str(exc)
    except (httpx.ReadError, httpx.RemoteProtocolError):
        return True  # TLS 1.3: the refusal arrives after the handshake, on the first read
    return False


def _client(url: str, tls: TlsSettings) -> ServiceClient:
    return ServiceClient(
        "codegen",
        base_url=url,
        settings=ClientSettings(client_retry_attempts=1),
        tls=client_context(tls),
    )


async def test_a_call_with_the_service_certificate_is_accepted(served, ca):
    caller = ca.issue("orchestrator")
    client = _client(
        served, TlsSettings(tls_cert_file=caller.cert, tls_key_file=caller.key, tls_ca_file=ca.cert)
    )
    try:
        response = await client.get("/health")
    finally:
        await client.aclose()
    assert response.status_code == 200
    assert response.json()["service"] == "codegen"


async def test_a_call_without_a_client_certificate_is_refused(served, ca):
    client = _client(served, TlsSettings(tls_ca_file=ca.cert))
    try:
        with pytest.raises(ServiceUnavailable, match="could not be reached"):
            await client.get("/health")
    finally:
        await client.aclose()


async def test_a_certificate_from_another_ca_is_refused(served, ca, tmp_path):
    stranger = Authority(tmp_path, "stranger").issue("intruder")
    client = _client(
        served,
        TlsSettings(tls_cert_file=stranger.cert, tls_key_file=stranger.key, tls_ca_file=ca.cert),
    )
    try:
        with pytest.raises(ServiceUnavailable, match="could not be reached"):
            await client.get("/health")
    finally:
        await client.aclose()


def test_requiring_client_certificates_needs_a_certificate_and_a_ca():
    with pytest.raises(ValueError, match="DEVGEN_TLS_CERT_FILE"):
        TlsSettings(tls_require_client_cert=True)
