"""The built-in lifecycle steps, as a user's pipeline uses them (embedded workspace)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pomona as pm
from pomona import steps
from pomona.client import Workspace
from pomona.errors import InvalidInputError
from pomona.pipelines import RunState, StepState
from pomona.training import PromotionRefusedError

SCALED_LOGISTIC = {
    "estimator": "sklearn.linear_model.LogisticRegression",
    "scale": True,
    "params": {"C": 10.0, "max_iter": 2000},
}


@pm.pipeline
def cancer_lifecycle(source: str = "cancer.csv", check_only: bool = False) -> None:
    data = steps.split(
        steps.validate(steps.ingest("cancer", source, labels="target")), test=0.25, val=0.1
    )
    trained = steps.train(data, SCALED_LOGISTIC)
    version = steps.register(trained, "cancer", data)
    steps.evaluate(version, data)
    steps.promote(version, check_only=check_only)


@pm.pipeline
def cancer_tuned(source: str = "cancer.csv") -> None:
    data = steps.split(steps.ingest("cancer", source, labels="target"))
    space = {"n_estimators": {"low": 5, "high": 20}, "max_depth": [2, 4]}
    forest = {"estimator": "sklearn.ensemble.RandomForestClassifier", "params": {"n_jobs": 1}}
    steps.tune(data, forest, space, n_trials=2, folds=2, study="cancer-steps")


@pytest.fixture
def local(tmp_path: Path) -> Workspace:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X.iloc[:, :8].assign(target=y.astype(str)).to_csv(tmp_path / "cancer.csv", index=False)
    workspace = pm.connect(str(tmp_path))
    yield workspace
    workspace.close()


def test_the_lifecycle_reads_like_one_and_records_its_lineage(
    local: Workspace, tmp_path: Path
) -> None:
    source = str(tmp_path / "cancer.csv")
    run = local.pipelines.run(cancer_lifecycle, {"source": source})
    assert run.state is RunState.SUCCEEDED, run.error
    assert [s.name for s in run.steps] == [
        "ingest",
        "validate",
        "split",
        "train",
        "register",
        "evaluate",
        "promote",
    ]
    version = local.models.get_version("cancer@champion")
    assert str(version.ref) == local.pipelines.load_output(run.run_id, "register") == "cancer:1"
    assert version.lineage.pipeline_run_id == run.run_id
    assert version.lineage.dataset_versions == ("cancer:1",)
    trained = local.pipelines.load_output(run.run_id, "train")
    assert version.lineage.run_id == trained["run_id"]
    assert trained["metrics"]["accuracy"] > 0.85 and trained["lift"]
    evaluated = local.pipelines.load_output(run.run_id, "evaluate")
    assert evaluated["metrics"]["accuracy"] == pytest.approx(trained["metrics"]["accuracy"])

    again = local.pipelines.run(cancer_lifecycle, {"source": source})
    hits = {s.name: s.cache_hit for s in again.steps}
    assert hits["ingest"] is False and hits["promote"] is False  # side effects always run
    assert hits["train"] and hits["register"] and hits["split"]
    assert local.pipelines.load_output(again.run_id, "register") == "cancer:1"


def test_ingest_without_a_source_reads_the_last_one_again(local: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "cancer.csv"
    local.pipelines.run(cancer_lifecycle, {"source": str(source)})
    lines = source.read_text().splitlines()
    source.write_text("\n".join([*lines, *lines[1:30]]) + "\n")  # new rows arrived

    @pm.pipeline
    def refresh() -> None:
        steps.ingest("cancer", labels="target")

    run = local.pipelines.run(refresh)
    assert run.state is RunState.SUCCEEDED, run.error
    assert local.pipelines.load_output(run.run_id, "ingest") == "cancer:2"


def test_a_refused_gate_fails_the_pipeline_and_leaves_the_alias(
    local: Workspace, tmp_path: Path
) -> None:
    from pomona.config import TargetMetric

    source = str(tmp_path / "cancer.csv")
    first = local.pipelines.run(cancer_lifecycle, {"source": source})
    assert first.state is RunState.SUCCEEDED

    checked = local.pipelines.run(cancer_lifecycle, {"source": source, "check_only": True})
    assert checked.state is RunState.SUCCEEDED
    assert local.pipelines.load_output(checked.run_id, "promote")["passed"] is True

    local.settings.project.targets.append(TargetMetric(name="accuracy", threshold=0.999))
    refused = local.pipelines.run(cancer_lifecycle, {"source": source, "check_only": True})
    assert refused.state is RunState.FAILED
    assert "misses" in (refused.step("promote").error or "") or "refused" in (
        refused.step("promote").error or ""
    )
    assert local.models.get_model("cancer").aliases == {"champion": 1}
    with pytest.raises(PromotionRefusedError):
        local.models.promote("cancer", 1, check_only=True)
    with pytest.raises(InvalidInputError, match="cannot be forced"):
        local.models.promote("cancer", 1, check_only=True, force=True, reason="x")


def test_tuning_as_a_step(local: Workspace, tmp_path: Path) -> None:
    run = local.pipelines.run(cancer_tuned, {"source": str(tmp_path / "cancer.csv")})
    assert run.state is RunState.SUCCEEDED, run.error
    best = local.pipelines.load_output(run.run_id, "tune")
    assert best["study"] == "cancer-steps"
    assert set(best["best_params"]) == {"n_estimators", "max_depth"}
    assert 5 <= best["best_params"]["n_estimators"] <= 20
    model = steps.run_model(local, best["run_id"])
    assert model.n_estimators == best["best_params"]["n_estimators"]


def test_bad_descriptions_name_what_is_wrong(local: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not a scikit-learn or LightGBM"):
        steps.model_spec({"estimator": "os.system"})
    with pytest.raises(InvalidInputError, match="not an estimator class"):
        steps.model_spec({"estimator": "sklearn.linear_model.NoSuchModel"})
    with pytest.raises(InvalidInputError, match="Unknown model flavor"):
        steps.model_spec({"flavor": "xgboost"})
    with pytest.raises(InvalidInputError, match="needs low and high"):
        steps.search_space({"depth": {"low": 2}})
    with pytest.raises(InvalidInputError, match="neither a range nor a list"):
        steps.search_space({"depth": 3})
    assert steps.search_space({"lr": {"low": 0.01, "high": 1, "log": True}}, prefix="m__") == {
        "m__lr": (0.01, 1, "log")
    }

    @pm.pipeline
    def broken() -> None:
        data = steps.split(steps.ingest("cancer", str(tmp_path / "cancer.csv"), labels="target"))
        steps.train(data, {"estimator": "sklearn.nothing.Here"})

    run = local.pipelines.run(broken)
    assert run.state is RunState.FAILED
    assert run.step("train").state is StepState.FAILED
    assert "not an estimator class" in (run.step("train").error or "")


def test_image_features_are_the_feature_stores(tmp_path: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline

    from pomona.examples.apples import generate_apples
    from pomona.features import image_vector
    from pomona.training.image_features import ImageFeatures

    images, metas = generate_apples(40, seed=3, size=32)
    features = ImageFeatures().fit_transform(images)
    assert features.shape == (40, len(image_vector(images[0])))
    assert np.allclose(features[5], image_vector(images[5]))
    model = make_pipeline(ImageFeatures(), RandomForestClassifier(10, random_state=0))
    model.fit(images, [m.grade for m in metas])
    with pytest.raises(InvalidInputError, match="batch of RGB images"):
        ImageFeatures().transform(images[0])

    ws = pm.connect(str(tmp_path))
    try:
        version = ws.models.register("apples", model, input_example=images[:2])
        loaded = ws.models.load(str(version.ref))  # trusted without trust=True
        assert list(loaded.predict(images[:4])) == list(model.predict(images[:4]))
    finally:
        ws.close()


@pm.pipeline
def shop_lifecycle(source: str = "shop.csv") -> None:
    prepare = {
        "transform": "Chain",
        "params": {
            "steps": [
                {"transform": "DropColumns", "params": {"columns": ["order_id"]}},
                {"transform": "EncodeCategories", "params": {"columns": ["country"]}},
            ]
        },
    }
    raw = steps.ingest("shop", source, labels="returned")
    data = steps.split(steps.prepare(raw, prepare), test=0.25, val=0.1)
    steps.promote(steps.register(steps.train(data, SCALED_LOGISTIC), "shop", data))


def test_a_model_of_a_prepared_table_is_served_raw_records(tmp_path: Path) -> None:
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 600
    country = rng.choice(["NL", "DE", "FR"], n)
    amount = rng.gamma(2.0, 40.0, n)
    returned = ((amount > 100) | (country == "FR")).astype(int)
    frame = pd.DataFrame(
        {"order_id": [f"o{i}" for i in range(n)], "amount": amount, "country": country}
    )
    frame.assign(returned=returned).to_csv(tmp_path / "shop.csv", index=False)
    ws = pm.connect(str(tmp_path))
    try:
        run = ws.pipelines.run(shop_lifecycle, {"source": str(tmp_path / "shop.csv")})
        assert run.state is RunState.SUCCEEDED, run.error
        ws.deployments.create("shop-prod", model="shop@champion")
        # requests carry the raw columns the preparation keeps: no order_id, no one-hot
        answer = ws.deployments.predict(
            "shop-prod", [{"amount": 250.0, "country": "NL"}, {"amount": 10.0, "country": "FR"}]
        )
        assert [str(p) for p in answer["predictions"]] == ["1", "1"]
        quiet = ws.deployments.predict("shop-prod", [{"amount": 10.0, "country": "DE"}])
        assert str(quiet["predictions"][0]) == "0"
        with pytest.raises(InvalidInputError, match="missing field 'country'"):
            ws.deployments.predict("shop-prod", [{"amount": 10.0}])

        from pomona.client._monitoring import TrainingDataReferences

        reference = TrainingDataReferences(ws).reference("shop-prod", "shop:1")
        assert reference is not None
        assert set(reference.columns) == {"amount", "country"}  # what requests carry
    finally:
        ws.close()
