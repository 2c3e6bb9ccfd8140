"""Reproducible, stratified train / val / test assignment that keeps duplicates together.

Records with the same content (digest), and images whose perceptual hashes differ in at
most ``near_duplicates`` bits, form one group; a group lands in one subset. Within each
stratum, groups are ordered by a hash of (seed, content) — not by position — so the same
content and seed always give the same split, whatever the order of ingestion.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from pomona.datasets._model import SPLIT_NAMES, SplitParams
from pomona.errors import InvalidInputError

__all__ = ["assign_splits", "check_split_params", "group_records", "split_key"]


def check_split_params(params: SplitParams) -> SplitParams:
    for name in ("test", "val"):
        value = getattr(params, name)
        if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise InvalidInputError(
                f"{name} must be a fraction in [0, 1), got {value!r}.", details={"field": name}
            )
    if params.test + params.val >= 1.0:
        raise InvalidInputError(
            f"test + val must leave records for training, got {params.test} + {params.val}.",
            details={"field": "test"},
        )
    if not -1 <= params.near_duplicates <= 64:
        raise InvalidInputError(
            "near_duplicates must be between -1 and 64 bits.",
            details={"field": "near_duplicates"},
        )
    return params


def split_key(params: SplitParams) -> str:
    """A stable id of the parameters (hex, 64 characters)."""
    body = json.dumps(
        [params.test, params.val, params.stratify, params.seed, params.near_duplicates]
    )
    return hashlib.sha256(body.encode()).hexdigest()


class _Groups:
    """Union-find over record positions, with the size of each group."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int, max_size: int | None = None) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb or (max_size is not None and self.size[ra] + self.size[rb] > max_size):
            return
        root, child = min(ra, rb), max(ra, rb)
        self.parent[child] = root
        self.size[root] += self.size[child]


def _hash_bytes(hashes: Sequence[str | None]) -> tuple[list[int], np.ndarray[Any, Any]]:
    """Positions of the records that have a hash, and the hashes as rows of bytes."""
    known = [(i, h) for i, h in enumerate(hashes) if h]
    if not known:
        return [], np.zeros((0, 0), dtype=np.uint8)
    width = max(len(h) for _, h in known)
    width += width % 2
    rows = [bytes.fromhex(h.rjust(width, "0")) for _, h in known]
    matrix = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), -1)
    return [i for i, _ in known], matrix


def _near_pairs(hashes: Sequence[str | None], max_distance: int) -> list[tuple[int, int, int]]:
    """(distance, a, b) of the records whose hashes differ in at most ``max_distance`` bits.

    Pigeonhole banding: split the hash into max_distance + 1 bands of bytes; two hashes
    that close agree on at least one band, so only records sharing a band are compared.
    """
    positions, matrix = _hash_bytes(hashes)
    if len(positions) < 2:
        return []
    n_bytes = matrix.shape[1]
    found: dict[tuple[int, int], int] = {}
    for band in np.array_split(np.arange(n_bytes), min(max_distance + 1, n_bytes)):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for j, key in enumerate(matrix[:, band]):
            buckets[key.tobytes()].append(j)
        for members in buckets.values():
            sub = matrix[members]
            for a in range(len(members) - 1):
                dist = np.bitwise_count(sub[a] ^ sub[a + 1 :]).sum(axis=1)
                for b in np.nonzero(dist <= max_distance)[0].tolist():
                    pair = (positions[members[a]], positions[members[a + 1 + b]])
                    found[pair] = int(dist[b])
    return [(d, a, b) for (a, b), d in found.items()]


def group_records(
    digests: Sequence[str], phashes: Sequence[str | None] | None, max_distance: int
) -> list[int]:
    """The group of every record: a position shared by all records of the group.

    Copies (same digest) always share a group. Near-duplicate pairs are joined closest
    first, by content, and never into a group larger than 1% of the records (at least
    10): perceptual hashes of small, similar images (digits) would otherwise chain into
    one group holding most of the data.
    """
    groups = _Groups(len(digests))
    first: dict[str, int] = {}
    for i, digest in enumerate(digests):
        groups.union(first.setdefault(digest, i), i)
    if phashes is not None and max_distance >= 0:
        cap = max(10, len(digests) // 100)
        pairs = _near_pairs(phashes, max_distance)
        pairs.sort(key=lambda p: (p[0], *sorted((digests[p[1]], digests[p[2]]))))
        for _, a, b in pairs:
            groups.union(a, b, cap)
    return [groups.find(i) for i in range(len(digests))]


def _order_key(seed: int, content: str) -> str:
    return hashlib.sha256(f"{seed}:{content}".encode()).hexdigest()


def assign_splits(
    digests: Sequence[str],
    strata: Sequence[str | None],
    params: SplitParams,
    phashes: Sequence[str | None] | None = None,
) -> list[str]:
    """The subset (``train``, ``val`` or ``test``) of every record, aligned with ``digests``."""
    group_of = group_records(digests, phashes, params.near_duplicates)
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(group_of):
        members[g].append(i)
    by_stratum: dict[str, list[int]] = defaultdict(list)
    for g, idx in members.items():
        votes = Counter("" if strata[i] is None else str(strata[i]) for i in idx)
        stratum = min(votes, key=lambda s: (-votes[s], s)) if params.stratify else ""
        by_stratum[stratum].append(g)
    out = [""] * len(digests)
    for stratum in sorted(by_stratum):
        ordered = sorted(
            by_stratum[stratum],
            key=lambda g: _order_key(params.seed, min(digests[i] for i in members[g])),
        )
        total = sum(len(members[g]) for g in ordered)
        want = {"test": round(params.test * total), "val": round(params.val * total)}
        have = dict.fromkeys(SPLIT_NAMES, 0)
        for g in ordered:
            size = len(members[g])  # a group goes where at least half of it is still wanted
            subset = next((s for s in ("test", "val") if want[s] - have[s] >= size / 2), "train")
            have[subset] += size
            for i in members[g]:
                out[i] = subset
    return out
