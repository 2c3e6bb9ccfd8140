"""Splits of stored versions, and pages of records (optionally one subset of a split)."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Collection
from typing import Any

from pomona._utils.paging import decode_page_token, encode_page_token
from pomona.artifacts.base import ArtifactStore
from pomona.datasets import _catalog
from pomona.datasets._labels import NO_LABEL
from pomona.datasets._manifest import RECORD_INDEX, Manifest, parquet_bytes
from pomona.datasets._model import SPLIT_NAMES, DatasetSplit, DatasetVersion, Record, SplitParams
from pomona.datasets._reading import image_rows, iter_parts, record_from_image, record_from_row
from pomona.datasets._splits import assign_splits, check_split_params, split_key
from pomona.errors import InvalidInputError
from pomona.metadata import MetadataStore
from pomona.types import Digest, Page

__all__ = ["make_split", "page_of_records", "params", "read_assignment", "subset_ids"]


def params(
    test: float, val: float, stratify: str | None, seed: int, near_duplicates: int
) -> SplitParams:
    return check_split_params(SplitParams(test, val, stratify, int(seed), int(near_duplicates)))


def _table_keys(
    blobs: ArtifactStore, manifest: Manifest, stratify: str | None
) -> tuple[list[str], list[str], list[str | None]]:
    """Record ids, row-content hashes and strata of a table version."""
    import pandas as pd  # type: ignore[import-untyped]

    ids: list[str] = []
    digests: list[str] = []
    strata: list[str | None] = []
    for table in iter_parts(blobs, manifest.records):
        df = table.to_pandas().set_index(RECORD_INDEX)
        hashes = pd.util.hash_pandas_object(df, index=False).to_numpy()
        ids.extend(str(i) for i in df.index)
        digests.extend(f"{h:016x}" for h in hashes.tolist())
        if stratify is None:
            strata.extend([None] * len(df))
        else:
            strata.extend(None if pd.isna(v) else str(v) for v in df[stratify].tolist())
    return ids, digests, strata


def make_split(
    db: MetadataStore,
    blobs: ArtifactStore,
    version: DatasetVersion,
    manifest: Manifest,
    split_params: SplitParams,
) -> DatasetSplit:
    """Assign every clean record of ``version`` to a subset and store the assignment."""
    stratify = split_params.stratify
    phashes: list[str | None] | None = None
    if version.kind == "images":
        if stratify not in (None, "label"):
            raise InvalidInputError(
                f"Images can be stratified by 'label' only, not '{stratify}'.",
                details={"field": "stratify"},
            )
        rows = image_rows(blobs, manifest)
        ids = [r["record_id"] for r in rows]
        digests = [r["digest"] for r in rows]
        strata: list[str | None] = [r["label"] for r in rows]
        phashes = [r.get("phash") for r in rows]
    else:
        column = version.schema.get("label") if stratify == "label" else stratify
        if stratify is not None and column not in version.schema.get("columns", {}):
            raise InvalidInputError(
                f"{version} has no column '{stratify}' to stratify by"
                + (" (it was ingested without labels=…)." if stratify == "label" else "."),
                details={"field": "stratify"},
            )
        ids, digests, strata = _table_keys(blobs, manifest, column if stratify else None)
    if not ids:
        raise InvalidInputError(f"{version} has no clean records to split.")
    subsets = assign_splits(digests, strata, split_params, phashes)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for subset, stratum in zip(subsets, strata, strict=True):
        counts[subset][NO_LABEL if stratum is None else stratum] += 1
    digest = _store_assignment(blobs, ids, subsets)
    plain = {name: dict(sorted(counts[name].items())) for name in SPLIT_NAMES}
    return _catalog.save_split(
        db, version.ref, split_key(split_params), split_params, digest, plain
    )


def _store_assignment(blobs: ArtifactStore, ids: list[str], subsets: list[str]) -> Digest:
    import pyarrow as pa  # type: ignore[import-untyped]

    table = pa.table({"record_id": pa.array(ids, pa.string()), "subset": pa.array(subsets)})
    digest, _ = blobs.put_bytes(parquet_bytes(table))
    return digest


def read_assignment(blobs: ArtifactStore, digest: Digest) -> dict[str, str]:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    table = pq.read_table(io.BytesIO(blobs.read_bytes(digest)))
    return dict(zip(table["record_id"].to_pylist(), table["subset"].to_pylist(), strict=True))


def subset_ids(blobs: ArtifactStore, split: DatasetSplit, subset: str) -> set[str]:
    if subset not in SPLIT_NAMES:
        raise InvalidInputError(
            f"'{subset}' is not a subset: use one of {', '.join(SPLIT_NAMES)}.",
            details={"field": "subset"},
        )
    assignment = read_assignment(blobs, split.assignment_digest)
    return {rid for rid, s in assignment.items() if s == subset}


def page_of_records(
    blobs: ArtifactStore,
    version: DatasetVersion,
    manifest: Manifest,
    quarantined: bool,
    ids: Collection[str] | None,
    limit: int,
    page_token: str | None,
) -> Page[Record]:
    """One page of a version's records (images by id; table rows by row number)."""
    if not 1 <= limit <= _catalog.MAX_PAGE:
        raise InvalidInputError(
            f"limit must be between 1 and {_catalog.MAX_PAGE}, got {limit}.",
            details={"field": "limit"},
        )
    offset = decode_page_token(page_token)
    rows: list[dict[str, Any]] = []
    if version.kind == "images":
        rows = image_rows(blobs, manifest, quarantined=quarantined)
        if ids is not None:
            rows = [r for r in rows if r["record_id"] in ids]
        total = len(rows)
        items = [record_from_image(r) for r in rows[offset : offset + limit]]
    else:
        items, total = _table_page(blobs, version, manifest, quarantined, ids, offset, limit)
    token = encode_page_token(offset + limit) if offset + limit < total else None
    return Page(items=items, next_page_token=token, total=total)


def _table_page(
    blobs: ArtifactStore,
    version: DatasetVersion,
    manifest: Manifest,
    quarantined: bool,
    ids: Collection[str] | None,
    offset: int,
    limit: int,
) -> tuple[list[Record], int]:
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    label = version.schema.get("label")
    wanted = pa.array(sorted(int(i) for i in ids), pa.int64()) if ids is not None else None
    items: list[Record] = []
    seen = 0
    for table in iter_parts(blobs, manifest.quarantine if quarantined else manifest.records):
        if wanted is not None:
            table = table.filter(pc.is_in(table[RECORD_INDEX], value_set=wanted))
        start, stop = max(0, offset - seen), max(0, offset + limit - seen)
        if start < table.num_rows and stop > 0:
            items.extend(
                record_from_row(r, label) for r in table.slice(start, stop - start).to_pylist()
            )
        seen += table.num_rows
    return items, seen
