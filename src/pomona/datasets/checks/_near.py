"""Near-duplicate search over 256-bit perceptual hashes, exact, without comparing all pairs.

Multi-index hashing: split the bits into ``b > max_distance`` bands; two hashes within
``max_distance`` bits agree on at least one whole band (pigeonhole), so only pairs that
share a band value are compared. Distinct photos rarely share a band, so the cost grows
with the number of such pairs, not with n squared. When images are so alike that most
pairs share a band (plain backgrounds, tiny pictures), every pair is compared instead,
as one matrix product per block of rows. Both ways give every pair within the distance.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from pomona.errors import InvalidInputError

__all__ = ["find_near_duplicates", "hamming_distance", "near_duplicate_pairs"]

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
_MAX_BAND_BITS = 64
_ALL_PAIRS_SHARE = 0.05
"""Compare every pair when the bands propose more than this share of all pairs."""
_BLOCK = 256


def _bits(hex_hash: str) -> NDArray[np.uint8]:
    try:
        return np.frombuffer(bytes.fromhex(hex_hash), dtype=np.uint8)
    except ValueError as exc:
        raise InvalidInputError(
            f"'{hex_hash}' is not a hexadecimal hash.",
            hint="Pass ImageProperties.phash values.",
            details={"field": "hash"},
        ) from exc


def hamming_distance(a: str, b: str) -> int:
    """The number of differing bits between two hex hashes of the same length."""
    x, y = _bits(a), _bits(b)
    if x.shape != y.shape:
        raise InvalidInputError(
            f"Hashes of different lengths ({len(a)} and {len(b)} hex digits) cannot be compared.",
            details={"field": "hash"},
        )
    return int(_POPCOUNT[x ^ y].sum())


def _distances(
    hashes: NDArray[np.uint8], a: NDArray[np.intp], b: NDArray[np.intp]
) -> NDArray[np.intp]:
    differ = hashes[a] ^ hashes[b]
    count = getattr(np, "bitwise_count", None)  # numpy >= 2
    if count is not None and differ.shape[1] % 8 == 0:
        words = np.ascontiguousarray(differ).view(np.uint64)
        fast: NDArray[np.intp] = count(words).sum(axis=1, dtype=np.intp)
        return fast
    distances: NDArray[np.intp] = _POPCOUNT[differ].sum(axis=1, dtype=np.intp)
    return distances


def _signs(hashes: NDArray[np.uint8]) -> NDArray[np.float32]:
    return np.unpackbits(hashes, axis=1).astype(np.float32) * 2 - 1


def _all_pairs(hashes: NDArray[np.uint8], max_distance: int) -> NDArray[np.int64]:
    """Codes ``i * n + j`` of every pair within the distance: one matrix product per pair of
    blocks of rows (+-1 bits: agreements - disagreements), so memory stays per block."""
    n, width = len(hashes), hashes.shape[1] * 8
    found = []
    for start in range(0, n, _BLOCK):
        rows_signs = _signs(hashes[start : start + _BLOCK])
        for other in range(start, n, _BLOCK):
            agree = rows_signs @ _signs(hashes[other : other + _BLOCK]).T
            close = (width - agree) / 2 <= max_distance
            rows, cols = np.nonzero(close)
            rows, cols = rows + start, cols + other
            keep = cols > rows
            found.append(rows[keep].astype(np.int64) * n + cols[keep])
    return np.concatenate(found)


def _band_keys(hashes: NDArray[np.uint8], start: int, stop: int) -> NDArray[np.uint64]:
    """Bits ``start:stop`` of each hash as one integer (unpacking only the bytes they span)."""
    first, last = start // 8, -(-stop // 8)
    bits = np.unpackbits(hashes[:, first:last], axis=1)[:, start - 8 * first : stop - 8 * first]
    packed = np.packbits(bits, axis=1)
    padded = np.zeros((len(hashes), 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view(np.uint64).ravel()


def _shared_band_pairs(
    hashes: NDArray[np.uint8], keys: NDArray[np.uint64], max_distance: int
) -> list[NDArray[np.int64]]:
    """Codes ``i * n + j`` of the pairs within the distance among those sharing a key."""
    n = len(keys)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    found = []
    for offset in range(1, n):
        same = ordered[offset:] == ordered[:-offset]
        if not same.any():
            break
        a, b = order[:-offset][same], order[offset:][same]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        close = _distances(hashes, lo, hi) <= max_distance
        found.append(lo[close].astype(np.int64) * n + hi[close])
    return found


def near_duplicate_pairs(
    hashes: NDArray[np.uint8], max_distance: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Every pair ``i < j`` of rows of ``hashes`` (n, bytes) within ``max_distance`` bits.

    Returns ``(i, j, distance)`` arrays sorted by ``j`` then ``i``.
    """
    n, width = hashes.shape
    empty = np.empty(0, dtype=np.intp)
    if n < 2:
        return empty, empty, empty
    n_bands = max(max_distance + 1, -(-width * 8 // _MAX_BAND_BITS))
    edges = np.linspace(0, width * 8, n_bands + 1).astype(int)
    bands = [(int(edges[b]), int(edges[b + 1])) for b in range(n_bands)]
    proposed = 0  # pairs sharing a band (keys are made one band at a time: memory)
    for start, stop in bands:
        counts = np.unique(_band_keys(hashes, start, stop), return_counts=True)[1]
        proposed += int((counts * (counts - 1) // 2).sum())
    if proposed > _ALL_PAIRS_SHARE * n * (n - 1) / 2:
        found = [_all_pairs(hashes, max_distance)]
    else:
        found = [
            codes
            for start, stop in bands
            for codes in _shared_band_pairs(hashes, _band_keys(hashes, start, stop), max_distance)
        ]
    if not found:
        return empty, empty, empty
    codes = np.unique(np.concatenate(found))
    i, j = (codes // n).astype(np.intp), (codes % n).astype(np.intp)
    order = np.lexsort((i, j))
    i, j = i[order], j[order]
    return i, j, _distances(hashes, i, j)


def find_near_duplicates(
    hashes: Mapping[str, str], max_distance: int
) -> list[tuple[str, str, int]]:
    """Pairs ``(earlier id, later id, distance)`` of hex hashes within ``max_distance`` bits.

    "Earlier" follows the mapping's order. Use it to keep near duplicates in one split.
    """
    ids = list(hashes)
    if not ids:
        return []
    rows = np.stack([_bits(hashes[k]) for k in ids])
    i, j, d = near_duplicate_pairs(rows, max_distance)
    return [(ids[a], ids[b], int(c)) for a, b, c in zip(i, j, d, strict=True)]
