"""The archive's signing identity: a private CA and an ES256 signing certificate made at ``init``.

The CA certificate is the trust anchor for the archive's C2PA labels and event signatures; anchors of
archives imported from bags go in ``keys/trusted/``.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_USAGE = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
              encipher_only=False, decipher_only=False)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def create(folder: Path, name: str) -> None:
    """Write ``ca.pem``, ``ca-key.pem``, ``signer.pem`` (signer + CA chain) and ``signer-key.pem`` (0600)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "trusted").mkdir(exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    def subject(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"daguerre archive {name}")])

    def builder(subj: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(subj).issuer_name(issuer).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
                .not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (builder(subject("archive CA"), subject("archive CA"), ca_key)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **_USAGE),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    signer = (builder(subject("archive signer"), ca.subject, key)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **_USAGE),
                             critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    (folder / "ca.pem").write_bytes(_pem(ca))
    (folder / "signer.pem").write_bytes(_pem(signer) + _pem(ca))
    for file, k in (("ca-key.pem", ca_key), ("signer-key.pem", key)):
        data = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
        fd = os.open(folder / file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)


@dataclass
class Keys:
    """The loaded identity: sign with ``sign``, check any known signer's signature with ``verify``."""

    folder: Path
    chain_pem: bytes
    key_pem: bytes
    fingerprint: str
    anchors_pem: bytes  # own CA + imported ones

    @classmethod
    def load(cls, folder: Path) -> Keys:
        chain = (folder / "signer.pem").read_bytes()
        return cls(folder, chain, (folder / "signer-key.pem").read_bytes(),
                   fingerprint(x509.load_pem_x509_certificate(chain)), _anchors(folder))

    def sign(self, data: bytes) -> str:
        key = serialization.load_pem_private_key(self.key_pem, None)
        return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()

    def signers(self) -> dict[str, x509.Certificate]:
        """Known signing certificates by fingerprint: this archive's and those of imported archives."""
        certs = [x509.load_pem_x509_certificates(self.chain_pem)[0]]
        for p in sorted((self.folder / "trusted").glob("*.pem")):
            certs += [c for c in x509.load_pem_x509_certificates(p.read_bytes()) if not _is_ca(c)]
        return {fingerprint(c): c for c in certs}

    def verify(self, data: bytes, signature: str, signer: str) -> bool:
        cert = self.signers().get(signer)
        if cert is None:
            return False
        try:
            cert.public_key().verify(base64.b64decode(signature), data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True

    def trust(self, chain_pem: bytes) -> None:
        """Add another archive's signer chain (its signer and CA) to the trusted anchors."""
        certs = x509.load_pem_x509_certificates(chain_pem)
        out = self.folder / "trusted" / f"{fingerprint(certs[-1])}.pem"
        if not out.exists():
            out.write_bytes(b"".join(_pem(c) for c in certs))
        self.anchors_pem = _anchors(self.folder)


def _anchors(folder: Path) -> bytes:
    certs = [c for p in [folder / "ca.pem", *sorted((folder / "trusted").glob("*.pem"))]
             for c in x509.load_pem_x509_certificates(p.read_bytes()) if _is_ca(c)]
    return b"".join(_pem(c) for c in certs)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
