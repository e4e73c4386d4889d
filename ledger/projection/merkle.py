"""A Merkle tree over the log's global order, kept as a compact frontier (one peak per set bit).

leaf = SHA-256(0x00 ‖ commit hash), node = SHA-256(0x01 ‖ left ‖ right); the root bags the peaks
from right to left. Appending is O(log n) and the frontier (≤ 64 hashes) is stored with the
projection's progress row, so the root at any checkpoint follows from the leaves alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def leaf(commit_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(commit_hash_hex)).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    def __init__(self, size: int = 0, peaks: Iterable[bytes] = ()) -> None:
        self.size = size
        self.peaks = list(peaks)  # highest subtree first
        if len(self.peaks) != bin(size).count("1"):
            raise ValueError(f"Merkle frontier of size {size} cannot have {len(self.peaks)} peaks")

    def append(self, commit_hash_hex: str) -> None:
        h = leaf(commit_hash_hex)
        size = self.size
        while size & 1:  # each trailing 1-bit is a full subtree to merge with
            h = node(self.peaks.pop(), h)
            size >>= 1
        self.peaks.append(h)
        self.size += 1

    def extend(self, hashes: Iterable[str]) -> None:
        for h in hashes:
            self.append(h)

    def root(self) -> str:
        if not self.peaks:
            return hashlib.sha256(b"").hexdigest()
        acc = self.peaks[-1]
        for peak in reversed(self.peaks[:-1]):
            acc = node(peak, acc)
        return acc.hex()

    def copy(self) -> Frontier:
        return Frontier(self.size, self.peaks)
