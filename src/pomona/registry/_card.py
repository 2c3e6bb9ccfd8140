"""The model card: Markdown generated from a version's record, editable afterwards."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from pomona.registry.records import Lineage
from pomona.registry.signature import Signature, TensorSpec

__all__ = ["generate_card"]


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _specs(specs: tuple[TensorSpec, ...]) -> list[str]:
    rows = ["| name | dtype | shape |", "| --- | --- | --- |"]
    rows += [f"| {_cell(s.name)} | {s.dtype} | {list(s.shape)} |" for s in specs[:50]]
    if len(specs) > 50:
        rows.append(f"| … {len(specs) - 50} more | | |")
    return rows


def _metrics(metrics: Mapping[str, float]) -> list[str]:
    if not metrics:
        return ["No metrics were recorded."]
    rows = ["| metric | value |", "| --- | ---: |"]
    for key, value in sorted(metrics.items()):
        rows.append(f"| {_cell(key)} | {'nan' if math.isnan(value) else f'{value:.4g}'} |")
    return rows


def _lineage(name: str, lineage: Lineage) -> list[str]:
    items = [
        ("Run", f"`{lineage.run_id}`" if lineage.run_id else None),
        ("Pipeline run", f"`{lineage.pipeline_run_id}`" if lineage.pipeline_run_id else None),
        ("Datasets", ", ".join(f"`{d}`" for d in lineage.dataset_versions) or None),
        ("Parent", f"`{name}:{lineage.parent_version}`" if lineage.parent_version else None),
    ]
    lines = [f"- {label}: {value}" for label, value in items if value]
    return lines or ["No lineage was recorded."]


def generate_card(
    *,
    name: str,
    version: int,
    flavor: str,
    created_at: datetime,
    created_by: str,
    description: str,
    signature: Signature,
    metrics: Mapping[str, float],
    lineage: Lineage,
    tags: Mapping[str, str],
) -> str:
    """A Markdown card: what the model is, how it was made, what it takes and returns."""
    when = created_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# {name} — version {version}",
        "",
        f"Registered {when} by {_cell(created_by)}. Flavor: `{flavor}`.",
        "",
        "## Description",
        "",
        description.strip() or "_No description yet: edit this card to add one._",
        "",
        "## Metrics",
        "",
        *_metrics(metrics),
        "",
        f"## Inputs ({signature.input_kind})",
        "",
        *_specs(signature.inputs),
        "",
        "## Outputs",
        "",
        *_specs(signature.outputs),
        "",
        "## Lineage",
        "",
        *_lineage(name, lineage),
        "",
    ]
    if tags:
        lines += [
            "## Tags",
            "",
            *[f"- {_cell(k)}: {_cell(v)}" for k, v in sorted(tags.items())],
            "",
        ]
    lines += [
        "## Intended use and limitations",
        "",
        "_Edit this card to say what the model is for, what data it was not trained on, "
        "and the slices where it is weaker._",
        "",
    ]
    return "\n".join(lines)
