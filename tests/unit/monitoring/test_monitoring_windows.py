"""Windows of the prediction logs: computed once each, with quality, outputs, drift and
performance in a small profile; late labels recompute a window's performance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pomona.errors import InvalidInputError
from pomona.monitoring import DriftThresholds, Monitor, MonitorNotFoundError, Reference
from pomona.testing.monitoring import synthetic_log, write_feedback, write_log


def _values(env: Any, name: str, metric: str, feature: str = "") -> list[float]:
    return [p.value for p in env.service.results(name, metric=metric, feature=feature)]


def test_each_closed_window_is_computed_once_and_new_ones_alone(env: Any) -> None:
    for i in range(3):
        env.hour(i, n=500)
    env.service.create("demo", window="1h")
    first = env.service.run("demo", now=env.after(1))[0]  # hour 2 is still open
    assert first.computed == (env.start(0), env.start(1))
    stored = {w.start_at: w.computed_at for w in env.service.windows("demo")}

    assert env.service.run("demo", now=env.after(1))[0].computed == ()
    env.hour(5, n=500)  # hours 3 and 4 had no traffic
    later = env.service.run("demo", now=env.after(5))[0]
    assert later.computed == (env.start(2), env.start(5))
    again = {w.start_at: w.computed_at for w in env.service.windows("demo")}
    assert {k: again[k] for k in stored} == stored  # old windows untouched
    assert _values(env, "demo", "rows") == [500.0, 500.0, 500.0, 500.0]


def test_a_window_waits_for_its_lag(env: Any) -> None:
    env.hour(0, n=200)
    env.service.create("demo", window="1h", lag="10m")
    assert env.service.run("demo", now=env.after(0))[0].computed == ()  # 1 min after: too soon
    env.service.create("demo", window="1h", lag="30s", replace=True)
    assert env.service.run("demo", now=env.after(0))[0].computed == (env.start(0),)


def test_traffic_latency_and_outputs_match_the_rows(env: Any) -> None:
    rows = env.hour(0, n=3000, error_rate=0.1)
    env.service.create("demo", window="1h")
    env.service.run("demo", now=env.after(0))
    (window,) = env.service.windows("demo")
    p = window.profile
    status = np.array(rows["status"])
    assert p["rows"] == 3000 and p["errors"] == int((status != "ok").sum())
    assert p["latency_ms"]["p99"] == pytest.approx(np.quantile(rows["latency_ms"], 0.99))
    ok = status == "ok"
    assert p["outputs"]["non_null"] == 1.0
    shares = dict(
        zip(
            p["outputs"]["predictions"]["values"],
            p["outputs"]["predictions"]["counts"],
            strict=True,
        )
    )
    assert shares["a"] == sum(1 for v in rows["prediction"] if v == "a")
    expected = float(np.mean(np.asarray(rows["confidence"])[ok]))
    assert _values(env, "demo", "estimated_accuracy") == [pytest.approx(expected)]
    assert _values(env, "demo", "error_rate") == [pytest.approx(1 - ok.mean())]
    assert p["versions"][0]["model"] == "demo:1"


def test_quality_counts_missing_out_of_range_type_errors_and_schema(env: Any) -> None:
    rows = synthetic_log(1000, env.t0, env.t0 + 3_600_000, seed=3, missing=0.25)
    rows["in__x"] = np.where(np.arange(1000) < 50, 50.0, rows["in__x"])  # far out of range
    rows["in__size"] = ["big" if i < 100 else str(i) for i in range(1000)]  # text, not numbers
    rows["in__surprise"] = np.ones(1000)
    write_log(env.metadata, env.artifacts, rows)
    env.references.value = Reference(
        "ref",
        "test",
        {**env.references.value.columns, "size": np.arange(1000.0), "gone": np.ones(1000)},
    )
    env.service.create("demo", window="1h")
    env.service.run("demo", now=env.after(0))
    (window,) = env.service.windows("demo")
    f = window.profile["features"]
    assert f["x"]["missing"] == pytest.approx(np.isnan(rows["in__x"]).mean())
    assert f["x"]["out_of_range"] == pytest.approx(50 / 1000, abs=0.01)
    assert f["size"]["type_errors"] == pytest.approx(0.1)
    assert window.profile["schema"]["missing"] == ["gone"]
    assert window.profile["schema"]["unexpected"] == ["surprise"]
    assert _values(env, "demo", "out_of_schema") == [pytest.approx(2 / 4)]
    assert _values(env, "demo", "missing", "x")[0] > 0.2


def test_profiles_stay_small_and_carry_histograms_against_the_reference(env: Any) -> None:
    env.hour(0, n=20_000)
    env.service.create("demo", window="1h")
    env.service.run("demo", now=env.after(0))
    (window,) = env.service.windows("demo")
    x = window.profile["features"]["x"]
    assert len(x["hist"]["counts"]) == len(x["hist"]["reference"]) == 20
    assert sum(x["hist"]["counts"]) == 20_000
    colour = window.profile["features"]["colour"]["top"]
    assert set(colour["values"]) == {"red", "green", "yellow"}
    import json

    assert len(json.dumps(window.profile)) < 20_000


def test_shift_is_judged_against_the_training_reference(env: Any) -> None:
    env.hour(0)
    env.hour(1, shift=1.0)
    env.service.create("demo", window="1h")
    env.service.run("demo", now=env.after(1))
    assert _values(env, "demo", "dataset_drift") == [0.0, 1.0]
    assert _values(env, "demo", "drifted", "x") == [0.0, 1.0]
    assert _values(env, "demo", "drifted", "colour") == [0.0, 1.0]
    windows = list(env.service.windows("demo"))
    assert sorted(windows[0].profile["drift"]["features"]) == ["colour", "x"]
    assert windows[0].profile["reference"]["source"] == "test reference"
    assert env.references.calls == 2  # the detector fitted once is reused


def test_an_earlier_window_can_be_the_reference(env: Any) -> None:
    env.hour(0)
    env.hour(1)
    env.hour(2, shift=1.0)
    env.service.create("demo", window="1h", reference=f"window:{env.t0}")
    env.service.run("demo", now=env.after(2))
    assert _values(env, "demo", "dataset_drift") == [0.0, 0.0, 1.0]
    assert next(iter(env.service.windows("demo"))).profile["reference"]["key"] == f"window:{env.t0}"


def test_image_properties_and_embeddings_drift(env: Any) -> None:
    rng = np.random.default_rng(0)
    ref_emb = rng.normal(0, 1, (1500, 8))
    env.references.value = Reference(
        "img",
        "photos",
        {"brightness": rng.normal(0.5, 0.05, 1500), "blur": rng.normal(100, 10, 1500)},
        embeddings=ref_emb,
    )
    for i, (dark, moved) in enumerate([(0.0, 0.0), (0.15, 0.5)]):
        rows = synthetic_log(1200, env.t0 + i * 3_600_000, env.t0 + (i + 1) * 3_600_000, seed=i)
        for k in [k for k in rows if k.startswith("in__")]:
            del rows[k]
        rows["in__brightness"] = rng.normal(0.5 - dark, 0.05, 1200)
        rows["in__blur"] = rng.normal(100, 10, 1200)
        emb = rng.normal(0, 1, (1200, 8))
        emb[:, 0] += moved * 2
        for j in range(8):
            rows[f"emb__{j}"] = emb[:, j]
        write_log(env.metadata, env.artifacts, rows)
    env.service.create("demo", name="photos", window="1h")
    env.service.run("photos", now=env.after(1))
    first, second = reversed(list(env.service.windows("photos")))
    assert first.profile["images"]["drifted"] == []
    assert second.profile["images"]["drifted"] == ["brightness"]
    assert first.profile["embeddings"]["drifted"] is False
    assert second.profile["embeddings"]["drifted"] is True
    assert _values(env, "photos", "embedding_drift") == [0.0, 1.0]


def test_late_labels_recompute_the_windows_they_belong_to(env: Any) -> None:
    hours = [env.hour(i) for i in range(3)]
    env.service.create("demo", window="1h")
    env.service.run("demo", now=env.after(2))
    assert _values(env, "demo", "accuracy") == []

    rows = hours[1]  # labels for hour 1 only, days later
    write_feedback(
        env.metadata, "demo", dict(zip(rows["request_id"][:400], rows["_truth"][:400], strict=True))
    )
    later = env.service.run("demo", now=env.after(50))[0]
    assert later.relabelled == (env.start(1),)
    truth = np.array(rows["_truth"][:400])
    predicted = np.array(rows["prediction"][:400], dtype=object)
    ok = np.array([p is not None for p in predicted])
    expected = float((truth[ok] == predicted[ok]).mean())
    assert _values(env, "demo", "accuracy") == [pytest.approx(expected)]
    assert env.service.run("demo", now=env.after(50))[0].relabelled == ()  # nothing new

    write_feedback(
        env.metadata,
        "demo",
        dict(zip(rows["request_id"][400:800], rows["_truth"][400:800], strict=True)),
    )
    env.service.run("demo", now=env.after(51))
    window = next(w for w in env.service.windows("demo") if w.start_at == env.start(1))
    assert window.label_updates == 2
    assert window.labelled == int(ok.sum()) + sum(
        1 for p in rows["prediction"][400:800] if p is not None
    )
    history = window.profile["performance"]["history"]
    assert [h["labelled"] for h in history] == [0, int(ok.sum())]


def test_performance_is_split_by_model_version_and_slice(env: Any) -> None:
    rows = env.hour(0)
    other = synthetic_log(800, env.t0, env.t0 + 3_600_000, seed=7, model=("demo", 2))
    write_log(env.metadata, env.artifacts, other)
    labels = dict(zip(rows["request_id"], rows["_truth"], strict=True)) | dict(
        zip(other["request_id"], other["_truth"], strict=True)
    )
    write_feedback(env.metadata, "demo", labels)
    env.service.create("demo", window="1h", slices=["colour"])
    env.service.run("demo", now=env.after(0))
    features = {p.feature for p in env.service.results("demo", metric="accuracy")}
    assert {"", "version:demo:1", "version:demo:2", "colour=red", "colour=yellow"} <= features
    (window,) = env.service.windows("demo")
    assert window.profile["performance"]["by_version"]["demo:2"]["labelled"] == 800


def test_bad_monitors_are_refused_with_the_field(env: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        env.service.create("demo", window="0.5s")
    assert info.value.details["field"] == "window"
    with pytest.raises(InvalidInputError, match="same name"):
        from pomona.monitoring import AlertRule

        env.service.create("demo", rules=[AlertRule("r", "rows", ">", 1)] * 2)
    with pytest.raises(MonitorNotFoundError):
        env.service.run("nope")
    assert Monitor("m", "d", thresholds=DriftThresholds(alpha=0.01)).thresholds.alpha == 0.01
