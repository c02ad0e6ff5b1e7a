"""The archive's signing identity (a private CA and an ES256 signing certificate made at ``init``) and its trust.

The archive's own key is always trusted. Another archive's signer chain (its signing certificate and the CA
that issued it) is trusted only by an explicit act (``archive trust add`` or ``import-bag --trust-signer``)
and then lives in ``keys/trusted/``; chains that came in bags without that act are kept in ``keys/foreign/``
so that their signatures can still be checked, and reported as made by an archive you do not trust.
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

from daguerre.archive.errors import ArchiveError

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


@dataclass(frozen=True)
class Chain:
    """An archive's signing certificate and the CA certificate that issued it (what a bag's signer.pem holds)."""

    signer: x509.Certificate
    ca: x509.Certificate

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the signing certificate: what events record as their signer."""
        return fingerprint(self.signer)

    @property
    def organisation(self) -> str:
        names = self.signer.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return str(names[0].value) if names else self.signer.subject.rfc4514_string()

    def pem(self) -> bytes:
        return _pem(self.signer) + _pem(self.ca)

    def ca_pem(self) -> bytes:
        return _pem(self.ca)


def chains(pem: bytes, what: str) -> list[Chain]:
    """Every signing certificate in ``pem`` paired with the CA in it that issued it; one-line error otherwise."""
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise ArchiveError(f"{what}: not a PEM file of X.509 certificates") from None
    cas = [c for c in certs if _is_ca(c)]
    out = []
    for cert in (c for c in certs if not _is_ca(c)):
        issuer = next((ca for ca in cas if _issued_by(cert, ca)), None)
        if issuer is None:
            raise ArchiveError(f"{what}: the certificate {fingerprint(cert)} comes without the CA that issued it")
        out.append(Chain(cert, issuer))
    if not out:
        raise ArchiveError(f"{what}: holds no signing certificate (only CA certificates)")
    return out


def read_chain(path: Path) -> Chain:
    """The one signer chain in a PEM file such as a bag's ``data/metadata/signer.pem``."""
    try:
        pem = path.read_bytes()
    except OSError as e:
        raise ArchiveError(f"{path}: {e.strerror or e}") from None
    found = chains(pem, str(path))
    if len(found) > 1:
        raise ArchiveError(f"{path}: holds {len(found)} signing certificates; give one archive's chain")
    return found[0]


def signature_valid(cert: x509.Certificate, data: bytes, signature: str) -> bool:
    try:
        cert.public_key().verify(base64.b64decode(signature), data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@dataclass
class Keys:
    """The loaded identity: ``sign`` with it; ``signers`` are trusted, ``known`` can be checked."""

    folder: Path
    chain_pem: bytes
    key_pem: bytes
    fingerprint: str
    anchors_pem: bytes  # own CA + the CAs of trusted archives (C2PA trust anchors)

    @classmethod
    def load(cls, folder: Path) -> Keys:
        chain = (folder / "signer.pem").read_bytes()
        keys = cls(folder, chain, (folder / "signer-key.pem").read_bytes(),
                   fingerprint(x509.load_pem_x509_certificate(chain)), b"")
        keys.anchors_pem = b"".join(c.ca_pem() for c in keys.trusted_chains())
        return keys

    def sign(self, data: bytes) -> str:
        key = serialization.load_pem_private_key(self.key_pem, None)
        return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()

    def own_chain(self) -> Chain:
        return chains(self.chain_pem, str(self.folder / "signer.pem"))[0]

    def trusted_chains(self) -> list[Chain]:
        """This archive's chain first, then those trusted by an explicit act."""
        return [self.own_chain(), *self._folder_chains("trusted")]

    def foreign_chains(self) -> list[Chain]:
        """Chains seen in imported bags and not trusted."""
        trusted = self.signers()
        return [c for c in self._folder_chains("foreign") if c.fingerprint not in trusted]

    def signers(self) -> dict[str, x509.Certificate]:
        """Trusted signing certificates by fingerprint: this archive's and those of archives it trusts."""
        return {c.fingerprint: c.signer for c in self.trusted_chains()}

    def known_chains(self) -> dict[str, Chain]:
        """Every chain whose signatures can be checked here, trusted or not, by signer fingerprint."""
        return {c.fingerprint: c for c in [*self.foreign_chains(), *self.trusted_chains()]}

    def known(self) -> dict[str, x509.Certificate]:
        """Every signing certificate whose signatures can be checked here, trusted or not, by fingerprint."""
        return {fp: c.signer for fp, c in self.known_chains().items()}

    def trust(self, chain: Chain) -> bool:
        """Trust another archive's signer chain; False if it was trusted already."""
        if chain.fingerprint in self.signers():
            return False
        _write(self.folder / "trusted" / f"{chain.fingerprint}.pem", chain.pem())
        (self.folder / "foreign" / f"{chain.fingerprint}.pem").unlink(missing_ok=True)
        self.anchors_pem = b"".join(c.ca_pem() for c in self.trusted_chains())
        return True

    def distrust(self, ref: str) -> Chain:
        """Stop trusting the signer whose fingerprint is ``ref`` (or starts with it, 8+ characters)."""
        ref = ref.strip().lower()
        if len(ref) < 8:
            raise ArchiveError(f"{ref!r}: give at least 8 characters of a fingerprint (`archive trust list`)")
        if self.fingerprint.startswith(ref):
            raise ArchiveError(f"{ref}: is this archive's own key, which is always trusted")
        found = [(p, c) for p in sorted((self.folder / "trusted").glob("*.pem"))
                 for c in chains(p.read_bytes(), str(p)) if c.fingerprint.startswith(ref)]
        if not found:
            raise ArchiveError(f"{ref}: no trusted signer has this fingerprint (`archive trust list`)")
        if len({c.fingerprint for _, c in found}) > 1:
            raise ArchiveError(f"{ref}: ambiguous, matches {found[0][1].fingerprint} and {found[1][1].fingerprint}")
        chain = found[0][1]
        _write(self.folder / "foreign" / f"{chain.fingerprint}.pem", chain.pem())  # still checked, as untrusted
        for path, _ in found:
            path.unlink()
        self.anchors_pem = b"".join(c.ca_pem() for c in self.trusted_chains())
        return chain

    def remember(self, chain: Chain) -> None:
        """Keep an untrusted chain (from a bag) so its signatures can be checked and reported as untrusted."""
        if chain.fingerprint not in self.known():
            _write(self.folder / "foreign" / f"{chain.fingerprint}.pem", chain.pem())

    def _folder_chains(self, name: str) -> list[Chain]:
        return [c for p in sorted((self.folder / name).glob("*.pem")) for c in chains(p.read_bytes(), str(p))]


def _write(path: Path, data: bytes) -> None:
    """Write whole or not at all (a temporary file renamed into place)."""
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
