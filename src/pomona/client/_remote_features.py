"""The feature store over the REST API (remote mode).

Sources named in definitions are read by the server. Entity frames go up as Parquet and
joined frames come back as Parquet; everything else is JSON.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from pomona.client._remote import RemoteTracking
from pomona.features import _json
from pomona.features._codec import FeatureValue
from pomona.features._frames import rows_to_arrow, to_arrow
from pomona.features.base import (
    AppliedObject,
    EntityInfo,
    EntityRows,
    FeatureServiceInfo,
    FeaturesRef,
    FeatureViewInfo,
    MaterializeResult,
    PushResult,
    TrainingDataset,
)
from pomona.features.definitions import Definition
from pomona.types import Page

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

__all__ = ["RemoteFeatures"]

_PARQUET = "application/vnd.apache.parquet"
_API = "/api/v1"


class RemoteFeatures:
    """Implements ``FeaturesAPI`` by calling a Pomona server (over ``RemoteTracking``'s client)."""

    def __init__(self, http: RemoteTracking) -> None:
        self._http = http

    def _get(self, path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return self._http._request("GET", "/features" + path, params=query)

    def _post(self, path: str, body: Any) -> Any:
        return self._http._json("POST", "/features" + path, body)

    def _page(self, path: str, limit: int, token: str | None, decode: Any) -> Page[Any]:
        data = self._get(path, limit=limit, page_token=token)
        return Page([decode(i) for i in data["items"]], data.get("next_page_token"), data["total"])

    # --- definitions --------------------------------------------------------------------

    def apply(self, objects: Sequence[Definition], *, ingest: bool = True) -> list[AppliedObject]:
        body = {"objects": [o.to_spec() for o in objects], "ingest": ingest}
        return [_json.applied_from_json(a) for a in self._post("/apply", body)["items"]]

    def get_entity(self, name: str) -> EntityInfo:
        return _json.entity_from_json(self._get(f"/entities/{quote(name)}"))

    def list_entities(self, *, limit: int = 100, page_token: str | None = None) -> Page[EntityInfo]:
        return self._page("/entities", limit, page_token, _json.entity_from_json)

    def get_feature_view(self, name: str, *, version: int | None = None) -> FeatureViewInfo:
        return _json.view_from_json(self._get(f"/views/{quote(name)}", version=version))

    def list_feature_views(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[FeatureViewInfo]:
        return self._page("/views", limit, page_token, _json.view_from_json)

    def get_feature_service(self, name: str) -> FeatureServiceInfo:
        return _json.service_from_json(self._get(f"/services/{quote(name)}"))

    def list_feature_services(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[FeatureServiceInfo]:
        return self._page("/services", limit, page_token, _json.service_from_json)

    def ingest(self, view: str) -> FeatureViewInfo:
        return _json.view_from_json(self._post(f"/views/{quote(view)}/ingest", {}))

    # --- offline ------------------------------------------------------------------------

    def _frame_request(
        self, path: str, entity_df: Any, features: FeaturesRef, params: dict[str, Any]
    ) -> Any:
        """POST the entity rows as Parquet; the raw response (errors already raised)."""
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        out = io.BytesIO()
        pq.write_table(to_arrow(entity_df), out)
        query: list[tuple[str, Any]] = [(k, v) for k, v in params.items()]
        if isinstance(features, str) and ":" not in features:
            query.append(("service", features))
        else:
            refs = [features] if isinstance(features, str) else list(features)
            query.extend(("features", f) for f in refs)
        with self._http._translated():
            response = self._http._http.post(
                _API + "/features" + path,
                content=out.getvalue(),
                params=query,
                headers={"Content-Type": _PARQUET},
            )
        if response.status_code >= 400:
            self._http._decode(response)
        return response

    def get_historical_table(
        self,
        entity_df: pd.DataFrame | pa.Table,
        features: FeaturesRef,
        *,
        timestamp_column: str = "event_timestamp",
        full_names: bool = False,
    ) -> pa.Table:
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        params = {"timestamp_column": timestamp_column, "full_names": str(full_names).lower()}
        response = self._frame_request("/historical", entity_df, features, params)
        return pq.read_table(io.BytesIO(response.content))

    def get_historical_features(
        self,
        entity_df: pd.DataFrame | pa.Table,
        features: FeaturesRef,
        *,
        timestamp_column: str = "event_timestamp",
        full_names: bool = False,
    ) -> pd.DataFrame:
        table = self.get_historical_table(
            entity_df, features, timestamp_column=timestamp_column, full_names=full_names
        )
        frame = table.to_pandas()
        if hasattr(entity_df, "index") and type(entity_df).__name__ == "DataFrame":
            frame.index = entity_df.index  # the caller's index, as embedded
        return frame

    def save_training_dataset(
        self,
        name: str,
        entity_df: pd.DataFrame | pa.Table,
        features: FeaturesRef,
        *,
        timestamp_column: str = "event_timestamp",
        full_names: bool = False,
    ) -> TrainingDataset:
        params = {"timestamp_column": timestamp_column, "full_names": str(full_names).lower()}
        path = f"/training-datasets/{quote(name)}"
        response = self._frame_request(path, entity_df, features, params)
        return _json.training_from_json(response.json())

    def get_training_dataset(self, name: str, *, version: int | None = None) -> TrainingDataset:
        return _json.training_from_json(
            self._get(f"/training-datasets/{quote(name)}", version=version)
        )

    def load_training_dataset(self, name: str, *, version: int | None = None) -> pd.DataFrame:
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        params = {"version": version} if version is not None else {}
        with self._http._translated():
            response = self._http._http.get(
                f"{_API}/features/training-datasets/{quote(name)}/data", params=params
            )
        if response.status_code >= 400:
            self._http._decode(response)
        return pq.read_table(io.BytesIO(response.content)).to_pandas()

    # --- online -------------------------------------------------------------------------

    def materialize(
        self, start: datetime, end: datetime, *, views: Sequence[str] | None = None
    ) -> MaterializeResult:
        body = {"start": start.isoformat(), "end": end.isoformat(), "views": views}
        return _json.materialized_from_json(self._post("/materialize", body))

    def materialize_incremental(
        self, end: datetime | None = None, *, views: Sequence[str] | None = None
    ) -> MaterializeResult:
        body = {"end": None if end is None else end.isoformat(), "views": views}
        return _json.materialized_from_json(self._post("/materialize", body))

    def get_online_features(
        self,
        entity_rows: EntityRows,
        features: FeaturesRef,
        *,
        full_names: bool = False,
        at: datetime | None = None,
    ) -> dict[str, list[FeatureValue]]:
        body = {
            "entities": _plain_rows(entity_rows),
            "features": features if isinstance(features, str) else list(features),
            "full_names": full_names,
            "at": None if at is None else at.isoformat(),
        }
        columns = self._post("/online", body)["columns"]
        return {k: [_json.value_from_json(v) for v in vs] for k, vs in columns.items()}

    def get_feature_vectors(
        self, service: str, entity_rows: EntityRows, *, at: datetime | None = None
    ) -> list[list[FeatureValue]]:
        body = {
            "service": service,
            "entities": _plain_rows(entity_rows),
            "at": None if at is None else at.isoformat(),
        }
        rows = self._post("/vectors", body)["rows"]
        return [[_json.value_from_json(v) for v in row] for row in rows]

    def push(
        self,
        view: str,
        rows: pd.DataFrame | pa.Table | Sequence[Mapping[str, object]],
        *,
        to: Literal["online", "offline", "online_and_offline"] = "online_and_offline",
    ) -> PushResult:
        table = rows_to_arrow(rows, "rows")
        records = [{k: _plain(v) for k, v in r.items()} for r in table.to_pylist()]
        body = {"view": view, "rows": records, "to": to}
        return _json.push_from_json(self._post("/push", body))


def _plain(value: object) -> object:
    """A JSON value: datetimes as ISO text (naive ones are UTC)."""
    if isinstance(value, datetime):
        return value.isoformat() if value.tzinfo else value.isoformat() + "+00:00"
    if hasattr(value, "item") and callable(getattr(value, "item", None)):
        return value.item()  # numpy scalars
    return value


def _plain_rows(rows: EntityRows) -> Any:
    if isinstance(rows, Mapping):
        return {str(k): [_plain(v) for v in vs] for k, vs in rows.items()}
    return [{str(k): _plain(v) for k, v in r.items()} for r in rows]
