"""Other strings a client sends that the server turned into imports: a feature view's
transformation function and a dataset transform's name.

A feature view names its transformation as ``module:function``; applying it imported the
module on the server (running its top-level code) and walked attributes from it. Now a
server imports only modules listed in ``features.trusted_modules`` (and Pomona's own), and
refuses others with a 422 before anything is stored or imported. A transform sent to
``…/prepare`` names a class from a fixed table of Pomona's transforms: nothing is imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pandas as pd
import pytest

if TYPE_CHECKING:
    from _server import StartServer

SIDE_EFFECT_MODULE = "pomona_import_side_effect"


def _module_with_side_effect(folder: Path, marker: Path) -> dict[str, str]:
    """An installed module whose import creates ``marker``; returns the server's env."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{SIDE_EFFECT_MODULE}.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n\n"
        "def f(batch, context):\n"
        "    return batch\n\n"
        "f.__pomona_transformation__ = True\n"
    )
    path = os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {"PYTHONPATH": path}


def _objects(source: dict[str, Any], function: str) -> list[dict[str, Any]]:
    return [
        {"kind": "entity", "name": "apple", "join_keys": {"apple_id": "int64"}},
        {
            "kind": "feature_view",
            "name": "sizes",
            "entities": ["apple"],
            "features": [{"name": "size", "dtype": "float64"}],
            "source": source,
            "transformation": {"function": function, "params": {}},
        },
    ]


def _assert_refused(answer: httpx.Response, field: str) -> None:
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input" and error["details"]["field"] == field, error


def test_a_feature_transformation_in_an_untrusted_module_is_never_imported(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "imported"
    env = _module_with_side_effect(tmp_path / "site", marker)
    data = tmp_path / "data"
    data.mkdir()
    frame = pd.DataFrame(
        {
            "apple_id": [1, 2],
            "size": [1.0, 2.0],
            "event_timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
        }
    )
    frame.to_parquet(data / "sizes.parquet")
    source = {"type": "parquet", "path": str(data / "sizes.parquet")}
    settings = {"datasets.allowed_roots": [str(data)]}
    server = start_server(workspace_dir, env=env, settings=settings)
    with server.client() as http:
        for function in [
            f"{SIDE_EFFECT_MODULE}:f",
            "unittest.__main__:main",  # runs unittest's command line when imported
            "pomona._utils.git:subprocess.run",
        ]:
            answer = http.post(
                "/api/v1/features/apply", json={"objects": _objects(source, function)}
            )
            assert not marker.exists(), "the server imported the transformation's module"
            _assert_refused(answer, "transformation.function")
        assert http.get("/api/v1/features/views").json()["items"] == []
        assert http.get("/api/v1/features/entities").json()["items"] == []
    assert server.alive()


def test_a_transform_names_only_pomonas_transforms(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame({"x": [1.0, 2.0, None], "y": [0, 1, 0]}).to_csv(data / "t.csv", index=False)
    server = start_server(workspace_dir, settings={"datasets.allowed_roots": [str(data)]})
    with server.client() as http:
        made = http.post("/api/v1/datasets/t/versions", json={"source": str(data / "t.csv")})
        assert made.status_code == 201, made.text
        for transform, field in [
            ({"transform": "subprocess:run", "params": {"args": ["true"]}}, "transform"),
            ({"transform": "pomona._utils.git:subprocess.Popen", "params": {}}, "transform"),
            ({"transform": "Transform", "params": {}}, "transform"),
            ({"transform": "Impute", "params": {"func": "os.system"}}, "transform.params"),
        ]:
            answer = http.post(
                "/api/v1/datasets/t/versions/1/prepare", json={"transform": transform}
            )
            _assert_refused(answer, field)
        versions = http.get("/api/v1/datasets/t/versions").json()["items"]
        assert [v["version"] for v in versions] == [1]
        ok = {"transform": "Impute", "params": {"strategy": "mean", "columns": ["x"]}}
        answer = http.post("/api/v1/datasets/t/versions/1/prepare", json={"transform": ok})
        assert answer.status_code == 201, answer.text
    assert server.alive()


@pytest.mark.parametrize(
    "estimator",
    [
        "sklearn.feature_extraction.text.CountVectorizer",  # input="filename" reads files
        "sklearn.utils.Bunch",  # a class, not an estimator
        "sklearn.utils._testing.TempMemmap",  # not a model
        "sklearn.pipeline.Pipeline",  # its steps would be objects
        "sklearn.utils.fixes.parse_version",  # a function
        "sklearn.utils.np.ndarray",  # an attribute of what a module imported
        "os.system",
    ],
)
def test_a_model_description_names_only_classifier_and_regressor_classes(estimator: str) -> None:
    from pomona import steps
    from pomona.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as info:
        steps.model_spec({"estimator": estimator, "params": {"input": "filename"}})
    assert info.value.details["field"] == "model.estimator"
    spec = steps.model_spec({"estimator": "sklearn.ensemble.RandomForestClassifier"})
    assert spec.name == "RandomForestClassifier"


def test_a_later_transform_class_cannot_take_the_name_of_one_of_pomonas() -> None:
    from pomona.datasets.transforms import Impute, Transform, load_transform

    class Shadow(Transform):
        name = "Impute"

        def fit(self, data: object) -> Shadow:
            return self

        def transform(self, data: Any) -> Any:
            raise AssertionError("the shadowing class ran")

    loaded = load_transform({"transform": "Impute", "params": {"strategy": "mean"}})
    assert type(loaded) is Impute and Shadow.name == "Impute"
