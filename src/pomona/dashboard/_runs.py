"""``/runs``: the runs list with filter, experiment, sortable columns and pages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from starlette.responses import HTMLResponse

from pomona._utils.paging import decode_page_token, encode_page_token
from pomona.dashboard._render import render
from pomona.errors import InvalidInputError
from pomona.tracking.base import TrackingAPI
from pomona.types import Page, Run

__all__ = ["RunsQuery", "runs_page"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
METRIC_COLUMNS = 6
PARAM_COLUMNS = 4


@dataclass(frozen=True)
class Header:
    """A column header; ``url`` sorts by the column (``None``: not sortable)."""

    label: str
    url: str | None = None
    arrow: str = ""
    numeric: bool = False


@dataclass(frozen=True)
class RunsQuery:
    """What the runs page shows, as carried in its URL."""

    filter: str = ""
    experiment: str = ""
    order_by: str = ""
    page_token: str = ""
    limit: int = DEFAULT_LIMIT

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> RunsQuery:
        try:
            limit = int(params.get("limit", DEFAULT_LIMIT))
        except ValueError:
            limit = DEFAULT_LIMIT
        return cls(
            filter=params.get("filter", "").strip(),
            experiment=params.get("experiment", ""),
            order_by=params.get("order_by", "").strip(),
            page_token=params.get("page_token", ""),
            limit=min(max(limit, 1), MAX_LIMIT),
        )

    def url(self, **changes: Any) -> str:
        """This page's URL with ``changes`` applied (empty values left out)."""
        q = replace(self, **changes)
        pairs = [
            ("filter", q.filter),
            ("experiment", q.experiment),
            ("order_by", q.order_by),
            ("limit", "" if q.limit == DEFAULT_LIMIT else str(q.limit)),
            ("page_token", q.page_token),
        ]
        kept = [(k, v) for k, v in pairs if v]
        return "/runs" + ("?" + urlencode(kept) if kept else "")

    def sort(self) -> tuple[str, bool]:
        """The sort field and whether it is descending."""
        parts = self.order_by.split()
        return (parts[0], parts[-1].lower() == "desc") if parts else ("start_ms", True)

    def header(
        self, label: str, field: str | None, *, desc_first: bool, numeric: bool = False
    ) -> Header:
        if field is None:
            return Header(label, numeric=numeric)
        current, desc = self.sort()
        if current == field:
            arrow, next_desc = ("▼" if desc else "▲"), not desc
        else:
            arrow, next_desc = "", desc_first
        clause = f"{field} desc" if next_desc else field
        return Header(label, self.url(order_by=clause, page_token=""), arrow, numeric)


def _sort_field(kind: str, key: str) -> str | None:
    """``metrics.acc`` for a key the sort syntax can name (no spaces), else ``None``."""
    return None if " " in key else f"{kind}.{key}"


def common_keys(maps: Iterable[Mapping[str, object]], n: int, also: str | None) -> list[str]:
    """The ``n`` keys most runs have (ties by name), plus ``also`` if given."""
    counts = Counter(key for m in maps for key in m)
    keys = [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]
    if also is not None and also not in keys:
        keys.insert(0, also)
    return keys


def _sorted_key(query: RunsQuery, kind: str) -> str | None:
    field, _ = query.sort()
    prefix = f"{kind}."
    return field[len(prefix) :].strip("`") if field.startswith(prefix) else None


def _experiments(service: TrackingAPI, runs: Sequence[Run], selected: str) -> list[str]:
    names = set(service.list_experiments())
    if selected:
        names.add(selected)
    return sorted(names)


def _search(service: TrackingAPI, query: RunsQuery) -> tuple[Page[Run], int, int]:
    """The page, its offset, and the total (counted again on pages after the first)."""
    offset = decode_page_token(query.page_token or None)
    args: dict[str, Any] = {
        "experiment": query.experiment or None,
        "order_by": [query.order_by] if query.order_by else [],
    }
    flt = query.filter or None
    page = service.search_runs(flt, limit=query.limit, page_token=query.page_token or None, **args)
    total = page.total
    if total is None:
        total = service.search_runs(flt, limit=1, **args).total or 0
    return page, offset, total


def runs_page(service: TrackingAPI, params: Mapping[str, str]) -> HTMLResponse:
    """The runs list; a bad filter or sort renders the page with the error, status 422."""
    query = RunsQuery.parse(params)
    error: InvalidInputError | None = None
    try:
        page, offset, total = _search(service, query)
    except InvalidInputError as exc:
        error, page, offset, total = exc, Page(items=[]), 0, 0
    runs = list(page.items)
    metric_keys = common_keys(
        (r.metrics for r in runs), METRIC_COLUMNS, _sorted_key(query, "metrics")
    )
    param_keys = common_keys((r.params for r in runs), PARAM_COLUMNS, _sorted_key(query, "params"))
    prev_url = None
    if offset > 0:
        back = max(0, offset - query.limit)
        prev_url = query.url(page_token=encode_page_token(back) if back else "")
    next_url = query.url(page_token=page.next_page_token) if page.next_page_token else None
    return render(
        "runs.html",
        status=422 if error else 200,
        title="Runs",
        active="runs",
        query=query,
        default_limit=DEFAULT_LIMIT,
        error=error,
        runs=runs,
        total=total,
        first=offset + 1,
        last=offset + len(runs),
        prev_url=prev_url,
        next_url=next_url,
        experiments=_experiments(service, runs, query.experiment),
        attr_headers=[
            query.header("Status", "status", desc_first=False),
            query.header("Name", "name", desc_first=False),
            query.header("Experiment", "experiment", desc_first=False),
            query.header("Start (UTC)", "start_ms", desc_first=True),
            Header("Duration"),
        ],
        metric_keys=metric_keys,
        metric_headers=[
            query.header(k, _sort_field("metrics", k), desc_first=True, numeric=True)
            for k in metric_keys
        ],
        param_keys=param_keys,
        param_headers=[
            query.header(k, _sort_field("params", k), desc_first=False) for k in param_keys
        ],
    )
