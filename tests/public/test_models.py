"""The model registry through the public SDK, on every backend pair and both transports."""

from __future__ import annotations

import getpass
import hashlib
import json
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from pomona.artifacts import blob_key
from pomona.artifacts.backends.file import FileArtifactStore
from pomona.client import Workspace
from pomona.errors import (
    AlreadyExistsError,
    ArtifactCorruptedError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from pomona.registry import (
    ExportNotSupportedError,
    ModelNotFoundError,
    ModelVersionNotFoundError,
    SignatureMismatchError,
)
from pomona.types import Digest


@cache
def _cancer() -> tuple[Any, Any, Any, Any]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return tuple(train_test_split(X, y, test_size=0.25, random_state=0, stratify=y))  # type: ignore[return-value]


@cache
def _cancer_model(n_features: int = 30) -> Pipeline:
    X_train, _, y_train, _ = _cancer()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    return model.fit(X_train.iloc[:, :n_features], y_train)


def _register(ws: Workspace, name: str = "cancer", n_features: int = 30, **kw: Any) -> Any:
    _, X_test, _, _ = _cancer()
    return ws.models.register(
        name, _cancer_model(n_features), input_example=X_test.iloc[:, :n_features], **kw
    )


def _snapshot(ws: Workspace, name: str) -> tuple[Any, ...]:
    model = ws.models.get_model(name)
    history = list(ws.models.list_alias_history(name))
    versions = [v.version for v in ws.models.list_versions(name)]
    return model.aliases, model.latest_version, history, versions


def test_breast_cancer_model_round_trips_with_its_record(ws: Workspace) -> None:
    _, X_test, _, y_test = _cancer()
    version = _register(
        ws,
        metrics={"accuracy": 0.97},
        run_id="a" * 32,
        pipeline_run_id="p-1",
        dataset_versions=["cancer:1"],
        tags={"team": "oncology"},
        description="Logistic regression on the 30 features.",
    )
    assert (version.name, version.version, version.flavor) == ("cancer", 1, "sklearn")
    assert version.signature.input_kind == "columns"
    assert [s.name for s in version.signature.inputs][:2] == ["mean radius", "mean texture"]
    assert [(s.name, s.shape) for s in version.signature.outputs] == [
        ("predictions", (-1,)),
        ("probabilities", (-1, 2)),
    ]
    assert sorted(f.path for f in version.files) == ["input_example.json", "model.skops"]
    assert all(f.digest.startswith("sha256:") and f.size > 0 for f in version.files)
    assert version.lineage.dataset_versions == ("cancer:1",)
    assert version.created_by == ("local" if ws.remote else getpass.getuser())
    assert "| accuracy | 0.97 |" in version.card and "`cancer:1`" in version.card
    loaded = ws.models.load("cancer:1")
    original = _cancer_model()
    np.testing.assert_array_equal(loaded.predict(X_test), original.predict(X_test))
    np.testing.assert_array_equal(loaded.predict_proba(X_test), original.predict_proba(X_test))
    assert (loaded.predict(X_test) == y_test).mean() > 0.95
    example = ws.models.input_example("cancer")
    assert list(example.columns) == list(X_test.columns) and len(example) == 5


@cache
def _digits() -> tuple[KNeighborsClassifier, Any, Any]:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    return KNeighborsClassifier(n_neighbors=3).fit(X_train, y_train), X_test, y_test


def test_digits_model_round_trips_above_the_accuracy_floor(ws: Workspace) -> None:
    model, X_test, y_test = _digits()
    version = ws.models.register("digits", model, input_example=X_test)
    assert version.signature.input_kind == "tensor"
    assert version.signature.inputs[0].shape == (-1, 64)
    loaded = ws.models.load("digits")
    predictions = loaded.predict(X_test)
    np.testing.assert_array_equal(predictions, model.predict(X_test))
    assert (predictions == y_test).mean() >= 0.95


def test_references_name_versions_aliases_and_the_latest(ws: Workspace) -> None:
    _register(ws)
    _register(ws, parent_version=1)
    assert ws.models.get_version("cancer").version == 2
    assert ws.models.get_version("cancer@latest").version == 2
    assert ws.models.get_version("cancer:1").version == 1
    assert ws.models.get_version("cancer:2").lineage.parent_version == 1
    ws.models.set_alias("cancer", "champion", 1, reason="first good model")
    champion = ws.models.get_version("cancer@champion")
    assert (champion.version, champion.aliases) == (1, ("champion",))
    model = ws.models.get_model("cancer")
    assert (model.latest_version, model.aliases) == (2, {"champion": 1})
    assert [m.name for m in ws.models.list_models()] == ["cancer"]
    page = ws.models.list_versions("cancer", limit=1)
    assert [v.version for v in page] == [2] and page.next_page_token is not None
    assert [
        v.version for v in ws.models.list_versions("cancer", page_token=page.next_page_token)
    ] == [1]


def test_every_alias_move_is_recorded_with_who_when_and_why(ws: Workspace) -> None:
    _register(ws)
    _register(ws)
    ws.models.set_alias("cancer", "champion", 1, reason="baseline")
    ws.models.set_alias("cancer", "champion", 2, reason="better recall", actor="alice")
    again = ws.models.set_alias("cancer", "champion", 2, reason="no-op")
    ws.models.set_alias("cancer", "challenger", 1, reason="shadow")
    removed = ws.models.delete_alias("cancer", "challenger", reason="done", actor="bob")
    assert ws.models.delete_alias("cancer", "challenger", reason="again") is None
    history = list(ws.models.list_alias_history("cancer"))
    rows = [(m.alias, m.from_version, m.to_version, m.actor, m.reason) for m in history]
    user = getpass.getuser()
    if ws.remote:  # a server records its credential's user, not the one a client names
        user = bob = alice = "local"
    else:
        bob, alice = "bob", "alice"
    assert rows == [
        ("challenger", 1, None, bob, "done"),
        ("challenger", None, 1, user, "shadow"),
        ("champion", 1, 2, alice, "better recall"),
        ("champion", None, 1, user, "baseline"),
    ]
    assert again.reason == "better recall"  # moving to the same version records nothing
    assert removed is not None and removed.to_version is None
    assert history[0].moved_at >= history[-1].moved_at
    champion_only = ws.models.list_alias_history("cancer", alias="champion")
    assert [m.to_version for m in champion_only] == [2, 1]
    assert ws.models.get_model("cancer").aliases == {"champion": 2}


def test_aliasing_an_unknown_version_or_model_changes_nothing(ws: Workspace) -> None:
    _register(ws)
    ws.models.set_alias("cancer", "champion", 1, reason="first")
    before = _snapshot(ws, "cancer")
    with pytest.raises(ModelVersionNotFoundError, match=r"no version 7 \(latest is 1\)"):
        ws.models.set_alias("cancer", "champion", 7, reason="typo")
    with pytest.raises(ModelNotFoundError, match="'nope'"):
        ws.models.set_alias("nope", "champion", 1, reason="typo")
    with pytest.raises(NotFoundError, match="no alias 'canary'"):
        ws.models.get_version("cancer@canary")
    with pytest.raises(InvalidInputError, match="reason"):
        ws.models.set_alias("cancer", "champion", 1, reason=" ")
    with pytest.raises(InvalidInputError, match="latest"):
        ws.models.set_alias("cancer", "latest", 1, reason="reserved")
    with pytest.raises(InvalidInputError, match="not a version number"):
        ws.models.get_version("cancer:x")
    assert _snapshot(ws, "cancer") == before


def test_a_signature_that_differs_from_the_champions_is_refused(ws: Workspace) -> None:
    _register(ws)
    _register(ws, n_features=10)
    ws.models.set_alias("cancer", "champion", 1, reason="first")
    before = _snapshot(ws, "cancer")
    with pytest.raises(SignatureMismatchError, match="10 inputs where the other signature has 30"):
        ws.models.set_alias("cancer", "champion", 2, reason="fewer features", check_signature=True)
    with pytest.raises(ConflictError) as info:
        ws.models.set_alias("cancer", "champion", 2, reason="fewer features", check_signature=True)
    assert info.value.details["field"] == "inputs"
    assert _snapshot(ws, "cancer") == before
    moved = ws.models.set_alias("cancer", "champion", 2, reason="intended change")
    assert (moved.from_version, moved.to_version) == (1, 2)


def test_gate_reports_are_stored_and_referenced_from_the_history(ws: Workspace) -> None:
    _register(ws)
    _register(ws)
    report = {"gates": [{"name": "accuracy", "passed": False, "detail": "0.91 < 0.93"}]}
    info = ws.models.put_gate_report("cancer:2", report, target="champion", passed=False)
    assert (info.version, info.target, info.passed) == (2, "champion", False)
    move = ws.models.set_alias(
        "cancer", "champion", 2, reason="hotfix", forced=True, gate_report_digest=info.digest
    )
    assert move.forced and move.gate_report_digest == info.digest
    [row] = ws.models.list_alias_history("cancer")
    assert row.gate_report_digest == info.digest and row.forced
    assert ws.models.get_gate_report("cancer", info.digest) == report
    assert [g.digest for g in ws.models.list_gate_reports("cancer", version=2)] == [info.digest]
    assert ws.models.list_gate_reports("cancer", version=1) == []
    before = _snapshot(ws, "cancer")
    with pytest.raises(InvalidInputError, match="not a gate report of cancer:1"):
        ws.models.set_alias("cancer", "champion", 1, reason="x", gate_report_digest=info.digest)
    with pytest.raises(NotFoundError):
        ws.models.put_gate_report("cancer:9", report, target="champion", passed=True)
    assert _snapshot(ws, "cancer") == before


def test_onnx_export_stores_its_parity_check(ws: Workspace, tmp_path: Path) -> None:
    _register(ws)
    assert ws.models.find_export("cancer:1") is None
    export = ws.models.export_onnx("cancer:1")
    assert export.parity_max_abs_diff < 1e-6
    assert set(export.parity) == {"predictions", "probabilities"}
    assert export.opset is not None and export.size > 0
    assert ws.models.find_export("cancer") == export
    bundle = ws.models.build_edge_bundle("cancer", tmp_path / "edge", archive=True)
    with zipfile.ZipFile(bundle) as zf:
        assert hashlib.sha256(zf.read("model.onnx")).hexdigest() == export.digest[7:]
        assert json.loads(zf.read("signature.json"))["model"] == "cancer:1"


def test_exporting_an_unsupported_model_fails_clearly_and_changes_nothing(
    ws: Workspace,
) -> None:
    _, X_test, _, y_test = _cancer()
    ws.models.register("dummy", DummyClassifier().fit(X_test, y_test), input_example=X_test)
    before = _snapshot(ws, "dummy")
    with pytest.raises(ExportNotSupportedError, match="DummyClassifier"):
        ws.models.export_onnx("dummy:1")
    assert ws.models.find_export("dummy:1") is None
    assert _snapshot(ws, "dummy") == before


def test_a_corrupted_artifact_is_refused_on_load(ws: Workspace, tmp_path: Path) -> None:
    version = _register(ws)
    [skops] = [f for f in version.files if f.path == "model.skops"]
    _corrupt(ws, tmp_path, skops.digest)
    before = _snapshot(ws, "cancer")
    with pytest.raises(ArtifactCorruptedError, match=skops.digest):
        ws.models.load("cancer:1")
    assert _snapshot(ws, "cancer") == before
    assert ws.models.get_version("cancer:1").files == version.files


def test_card_tags_and_description_are_editable(ws: Workspace) -> None:
    _register(ws, tags={"team": "a", "stage": "dev"})
    updated = ws.models.update_version(
        "cancer:1", tags={"stage": "", "owner": "bob"}, card="# Cancer\n\nEdited.", description="d"
    )
    assert updated.tags == {"team": "a", "owner": "bob"}
    assert updated.card == "# Cancer\n\nEdited." and updated.description == "d"
    assert ws.models.get_version("cancer").card == "# Cancer\n\nEdited."


def test_models_are_created_once(ws: Workspace) -> None:
    created = ws.models.create_model("empty", description="nothing yet", tags={"k": "v"})
    assert (created.latest_version, created.description, created.tags) == (
        None,
        "nothing yet",
        {"k": "v"},
    )
    with pytest.raises(AlreadyExistsError, match="already registered"):
        ws.models.create_model("empty")
    with pytest.raises(NotFoundError, match="no versions yet"):
        ws.models.get_version("empty")
    with pytest.raises(InvalidInputError, match="not a model name"):
        ws.models.create_model("bad name!")


def _corrupt(ws: Workspace, tmp_path: Path, digest: Digest) -> None:
    """Overwrite a stored blob behind the store's back (the server's, for a remote ws)."""
    store = ws.artifact_store
    if store is None or isinstance(store, FileArtifactStore):
        root = store.root if store is not None else tmp_path / "ws" / ".pomona" / "artifacts"
        path = root / blob_key(digest)
        path.write_bytes(b"corrupted" + path.read_bytes()[9:])
        return
    fs = store._fs()  # type: ignore[attr-defined]  # S3: no public way, by design
    fs.pipe_file(store._blob_path(digest), b"corrupted")  # type: ignore[attr-defined]
