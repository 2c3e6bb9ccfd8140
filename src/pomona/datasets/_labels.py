"""Labels: from sub-folder names, from a CSV (file, label), and checks on both."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pomona.datasets._refs import check_label
from pomona.errors import InvalidInputError

__all__ = [
    "NO_LABEL",
    "LabelTable",
    "check_known",
    "count_labels",
    "read_label_csv",
    "subfolder_label",
]

NO_LABEL = "(none)"
"""The key ``label_counts`` uses for records without a label."""
FILE_COLUMNS = ("file", "path", "filename", "record_id", "image")
LABEL_COLUMNS = ("label", "class", "grade", "target")
MAX_LABEL_FILE = 64 * 1024 * 1024


@dataclass(frozen=True)
class LabelTable:
    """Labels read from a CSV: by record id, with the line each came from."""

    name: str
    labels: Mapping[str, str]
    lines: Mapping[str, int]


def subfolder_label(record_id: str) -> str | None:
    """``good/apple_1.png`` is labelled ``good``; a file at the top has no label."""
    head, sep, _ = record_id.partition("/")
    return head if sep else None


def _pick(columns: list[str], wanted: str | None, defaults: tuple[str, ...], what: str) -> str:
    lower = {c.strip().lower(): c for c in columns}
    if wanted is not None:
        if wanted in columns:
            return wanted
        raise InvalidInputError(
            f"The label file has no column '{wanted}' (columns: {', '.join(columns)}).",
            details={"field": f"{what}_column"},
        )
    for name in defaults:
        if name in lower:
            return lower[name]
    raise InvalidInputError(
        f"The label file names no {what} column (columns: {', '.join(columns)}).",
        hint=f"Name it one of {', '.join(defaults)}, or pass {what}_column=….",
        details={"field": f"{what}_column"},
    )


def read_label_csv(
    text: str,
    *,
    name: str,
    file_column: str | None = None,
    label_column: str | None = None,
) -> LabelTable:
    """Parse a label CSV (a header, then one row per file).

    Raises:
        InvalidInputError: no header, unknown columns, an empty label or a file listed twice
            with two labels; the message names the file and line.
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise InvalidInputError(f"The label file '{name}' is empty.", details={"field": "labels"})
    columns = [c.strip() for c in header]
    file_col = _pick(columns, file_column, FILE_COLUMNS, "file")
    if label_column is None and len(columns) == 2:
        label_col = columns[1 - columns.index(file_col)]
    else:
        label_col = _pick(columns, label_column, LABEL_COLUMNS, "label")
    fi, li = columns.index(file_col), columns.index(label_col)
    labels: dict[str, str] = {}
    lines: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(fi, li):
            raise InvalidInputError(
                f"{name}, line {line}: expected {len(columns)} fields, found {len(row)}.",
                details={"field": "labels", "line": line},
            )
        record_id = row[fi].strip().removeprefix("./")
        label = check_label(row[li], f"{name}, line {line} ('{record_id}')")
        if record_id in labels and labels[record_id] != label:
            raise InvalidInputError(
                f"{name}, line {line}: '{record_id}' is labelled '{label}' here and "
                f"'{labels[record_id]}' on line {lines[record_id]}.",
                hint="Keep one row per file.",
                details={"field": "labels", "line": line},
            )
        labels[record_id] = label
        lines.setdefault(record_id, line)
    return LabelTable(name=name, labels=labels, lines=lines)


def read_label_file(path: str | Path, **columns: str | None) -> LabelTable:
    """``read_label_csv`` on a local file."""
    file = Path(path)
    try:
        if file.stat().st_size > MAX_LABEL_FILE:
            raise InvalidInputError(
                f"The label file '{file}' is larger than {MAX_LABEL_FILE} bytes.",
                details={"field": "labels"},
            )
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"Cannot read the label file '{file}': {exc}.", details={"field": "labels"}
        ) from exc
    return read_label_csv(text, name=file.name, **columns)


def check_known(table: LabelTable, known: Iterable[str], where: str) -> None:
    """Raise if the label file names a record that ``where`` does not hold."""
    known_ids = set(known)
    unknown = [rid for rid in table.labels if rid not in known_ids]
    if not unknown:
        return
    first = min(unknown, key=lambda rid: table.lines.get(rid, 0))
    more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
    line = table.lines.get(first)
    if line is None:  # labels given as a mapping, not a file
        raise InvalidInputError(
            f"'{first}' is not a record of {where}{more}.",
            hint=f"Record ids are the paths 'pomona data show {where}' lists.",
            details={"field": "labels", "file": first},
        )
    raise InvalidInputError(
        f"{table.name}, line {line}: '{first}' is not a file of {where}{more}.",
        hint="Paths in the label file are relative to the source folder, with '/'.",
        details={"field": "labels", "line": line, "file": first},
    )


def count_labels(labels: Iterable[str | None]) -> dict[str, int]:
    """Records per label, most frequent first; unlabelled ones under ``NO_LABEL``."""
    counts = Counter(NO_LABEL if label is None else label for label in labels)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
