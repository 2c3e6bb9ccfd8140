"""Data benchmark: validation and end-to-end ingest throughput, peak memory (no assertions).

    .venv/bin/python bench/data.py [--images 20000] [--rows 1000000] [--batch-rows 250000]

Targets on a 2-core machine: table validation >= 1,000,000 rows/s (30 numeric and
categorical columns, read from Parquet in batches); image validation >= 2,000 images/s
(64 x 64 PNG apple photos); peak memory bounded by the batch size, not the dataset size.
Each measurement runs in a fresh process (peak RSS is per process) on N, then 2N records
(the second N photos are the mirror images of the first: generating photos is the slow part).
"ingest" is ``ws.datasets.ingest`` end to end into a fresh workspace (SQLite + local file
store): read, hash, store every blob (batched fsync), validate, profile, write the version.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

N_FLOAT, N_CATEGORY = 20, 10
COUNTRIES = ["FR", "DE", "IT", "ES", "NL", "BE", "PT", "AT"]


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory. For this process, Linux's VmHWM: ru_maxrss would include the
    peak of the process that started this one (it survives exec)."""
    status = Path("/proc/self/status")
    if who == resource.RUSAGE_SELF and status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(who).ru_maxrss / 1024


def _cpu_s() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# ---------------------------------------------------------------- data generation


def _write_part(folder: Path, n: int, seed: int) -> None:
    from pomona.examples import apples

    apples.write_apple_folder(folder, n, seed=seed, layout="flat", defective_fraction=0.001)


def _mirror_part(source: Path, dest: Path) -> None:
    """Every photo of ``source`` mirrored left to right (broken files copied as they are)."""
    from PIL import Image, ImageOps

    dest.mkdir(parents=True)
    for path in source.iterdir():
        if path.suffix != ".png" or path.stat().st_size < 1000:  # broken or tiny: keep
            (dest / path.name).write_bytes(path.read_bytes())
            continue
        try:
            with Image.open(path) as image:
                ImageOps.mirror(image).save(dest / path.name, compress_level=1)
        except OSError:  # a truncated PNG
            (dest / path.name).write_bytes(path.read_bytes())


def write_images(folder: Path, n: int, part: int = 5_000) -> float:
    """``n`` generated photos, then their ``n`` mirror images, in folders of ``part`` each,
    written by one process per CPU. A mirrored apple is a different file and 87 bits or
    more from the original's perceptual hash (measured): not a near duplicate."""
    from concurrent.futures import ProcessPoolExecutor

    start = time.perf_counter()
    parts = [folder / f"part{i:02d}" for i in range(-(-n // part))]
    sizes = [min(part, n - i * part) for i in range(len(parts))]
    mirrors = [folder / f"part{i + len(parts):02d}" for i in range(len(parts))]
    with ProcessPoolExecutor() as pool:
        list(pool.map(_write_part, parts, sizes, range(len(parts))))
        list(pool.map(_mirror_part, parts, mirrors))
    return time.perf_counter() - start


def _table_batch(rng: Any, n: int, offset: int) -> Any:
    import numpy as np
    import pyarrow as pa

    columns: dict[str, Any] = {"row": pa.array(np.arange(offset, offset + n))}
    for i in range(N_FLOAT):
        values = rng.normal(i, 1 + i % 5, n)
        values[rng.random(n) < 0.0005] = np.nan  # a few nulls where the suite allows none
        values[rng.random(n) < 0.0002] = 1e9  # and a few far out of range
        columns[f"x{i}"] = pa.array(values)
    for i in range(N_CATEGORY):
        codes = rng.integers(0, len(COUNTRIES), n).astype(np.int32)
        dictionary = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(COUNTRIES))
        columns[f"c{i}"] = dictionary
    return pa.table(columns)


def write_table(path: Path, rows: int, batch: int) -> float:
    import numpy as np
    import pyarrow.parquet as pq

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    writer = None
    for offset in range(0, rows, batch):
        table = _table_batch(rng, min(batch, rows - offset), offset)
        writer = writer or pq.ParquetWriter(path, table.schema, compression="snappy")
        writer.write_table(table, row_group_size=batch)
    assert writer is not None
    writer.close()
    return time.perf_counter() - start


# ---------------------------------------------------------------- measured workers


def _photos(folder: Path, count: int) -> Iterator[tuple[str, Path]]:
    """The first ``count`` photos, listed one folder at a time (ids: part/name)."""
    for part in sorted(folder.iterdir()):
        for name in sorted(os.listdir(part)):
            if name == "labels.csv":
                continue
            if count == 0:
                return
            count -= 1
            yield f"{part.name}/{name}", part / name


def measure_images(folder: Path, count: int) -> dict[str, Any]:
    from pomona.datasets.checks import validate_images

    baseline = _rss_mb()
    cpu, start = _cpu_s(), time.perf_counter()
    result = validate_images(_photos(folder, count))
    seconds = time.perf_counter() - start
    report = result.report
    decodable = report.find_check("decodable")
    records = decodable.total if decodable else 0
    return {
        "records": records,
        "seconds": seconds,
        "per_s": records / seconds,
        "cpu_per_s": records / (_cpu_s() - cpu),
        "quarantined": len(report.quarantined),
        "baseline_mb": baseline,
        "peak_mb": _rss_mb(),
        "worker_peak_mb": _rss_mb(resource.RUSAGE_CHILDREN),
    }


def measure_table(path: Path, rows: int, batch: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from pomona.datasets.checks import TableValidator, infer_table_suite, validate_table
    from pomona.datasets.profiling import TableProfiler

    # pre_buffer=False: pyarrow's read-ahead would otherwise keep every row group read so far
    source = pq.ParquetFile(path, pre_buffer=False)
    first = next(pq.ParquetFile(path).iter_batches(batch_size=10_000)).to_pandas()
    suite = infer_table_suite(first.drop(columns=["row"]), label="c0")
    validate_table(first, suite)  # warm-up: the first call of pandera costs about 0.3 s
    validator, profiler = TableValidator(suite), TableProfiler(label="c0")
    baseline = _rss_mb()
    read = validate = profile = cpu = 0.0
    seen = 0
    start = time.perf_counter()
    for record_batch in source.iter_batches(batch_size=batch):
        t0 = time.perf_counter()
        df = record_batch.to_pandas().set_index("row")
        t1, c1 = time.perf_counter(), time.thread_time()  # not pyarrow's reading threads
        validator.update(df)
        t2 = time.perf_counter()
        cpu += time.thread_time() - c1
        profiler.update(df)
        t3 = time.perf_counter()
        read, validate, profile = read + t1 - t0, validate + t2 - t1, profile + t3 - t2
        seen += len(df)
        if seen >= rows:
            break
    report = validator.report()
    total = time.perf_counter() - start
    return {
        "records": seen,
        "seconds": validate,
        "per_s": seen / validate,
        "cpu_per_s": seen / cpu,
        "read_per_s": seen / read,
        "profile_per_s": seen / profile,
        "end_to_end_per_s": seen / total,
        "quarantined": len(report.quarantined),
        "checks": len(report.checks),
        "baseline_mb": baseline,
        "peak_mb": _rss_mb(),
        "profile_json_kb": len(json.dumps(profiler.profile().to_dict())) / 1024,
    }


def measure_ingest(source: Path, count: int, kind: str) -> dict[str, Any]:
    """``ws.datasets.ingest`` of ``count`` records into a new workspace, end to end."""
    import pandas  # noqa: F401  imports are not the ingest's cost
    import pandera  # noqa: F401
    import PIL.Image  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import pomona as pm

    with tempfile.TemporaryDirectory(prefix="pomona-bench-ws-") as home:
        ws = pm.connect(home)
        ws.datasets.list_datasets()
        baseline = _rss_mb()
        cpu, start = _cpu_s(), time.perf_counter()
        version = ws.datasets.ingest("bench", source, labels="c0" if kind == "table" else None)
        seconds = time.perf_counter() - start
        cpu = _cpu_s() - cpu
        ws.close()
    return {
        "records": version.num_records + version.num_quarantined,
        "expected": count,
        "seconds": seconds,
        "per_s": count / seconds,
        "cpu_per_s": count / cpu,
        "quarantined": version.num_quarantined,
        "baseline_mb": baseline,
        "peak_mb": _rss_mb(),
        "worker_peak_mb": _rss_mb(resource.RUSAGE_CHILDREN),
    }


def _linked_folder(folder: Path, count: int, dest: Path) -> Path:
    """A folder of links to the first ``count`` photos (the ingest's source)."""
    for record_id, path in _photos(folder, count):
        link = dest / record_id
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(path)
    return dest


def _head_table(path: Path, rows: int, dest: Path) -> Path:
    """The first ``rows`` rows of a Parquet file, as another one."""
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path)
    with pq.ParquetWriter(dest, source.schema_arrow, compression="snappy") as writer:
        left = rows
        for batch in source.iter_batches(batch_size=min(rows, 250_000)):
            if left <= 0:
                break
            writer.write_batch(batch.slice(0, left))
            left -= batch.num_rows
    return dest


def _print_ingest(r: dict[str, Any], unit: str) -> None:
    print(
        f"  ingest   {r['records']:>9,} {unit} end to end: {r['per_s']:>10,.0f} {unit}/s "
        f"({r['cpu_per_s']:,.0f} per CPU-second), {r['quarantined']:,} quarantined; "
        f"peak RSS {r['peak_mb']:.0f} MB (after imports {r['baseline_mb']:.0f} MB), "
        f"worker peak {r['worker_peak_mb']:.0f} MB"
    )


def _in_fresh_process(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", *args], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# ---------------------------------------------------------------- report


def bench_images(tmp: Path, n: int) -> None:
    folder = tmp / "photos"
    seconds = write_images(folder, n)
    print(
        f"images: generated {n:,} apple photos (64x64 PNG, 0.1% defective) and wrote their "
        f"{n:,} mirror images in {seconds:.1f} s"
    )
    for count in (n, 2 * n):
        r = _in_fresh_process("images", str(folder), str(count))
        print(
            f"  validate {r['records']:>7,} images: {r['per_s']:>8,.0f} images/s "
            f"({r['cpu_per_s']:,.0f} per CPU-second), {r['quarantined']:,} quarantined; "
            f"peak RSS {r['peak_mb']:.0f} MB (after imports {r['baseline_mb']:.0f} MB), "
            f"worker peak {r['worker_peak_mb']:.0f} MB"
        )
    for count in (n, 2 * n):
        source = _linked_folder(folder, count, tmp / f"ingest-{count}")
        _print_ingest(_in_fresh_process("ingest-images", str(source), str(count)), "images")


def bench_table(tmp: Path, rows: int, batch: int) -> None:
    path = tmp / "table.parquet"
    seconds = write_table(path, 2 * rows, batch)
    size = path.stat().st_size / 2**20
    print(
        f"table: wrote {2 * rows:,} rows x {N_FLOAT + N_CATEGORY} columns "
        f"({N_FLOAT} float, {N_CATEGORY} categorical) to Parquet ({size:.0f} MB) in {seconds:.1f} s"
    )
    for count in (rows, 2 * rows):
        r = _in_fresh_process("table", str(path), str(count), str(batch))
        print(
            f"  validate {r['records']:>9,} rows in batches of {batch:,}: "
            f"{r['per_s']:>10,.0f} rows/s ({r['cpu_per_s']:,.0f} per CPU-second; "
            f"{r['checks']} checks, {r['quarantined']:,} rows "
            f"quarantined); peak RSS {r['peak_mb']:.0f} MB "
            f"(after imports {r['baseline_mb']:.0f} MB)"
        )
        print(
            f"    read Parquet {r['read_per_s']:,.0f} rows/s, profile {r['profile_per_s']:,.0f} "
            f"rows/s, read + validate + profile {r['end_to_end_per_s']:,.0f} rows/s, "
            f"profile JSON {r['profile_json_kb']:.0f} KB"
        )
    for count in (rows, 2 * rows):
        source = path if count == 2 * rows else _head_table(path, count, tmp / "head.parquet")
        _print_ingest(_in_fresh_process("ingest-table", str(source), str(count)), "rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=250_000)
    parser.add_argument("--only", choices=["table", "images"], help="run one half")
    parser.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kind, path, *numbers = args.measure
        if kind.startswith("ingest-"):
            result = measure_ingest(Path(path), int(numbers[0]), kind.removeprefix("ingest-"))
        elif kind == "images":
            result = measure_images(Path(path), int(numbers[0]))
        else:
            result = measure_table(Path(path), int(numbers[0]), int(numbers[1]))
        print(json.dumps(result))
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pomona-bench-data-") as tmp:
        if args.only != "images":
            bench_table(Path(tmp), args.rows, args.batch_rows)
        if args.only != "table":
            bench_images(Path(tmp), args.images)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
