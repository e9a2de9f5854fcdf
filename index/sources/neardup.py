"""Near-duplicate text: MinHash over word 3-shingles, so one story under two URLs is kept once."""

from __future__ import annotations

import re
import zlib

import numpy as np

PERMUTATIONS = 128
SHINGLE_WORDS = 3
MIN_SHINGLES = 12
# Estimated Jaccard similarity of word 3-shingles above which two texts are one story.
THRESHOLD = 0.8

_rng = np.random.default_rng(20261128)
_A = _rng.integers(1, 2**63 - 1, size=PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63 - 1, size=PERMUTATIONS, dtype=np.uint64)


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: spreads the bits of each value (arrays wrap silently)."""
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def shingles(text: str) -> np.ndarray:
    """64-bit hashes of the text's overlapping word triples (case and punctuation ignored)."""
    words = re.findall(r"\w+", text.lower())
    if len(words) < SHINGLE_WORDS:
        return np.zeros(0, dtype=np.uint64)
    ids = np.fromiter((zlib.crc32(w.encode()) for w in words), dtype=np.uint64, count=len(words))
    mixed = _mix(ids)
    combined = mixed[:-2] * np.uint64(0x9E3779B97F4A7C15) ^ _mix(mixed[1:-1] + mixed[2:])
    return np.unique(_mix(combined))


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature of a text, or None when it is too short to judge."""
    hashes = shingles(text)
    if len(hashes) < MIN_SHINGLES:
        return None
    permuted = _mix(hashes[:, None] * _A[None, :] + _B[None, :])
    return np.asarray(permuted.min(axis=0), dtype=np.uint64)


class NearDuplicates:
    """Signatures of texts seen so far; tells whether a new text repeats one of them."""

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep
        self._keys: list[int] = []
        self._rows: list[np.ndarray] = []
        self._matrix: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: int, text: str) -> None:
        """Remember a text under a key (an article id, say); the oldest go beyond `keep`."""
        found = signature(text)
        if found is None:
            return
        self._keys.append(key)
        self._rows.append(found)
        if self.keep is not None and len(self._keys) > self.keep:
            del self._keys[0], self._rows[0]
        self._matrix = None

    def forget(self, key: int) -> None:
        """Drop a remembered text (its article was deleted)."""
        if key in self._keys:
            index = self._keys.index(key)
            del self._keys[index], self._rows[index]
            self._matrix = None

    def match(self, text: str) -> int | None:
        """The key of a remembered text that is (nearly) the same as this one, if any."""
        found = signature(text)
        if found is None or not self._rows:
            return None
        if self._matrix is None:
            self._matrix = np.vstack(self._rows)
        similarity = (self._matrix == found[None, :]).mean(axis=1)
        best = int(np.argmax(similarity))
        return self._keys[best] if similarity[best] >= THRESHOLD else None
