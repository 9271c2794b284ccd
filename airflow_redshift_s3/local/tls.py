"""A throw-away certificate authority and server certificate for the gateway's TLS.

Redshift requires TLS for IAM logins, and redshift_connector verifies the server against the system's
CAs (``load_default_certs``, which honours ``SSL_CERT_FILE``). The stack writes a bundle of the system's
CAs plus this local CA, so pointing ``SSL_CERT_FILE`` at it lets the real driver verify the gateway.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LocalTls:
    """Paths of the generated files."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    bundle: Path

    def server_context(self) -> ssl.SSLContext:
        """Return the server-side SSL context of the gateway."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert, self.server_key)
        return context


def create_local_tls(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> LocalTls:
    """Create a CA, a server certificate for ``hosts`` signed by it, and a CA bundle in ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "airflow-redshift-s3 local CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = LocalTls(
        ca_cert=directory / "local-ca.pem",
        server_cert=directory / "gateway.pem",
        server_key=directory / "gateway.key",
        bundle=directory / "ca-bundle.pem",
    )
    paths.ca_cert.write_bytes(ca_cert.public_bytes(pem))
    paths.server_cert.write_bytes(cert.public_bytes(pem))
    paths.server_key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    paths.server_key.chmod(0o600)
    paths.bundle.write_text(_system_ca_bundle() + "\n" + paths.ca_cert.read_text())
    return paths


def _system_ca_bundle() -> str:
    """Return the system's CA certificates (PEM), or an empty string when there is no bundle file."""
    system = ssl.get_default_verify_paths()
    for candidate in (system.cafile, system.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text()
    return ""
