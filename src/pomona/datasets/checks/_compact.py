"""Compact per-record state for checks that span a whole dataset (ids, 64-bit keys).

A Python ``set`` of strings costs about 150 bytes a record; these keep 8 bytes a key and
the UTF-8 bytes of each id plus 8, so memory grows slowly with the number of records.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

__all__ = ["KeySet", "TextLog", "text_keys"]


def text_keys(texts: Iterable[str]) -> NDArray[np.uint64]:
    """A 64-bit key of each text (BLAKE2b): equal texts, equal keys."""
    digests = b"".join(hashlib.blake2b(t.encode(), digest_size=8).digest() for t in texts)
    return np.frombuffer(digests, dtype=np.uint64).copy()


class KeySet:
    """A set of 64-bit keys as sorted numpy runs, merged like a binary counter.

    8 bytes a key; ``add`` and ``contains`` cost a few sorted searches per run (at most
    about log2(n) runs).
    """

    def __init__(self) -> None:
        self._runs: list[NDArray[np.uint64]] = []

    def __len__(self) -> int:
        return sum(len(r) for r in self._runs)

    def contains(self, keys: NDArray[np.uint64]) -> NDArray[np.bool_]:
        """Whether each of ``keys`` was added before."""
        found = np.zeros(len(keys), dtype=bool)
        for run in self._runs:
            at = np.minimum(np.searchsorted(run, keys), len(run) - 1)
            found |= run[at] == keys
        return found

    def add(self, keys: NDArray[np.uint64]) -> None:
        run = np.unique(keys)
        while self._runs and len(self._runs[-1]) <= len(run):
            run = np.union1d(self._runs.pop(), run)
        if len(run):
            self._runs.append(run)


class TextLog(Sequence[str]):
    """Strings appended in batches, kept as one UTF-8 buffer and offsets per batch."""

    def __init__(self) -> None:
        self._blobs: list[bytes] = []
        self._offsets: list[NDArray[np.int64]] = []
        self._starts: list[int] = [0]

    def extend(self, texts: Sequence[str]) -> None:
        if not texts:
            return
        encoded = [t.encode() for t in texts]
        ends = np.cumsum([len(e) for e in encoded], dtype=np.int64)
        self._blobs.append(b"".join(encoded))
        self._offsets.append(np.concatenate([np.zeros(1, np.int64), ends]))
        self._starts.append(self._starts[-1] + len(texts))

    def __len__(self) -> int:
        return self._starts[-1]

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        if not 0 <= index < len(self):
            raise IndexError(index)
        batch = bisect_right(self._starts, index) - 1
        offsets, at = self._offsets[batch], index - self._starts[batch]
        return self._blobs[batch][int(offsets[at]) : int(offsets[at + 1])].decode()

    def __iter__(self) -> Iterator[str]:
        for blob, offsets in zip(self._blobs, self._offsets, strict=True):
            bounds = offsets.tolist()
            for start, stop in pairwise(bounds):
                yield blob[start:stop].decode()
