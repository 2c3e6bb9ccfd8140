"""How ``pomona data`` prints datasets, versions, reports, profiles and splits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pomona.cli._render import cell, fmt_size, fmt_time, out, table

if TYPE_CHECKING:
    from rich.console import Console

    from pomona.datasets import DatasetInfo, DatasetSplit, DatasetVersion
    from pomona.datasets.checks import ValidationReport
    from pomona.types import Page

__all__ = [
    "print_datasets",
    "print_labels",
    "print_profile",
    "print_report",
    "print_split",
    "print_version",
    "print_versions",
]


def print_datasets(page: Page[DatasetInfo]) -> None:
    console = out()
    if not page.items:
        console.print("No datasets yet.", markup=False)
        console.print("Ingest one: pomona data ingest photos/ --name apples", style="dim")
        return
    t = table("Name", "Kind", "Latest>", "Versions>", "Created")
    for info in page.items:
        t.add_row(
            cell(info.name, "cyan"),
            cell(info.kind),
            cell(info.latest_version),
            cell(info.num_versions),
            cell(fmt_time(info.created_at, short=True)),
        )
    console.print(t)


def print_versions(page: Page[DatasetVersion]) -> None:
    t = table(
        "Version", "Operation", "Records>", "Quarantined>", "New>", "Size>", "Checks", "Created"
    )
    for v in page.items:
        t.add_row(
            cell(str(v), "cyan"),
            cell(v.lineage.operation),
            cell(v.num_records),
            cell(v.num_quarantined, "yellow" if v.num_quarantined else ""),
            cell(v.num_new),
            cell(fmt_size(v.size_bytes)),
            cell("passed" if v.passed else "FAILED", "green" if v.passed else "red"),
            cell(fmt_time(v.created_at, short=True)),
        )
    out().print(t)
    if page.next_page_token:
        out().print(f"More: add --page-token {page.next_page_token}.", style="dim", markup=False)


def _lineage_rows(v: DatasetVersion) -> list[tuple[str, str | None]]:
    lin = v.lineage
    transform = None
    if lin.transform:
        transform = f"{lin.transform} {dict(lin.transform_params)}"
    return [
        ("Operation", lin.operation),
        ("Parent", str(lin.parent) if lin.parent else None),
        ("Source", lin.source),
        ("Run", lin.run_id),
        ("Transform", transform),
        ("Fitted state", lin.transform_digest),
    ]


def print_version(v: DatasetVersion, splits: Sequence[DatasetSplit]) -> None:
    from rich.table import Table

    console = out()
    grid = Table.grid(padding=(0, 2))
    rows: list[tuple[str, str | None]] = [
        ("Version", str(v)),
        ("Kind", v.kind),
        ("Created", fmt_time(v.created_at)),
        ("Records", f"{v.num_records:,} clean, {v.num_quarantined:,} quarantined"),
        ("New content", f"{v.num_new:,} records"),
        ("Size", fmt_size(v.size_bytes)),
        ("Manifest", v.manifest_digest),
        ("Description", v.description),
        *_lineage_rows(v),
    ]
    for key, value in rows:
        if value:
            grid.add_row(cell(key, "bold"), cell(value))
    console.print(grid)
    if v.label_counts:
        console.print()
        print_labels(v.label_counts)
    for split in splits:
        console.print()
        print_split(split)
    if v.report is not None:
        console.print()
        print_report(v.report)


def print_labels(counts: Mapping[str, int]) -> None:
    total = sum(counts.values()) or 1
    t = table("Label", "Records>", "Share>", title="Labels")
    for label, n in counts.items():
        t.add_row(cell(label), cell(n), cell(f"{n / total:.1%}"))
    out().print(t)


def print_split(split: DatasetSplit) -> None:
    labels = sorted({label for counts in split.counts.values() for label in counts})
    p = split.params
    title = (
        f"Split {split.split_id} (test {p.test}, val {p.val}, "
        f"stratify {p.stratify or 'none'}, seed {p.seed})"
    )
    t = table("Subset", "Records>", *(f"{label}>" for label in labels), title=title)
    for subset, size in split.sizes.items():
        counts = split.counts.get(subset, {})
        t.add_row(cell(subset), cell(size), *(cell(counts.get(label, 0)) for label in labels))
    out().print(t)


def print_report(report: ValidationReport) -> None:
    console = out()
    verdict = "passed" if report.passed else "FAILED"
    console.print(
        f"Validation {verdict}: {sum(c.passed for c in report.checks)} of "
        f"{len(report.checks)} checks passed, {len(report.quarantined):,} records quarantined",
        style="green" if report.passed else "bold red",
        markup=False,
    )
    t = table("Check", "Result", "Blocking", "Failed>", "Of>", "Details")
    for column, width in zip(t.columns[:5], (12, 6, 8, 6, 6), strict=True):
        column.min_width = width
    for c in report.checks:
        t.add_row(
            cell(c.name),
            cell("ok" if c.passed else "FAIL", "green" if c.passed else "red"),
            cell("yes" if c.blocking else "no", "" if c.blocking else "dim"),
            cell(c.failed),
            cell(c.total),
            cell(c.message, "dim"),
        )
    console.print(t)
    _print_quarantine(console, report.quarantined)


def _print_quarantine(console: Console, quarantined: Mapping[str, Sequence[str]]) -> None:
    if not quarantined:
        return
    t = table("Quarantined record", "Reasons", title="Quarantine (first 20)")
    for record, reasons in list(quarantined.items())[:20]:
        t.add_row(cell(record), cell("; ".join(reasons)))
    console.print(t)


def print_profile(profile: Mapping[str, Any]) -> None:
    """The profile's top-level numbers, then each column's statistics when it has them."""
    console = out()
    scalars = {k: v for k, v in profile.items() if not isinstance(v, (dict, list))}
    if scalars:
        t = table("Statistic", "Value>", title="Profile")
        for key, value in scalars.items():
            t.add_row(cell(key), cell(value))
        console.print(t)
    columns = profile.get("columns")
    if isinstance(columns, Mapping) and columns:
        keys = ["dtype", "missing", "mean", "std", "min", "max", "distinct"]
        shown = [k for k in keys if any(k in (c or {}) for c in columns.values())]
        t = table("Column", *(f"{k}>" for k in shown), title="Columns")
        for name, stats in columns.items():
            t.add_row(cell(name), *(cell((stats or {}).get(k)) for k in shown))
        console.print(t)
