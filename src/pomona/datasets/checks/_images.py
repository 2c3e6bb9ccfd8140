"""Image validation: decodable, format, resolution, aspect ratio, blur, brightness, contrast,
exact duplicates (sha256 of the bytes) and near duplicates (dHash within a Hamming distance)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pomona.datasets.checks._compact import KeySet, TextLog, text_keys
from pomona.datasets.checks._image_props import ImagePropertyTable
from pomona.datasets.checks._image_stats import ChunkStats, ImageSource, analyse_chunk
from pomona.datasets.checks._near import near_duplicate_pairs
from pomona.datasets.checks._pool import ChunkPool
from pomona.datasets.checks._report import CheckResult, ValidationReport
from pomona.datasets.checks._suites import ImageSuite
from pomona.datasets.checks._tally import Tally
from pomona.errors import InvalidInputError

__all__ = ["ImageValidation", "ImageValidator", "validate_images"]

_CHUNK = 256


@dataclass
class ImageValidation:
    """The report, and what was measured on every decodable image."""

    report: ValidationReport
    properties: ImagePropertyTable
    exact_duplicates: dict[str, str] = field(default_factory=dict)
    """Record id -> the id of the earlier record with the same bytes."""
    near_duplicates: list[tuple[str, str, int]] = field(default_factory=list)
    """(earlier id, later id, Hamming distance) of near-duplicate pairs."""


def validate_images(
    records: Iterable[tuple[str, ImageSource]],
    suite: ImageSuite | None = None,
    *,
    workers: int | None = None,
) -> ImageValidation:
    """Validates images given as (record id, path or bytes) pairs.

    ``workers`` processes decode in parallel (default: one per CPU, used once there is
    more than one chunk of 256 images); 1 keeps everything in this process.
    """
    with ImageValidator(suite, workers=workers) as validator:
        validator.update(records)
        return validator.result()


class ImageValidator:
    """Validates images batch by batch; ``result()`` covers every batch seen.

    Memory grows by about 80 bytes per image plus its id (the hashes the duplicate checks
    compare, kept as numpy arrays), and by the measurements of every image when
    ``keep_properties`` (``result().properties``); pixels are dropped as soon as they are
    measured. With ``keep_properties=False``, read the measurements from ``update_chunks``.
    """

    def __init__(
        self,
        suite: ImageSuite | None = None,
        *,
        workers: int | None = None,
        keep_properties: bool = True,
    ) -> None:
        self.suite = suite or ImageSuite()
        self._pool = ChunkPool(workers)
        self._keep = keep_properties
        self._chunks: list[ChunkStats] = []
        self._names = TextLog()
        self._keys = KeySet()
        self._readable: list[NDArray[np.bool_]] = []
        self._decoded: list[NDArray[np.bool_]] = []
        self._sha256: list[NDArray[np.uint8]] = []
        self._dhash: list[NDArray[np.uint8]] = []
        self._tally = Tally()
        self._result: ImageValidation | None = None

    def __enter__(self) -> ImageValidator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stops the worker processes, if any."""
        self._pool.close()

    def update(self, records: Iterable[tuple[str, ImageSource]]) -> None:
        """Reads, measures and checks a batch of (record id, path or bytes) pairs."""
        for _ in self.update_chunks(records):
            pass

    def update_chunks(self, records: Iterable[tuple[str, ImageSource]]) -> Iterator[ChunkStats]:
        """Like ``update``, yielding the measurements of each chunk of records, in order."""
        if self._result is not None:
            raise InvalidInputError(
                "This validator already gave its result.", hint="Start a new ImageValidator."
            )
        chunks = _chunked(iter(records), _CHUNK)
        for stats in self._pool.map(analyse_chunk, chunks, self.suite.analysis_size):
            self._absorb(stats)
            yield stats

    def _check_new(self, ids: list[str]) -> NDArray[np.uint64]:
        keys = text_keys(ids)
        seen = self._keys.contains(keys)
        if len(set(ids)) < len(ids) or seen.any():
            known = set(self._names) if seen.any() else set()
            within: set[str] = set()
            for record in ids:
                if record in known or record in within:
                    raise InvalidInputError(
                        f"Record id '{record}' appears twice.",
                        hint="Give every image its own id (e.g. its path).",
                        details={"field": "records"},
                    )
                within.add(record)
        return keys

    def _absorb(self, stats: ChunkStats) -> None:
        self._keys.add(self._check_new(stats.ids))
        self._names.extend(stats.ids)
        if self._keep:
            self._chunks.append(stats)
        decoded = stats.decoded
        self._readable.append(stats.readable.copy())
        self._decoded.append(decoded)
        if self.suite.exact_duplicates:
            self._sha256.append(stats.sha256[stats.readable])
        if self.suite.near_duplicate_distance is not None:
            self._dhash.append(stats.dhash[decoded])
        ids = np.array(stats.ids, dtype=object)
        failed = ~decoded
        self._flag("decodable", ids[failed], [f"decodable: {e}" for e in stats.error if e])
        for name, mask, reason in _property_failures(self.suite, stats):
            hit = np.flatnonzero(mask & decoded)
            self._flag(name, ids[hit], [reason(int(i)) for i in hit])

    def _flag(self, name: str, records: NDArray[np.object_], reasons: list[str]) -> None:
        self._tally.add(name, len(records), records)
        self._tally.quarantine(records, reasons)

    def result(self) -> ImageValidation:
        """The report over every image seen, and their properties (computed once)."""
        if self._result is None:
            self._result = self._finish()
        return self._result

    def _finish(self) -> ImageValidation:
        self.close()
        readable = _joined(self._readable, np.bool_)
        decoded = _joined(self._decoded, np.bool_)
        exact, repeats = self._exact_duplicates(np.flatnonzero(readable))
        near = self._near_duplicates(np.flatnonzero(decoded), repeats)
        n_all, n_read, n_decoded = len(self._names), int(readable.sum()), int(decoded.sum())
        suite, tally = self.suite, self._tally
        totals = {"decodable": n_all, "exact_duplicate": n_read}
        checks: list[CheckResult] = []
        for name, description in _descriptions(suite):
            checks.append(tally.result(name, description, suite, totals.get(name, n_decoded)))
        report = ValidationReport(checks=checks, quarantined=tally.quarantined())
        return ImageValidation(report, ImagePropertyTable(self._chunks), exact, near)

    def _exact_duplicates(
        self, positions: NDArray[np.intp]
    ) -> tuple[dict[str, str], NDArray[np.intp]]:
        """Record id -> earlier id of the same bytes, and the positions of the repeats."""
        if not self.suite.exact_duplicates:
            return {}, np.empty(0, np.intp)
        rows = np.ascontiguousarray(_joined(self._sha256, np.uint8, (0, 32)))
        keys = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        original = first[inverse.ravel()]
        (repeats,) = np.nonzero(original != np.arange(len(rows)))
        names = self._names
        duplicates = {
            names[int(positions[i])]: names[int(positions[original[i]])] for i in repeats.tolist()
        }
        records = list(duplicates)
        self._flag(
            "exact_duplicate",
            np.array(records, dtype=object),
            [f"exact_duplicate: same bytes as {duplicates[r]}" for r in records],
        )
        return duplicates, positions[repeats]

    def _near_duplicates(
        self, positions: NDArray[np.intp], exact: NDArray[np.intp]
    ) -> list[tuple[str, str, int]]:
        limit = self.suite.near_duplicate_distance
        if limit is None:
            return []
        keep = ~np.isin(positions, exact)
        hashes = _joined(self._dhash, np.uint8, (0, 32))[keep]
        kept = positions[keep]
        i, j, d = near_duplicate_pairs(hashes, limit)
        names = self._names
        pairs = [
            (names[int(kept[a])], names[int(kept[b])], int(c))
            for a, b, c in zip(i, j, d, strict=True)
        ]
        first: dict[str, tuple[str, int]] = {}
        for earlier, later, distance in pairs:
            first.setdefault(later, (earlier, distance))
        records = list(first)
        self._flag(
            "near_duplicate",
            np.array(records, dtype=object),
            [
                f"near_duplicate: looks like {first[r][0]} ({first[r][1]} bits apart)"
                for r in records
            ],
        )
        return pairs


def _joined(parts: list[NDArray[Any]], dtype: Any, empty: tuple[int, ...] = (0,)) -> NDArray[Any]:
    return np.concatenate(parts) if parts else np.empty(empty, dtype)


def _chunked(
    records: Iterator[tuple[str, ImageSource]], size: int
) -> Iterator[list[tuple[str, ImageSource]]]:
    while chunk := list(islice(records, size)):
        yield chunk


def _property_failures(
    suite: ImageSuite, stats: ChunkStats
) -> Iterator[tuple[str, NDArray[np.bool_], Callable[[int], str]]]:
    """(check name, failing mask, reason of record i) of the per-image checks."""
    width, height = stats.width, stats.height
    if suite.formats is not None:
        allowed = ", ".join(suite.formats)
        formats = stats.formats
        mask = np.array([f not in suite.formats for f in formats], dtype=bool)
        yield "format", mask, lambda i: f"format: {formats[i]} is not one of {allowed}"
    need = f"{suite.min_width}x{suite.min_height}"
    yield (
        "resolution",
        (width < suite.min_width) | (height < suite.min_height),
        lambda i: f"resolution: {width[i]}x{height[i]} is below {need}",
    )
    if suite.max_aspect_ratio is not None:
        ratio = np.maximum(width, height) / np.maximum(1, np.minimum(width, height))
        most = suite.max_aspect_ratio
        yield (
            "aspect_ratio",
            ratio > most,
            lambda i: f"aspect_ratio: {ratio[i]:.2f} is above {most:g}",
        )
    if suite.min_blur is not None:
        least, blur = suite.min_blur, stats.blur
        yield "blur", blur < least, lambda i: f"blur: {blur[i]:.1f} is below {least:g}"
    for name, values, bounds in (
        ("brightness", stats.brightness, suite.brightness),
        ("contrast", stats.contrast, suite.contrast),
    ):
        if bounds is not None:
            yield name, (values < bounds[0]) | (values > bounds[1]), _outside(name, values, bounds)


def _outside(
    name: str, values: NDArray[np.float32], bounds: tuple[float, float]
) -> Callable[[int], str]:
    return lambda i: f"{name}: {values[i]:.3f} is outside [{bounds[0]:g}, {bounds[1]:g}]"


def _descriptions(suite: ImageSuite) -> Iterator[tuple[str, str]]:
    yield "decodable", "Pillow decodes the file"
    if suite.formats is not None:
        yield "format", f"format in {', '.join(suite.formats)}"
    yield "resolution", f"at least {suite.min_width}x{suite.min_height} pixels"
    if suite.max_aspect_ratio is not None:
        yield "aspect_ratio", f"aspect ratio at most {suite.max_aspect_ratio:g}"
    if suite.min_blur is not None:
        yield "blur", f"variance of the Laplacian at least {suite.min_blur:g}"
    if suite.brightness is not None:
        yield "brightness", f"brightness within [{suite.brightness[0]:g}, {suite.brightness[1]:g}]"
    if suite.contrast is not None:
        yield "contrast", f"contrast within [{suite.contrast[0]:g}, {suite.contrast[1]:g}]"
    if suite.exact_duplicates:
        yield "exact_duplicate", "no file repeats an earlier file's bytes"
    if suite.near_duplicate_distance is not None:
        yield (
            "near_duplicate",
            f"no image within {suite.near_duplicate_distance} bits of an earlier one",
        )
