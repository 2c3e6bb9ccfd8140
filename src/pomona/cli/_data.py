"""``pomona data``: ingest, list, show, delete, validate, profile, prepare, split, label."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pomona.cli._render import err_console, out, print_json
from pomona.cli._shared import JsonOption, RemoteWorkspaceOption, open_workspace
from pomona.errors import InvalidInputError

__all__ = ["data_app"]

data_app = typer.Typer(
    help="Versioned datasets: ingest, validate, profile, prepare, split and label.",
    no_args_is_help=True,
)

Ref = Annotated[
    str, typer.Argument(help="A dataset version: NAME:VERSION, or NAME for the newest one.")
]
SuiteOption = Annotated[
    Path | None,
    typer.Option("--suite", metavar="FILE", help="A suite YAML file ('pomona data profile')."),
]
StrictOption = Annotated[
    bool,
    typer.Option("--strict", help="Fail (exit 2, no new version) when a blocking check fails."),
]


def _options(pairs: list[str] | None) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInputError(
                f"--option '{pair}' is not KEY=VALUE.", details={"field": "option"}
            )
        options[key.strip()] = value
    return options


def _version_json(version: Any) -> dict[str, Any]:
    from pomona.datasets._codec import version_to_json

    return version_to_json(version)


@data_app.command("ingest")
def ingest(
    source: Annotated[
        str, typer.Argument(help="Folder or file (images, CSV, Parquet), s3://… prefix, or DB URL.")
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="The dataset's name.")],
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            "-l",
            help="Images: 'subfolders' or a label CSV (file,label). Tables: the label column.",
        ),
    ] = None,
    label_column: Annotated[
        str | None, typer.Option("--label-column", help="The label CSV's label column.")
    ] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="SQL query, when SOURCE is a DB URL.")
    ] = None,
    suite: SuiteOption = None,
    strict: StrictOption = False,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            metavar="KEY=VALUE",
            help="Object-storage option, e.g. endpoint_url=http://localhost:9000 (repeat).",
        ),
    ] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="The run that made it.")] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Read SOURCE into a new version of a dataset: hashed, checked, profiled, stored.

    Records that fail a check are quarantined: kept and listed, left out of the clean data.
    Ingesting the same folder again stores only files it has not seen.
    """
    from pomona.cli._data_render import print_report

    with open_workspace(workspace) as ws:
        with err_console().status(f"Ingesting {source} …"):
            version = ws.datasets.ingest(
                name,
                source,
                labels=labels,
                label_column=label_column,
                query=query,
                suite=suite,
                strict=strict,
                storage_options=_options(option),
                run_id=run_id,
                description=description,
            )
    if as_json:
        print_json(_version_json(version))
        return
    out().print(
        f"{version}: {version.num_records:,} records, {version.num_quarantined:,} quarantined, "
        f"{version.num_new:,} new.",
        markup=False,
    )
    if version.report is not None:
        print_report(version.report)


@data_app.command("list")
def list_(
    name: Annotated[str | None, typer.Argument(help="List this dataset's versions.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
    page_token: Annotated[str | None, typer.Option("--page-token")] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """List datasets, or the versions of one (newest first)."""
    from pomona.cli._data_render import print_datasets, print_versions
    from pomona.datasets import _codec

    with open_workspace(workspace) as ws:
        if name is None:
            page: Any = ws.datasets.list_datasets(limit=limit, page_token=page_token)
            if as_json:
                print_json(_codec.page_to_json(page, _codec.info_to_json))
            else:
                print_datasets(page)
            return
        page = ws.datasets.list_versions(name, limit=limit, page_token=page_token)
    if as_json:
        print_json(_codec.page_to_json(page, _codec.version_to_json))
    else:
        print_versions(page)


@data_app.command("show")
def show(ref: Ref, workspace: RemoteWorkspaceOption = None, as_json: JsonOption = False) -> None:
    """Show a version: counts, lineage, labels, splits and its validation report."""
    from pomona.cli._data_render import print_version
    from pomona.datasets._codec import split_to_json

    with open_workspace(workspace) as ws:
        version = ws.datasets.get_version(ref)
        splits = ws.datasets.list_splits(version.ref)
    if as_json:
        print_json({**_version_json(version), "splits": [split_to_json(s) for s in splits]})
        return
    print_version(version, splits)


@data_app.command("delete")
def delete(
    ref: Annotated[
        str, typer.Argument(help="NAME:VERSION to delete one version, or NAME for the dataset.")
    ],
    force: Annotated[
        bool,
        typer.Option("--force", help="Delete even if a model's lineage or a version refers to it."),
    ] = False,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a version, or a dataset with every version; 'pomona gc' frees their storage."""
    from pomona.datasets import parse_ref

    target = parse_ref(ref)
    whole = ":" not in ref
    with open_workspace(workspace) as ws:
        if whole:
            ws.datasets.delete(target.name, force=force)
        else:
            ws.datasets.delete_version(target, force=force)
    what = f"dataset '{target.name}'" if whole else str(target)
    if as_json:
        print_json({"deleted": str(target) if not whole else target.name})
        return
    out().print(f"Deleted {what}; 'pomona gc' frees its storage.", markup=False)


@data_app.command("validate")
def validate(
    ref: Ref,
    suite: SuiteOption = None,
    strict: StrictOption = False,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a version's clean records again (against --suite, else its own suite)."""
    from pomona.cli._data_render import print_report

    with open_workspace(workspace) as ws:
        report = ws.datasets.validate(ref, suite, strict=strict)
    if as_json:
        print_json(report.to_dict())
    else:
        print_report(report)


@data_app.command("profile")
def profile(
    ref: Ref,
    suite_out: Annotated[
        Path | None,
        typer.Option("--suite-out", metavar="FILE", help="Write a suite inferred from it here."),
    ] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a version's profile; with --suite-out, infer a suite (YAML) from it to edit."""
    from pomona.cli._data_render import print_profile

    with open_workspace(workspace) as ws:
        stats = ws.datasets.get_profile(ref)
        suite = ws.datasets.infer_suite(ref) if suite_out is not None else None
    if suite is not None and suite_out is not None:
        suite_out.write_text(suite, encoding="utf-8")
    if as_json:
        print_json(stats)
    else:
        print_profile(stats)
    if suite_out is not None:
        err_console().print(f"Wrote the inferred suite to {suite_out}.", markup=False)


@data_app.command("prepare")
def prepare(
    ref: Ref,
    transform: Annotated[
        str,
        typer.Option(
            "--transform",
            "-t",
            metavar="JSON|FILE",
            help="The transform as JSON (its to_dict()), or a file holding it.",
        ),
    ],
    suite: SuiteOption = None,
    strict: StrictOption = False,
    run_id: Annotated[str | None, typer.Option("--run-id")] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit a transform on a version, apply it, and store the result as a new version."""
    from pomona.datasets._quality import load_transform

    text = Path(transform).read_text() if Path(transform).is_file() else transform
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(
            f"--transform is neither a file nor JSON: {exc}.", details={"field": "transform"}
        ) from exc
    with open_workspace(workspace) as ws:
        version = ws.datasets.prepare(
            ref, load_transform(spec), suite=suite, strict=strict, run_id=run_id
        )
    if as_json:
        print_json(_version_json(version))
        return
    out().print(
        f"{version}: {version.num_records:,} records prepared by {version.lineage.transform} "
        f"from {version.lineage.parent}.",
        markup=False,
    )


@data_app.command("split")
def split(
    ref: Ref,
    test: Annotated[float, typer.Option("--test", min=0.0, max=0.99)] = 0.2,
    val: Annotated[float, typer.Option("--val", min=0.0, max=0.99)] = 0.1,
    stratify: Annotated[
        str, typer.Option("--stratify", help="'label', a table column, or 'none'.")
    ] = "label",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Split a version into train / val / test (stored with it; duplicates kept together)."""
    from pomona.cli._data_render import print_split
    from pomona.datasets._codec import split_to_json

    with open_workspace(workspace) as ws:
        made = ws.datasets.split(
            ref, test=test, val=val, stratify=None if stratify == "none" else stratify, seed=seed
        )
    if as_json:
        print_json(split_to_json(made))
    else:
        print_split(made)


@data_app.command("label")
def label(
    ref: Ref,
    from_csv: Annotated[
        Path | None,
        typer.Option("--from", metavar="CSV", help="Apply the labels of a CSV (file,label)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="RECORD=LABEL", help="Relabel one record (repeat)."),
    ] = None,
    file_column: Annotated[str | None, typer.Option("--file-column")] = None,
    label_column: Annotated[str | None, typer.Option("--label-column")] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the label distribution, or relabel (--from CSV, --set): a new version."""
    from pomona.cli._data_render import print_labels

    with open_workspace(workspace) as ws:
        if from_csv is None and not set_:
            counts = ws.datasets.label_distribution(ref)
            print_json(counts) if as_json else print_labels(counts)
            return
        version = ws.datasets.get_version(ref)
        if from_csv is not None:
            version = ws.datasets.import_labels(
                version, from_csv, file_column=file_column, label_column=label_column
            )
        if set_:
            pairs = {k: v for k, v in (_pair(p) for p in set_)}
            version = ws.datasets.relabel(version, pairs)
    if as_json:
        print_json(_version_json(version))
        return
    out().print(f"{version}: labels changed (from {version.lineage.parent}).", markup=False)
    print_labels(version.label_counts)


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.rpartition("=")
    if not sep or not key:
        raise InvalidInputError(f"--set '{text}' is not RECORD=LABEL.", details={"field": "set"})
    return key, value
