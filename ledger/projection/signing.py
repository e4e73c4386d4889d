"""Signed checkpoints: the bureau's Ed25519 key signs the Merkle root of the log's global order.

The message signed is fixed text, so an outside auditor can rebuild it from an export alone:
`ledger-checkpoint/v1\n<seq>\n<leaves>\n<root hex>`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.clock import Clock
from ledger.projection.merkle import Frontier
from ledger.projection.writer import Checkpoint


def checkpoint_message(seq: int, leaves: int, root: str) -> bytes:
    return f"ledger-checkpoint/v1\n{seq}\n{leaves}\n{root}".encode()


def key_id(public_pem: str) -> str:
    """Fingerprint of a public key: SHA-256 of its raw 32 bytes, first 16 hex digits."""
    public = serialization.load_pem_public_key(public_pem.encode())
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class Signer:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.key_id = key_id(self.public_pem)

    @classmethod
    def load_or_create(cls, path: Path) -> Signer:
        """The key file (PKCS#8 PEM); generated with mode 0600 on first use. Never in git (data dir)."""
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError(f"{path} does not hold an Ed25519 private key")
            return cls(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return cls(key)

    def sign(self, seq: int, frontier: Frontier, at: dt.datetime) -> Checkpoint:
        root = frontier.root()
        signature = self.key.sign(checkpoint_message(seq, frontier.size, root)).hex()
        return Checkpoint(seq=seq, leaves=frontier.size, root=root, signature=signature, key_id=self.key_id,
                          public_key=self.public_pem, signed_at=at)


def signature_ok(public_pem: str, seq: int, leaves: int, root: str, signature_hex: str) -> bool:
    public = serialization.load_pem_public_key(public_pem.encode())
    if not isinstance(public, Ed25519PublicKey):
        return False
    try:
        public.verify(bytes.fromhex(signature_hex), checkpoint_message(seq, leaves, root))
    except (InvalidSignature, ValueError):
        return False
    return True


class CheckpointPolicy:
    """Sign when `every` sequences or `minutes` of clock time have passed since the last checkpoint."""

    def __init__(self, signer: Signer, clock: Clock, *, every: int, minutes: float,
                 last_seq: int = 0, last_at: dt.datetime | None = None) -> None:
        self.signer, self.clock, self.every, self.minutes = signer, clock, every, minutes
        self.last_seq, self.last_at = last_seq, last_at or clock.now()

    def __call__(self, seq: int, frontier: Frontier) -> Checkpoint | None:
        now = self.clock.now()
        due = seq - self.last_seq >= self.every or (
            seq > self.last_seq and now - self.last_at >= dt.timedelta(minutes=self.minutes))
        if not due:
            return None
        self.last_seq, self.last_at = seq, now
        return self.signer.sign(seq, frontier, now)
