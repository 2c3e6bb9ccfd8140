"""The ``pomona`` command as a user runs it: real processes in a fresh folder."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import pomona

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No POMONA_* from the developer's shell, no user config file, wide tables."""
    for name in list(os.environ):
        if name.startswith("POMONA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("POMONA_CONFIG_DIR", str(tmp_path / "user-config"))
    monkeypatch.setenv("COLUMNS", "200")


def cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomona.cli.main", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_user_error(result: subprocess.CompletedProcess[str], exit_code: int) -> None:
    assert result.returncode == exit_code, result.stderr
    assert result.stderr.startswith("Error: "), result.stderr
    assert "\nHint: " in result.stderr
    assert "Traceback" not in result.stderr


@dataclass(frozen=True)
class Runs:
    root: Path
    rf: str
    lr: str


@pytest.fixture
def runs(tmp_path: Path) -> Runs:
    """A workspace with two finished runs that share one artifact's content."""
    root = tmp_path / "project"
    with pomona.connect(root) as ws:
        with ws.start_run("forest", params={"model": "rf", "n_estimators": 100}) as rf:
            for step, loss in enumerate([0.9, 0.5, 0.3]):
                rf.log_metric("loss", loss, step)
            rf.log_metric("accuracy", 0.91)
            rf.log_text("forest weights", "model.txt")
            rf.log_text("same bytes in both runs", "shared.txt")
        with ws.start_run("logreg", params={"model": "lr", "n_estimators": 100}) as lr:
            lr.log_metric("accuracy", 0.95)
            lr.log_text("same bytes in both runs", "shared.txt")
    return Runs(root, rf.run_id, lr.run_id)


def listed_ids(root: Path, *args: str) -> list[str]:
    result = cli(root, "runs", "list", "--json", *args)
    assert result.returncode == 0, result.stderr
    return [run["run_id"] for run in json.loads(result.stdout)["items"]]


# --- workspace ------------------------------------------------------------------------


def test_init_creates_the_workspace_and_says_what_it_made(tmp_path: Path) -> None:
    result = cli(tmp_path, "init", "project")

    assert result.returncode == 0, result.stderr
    root = tmp_path / "project"
    assert (root / "pomona.toml").is_file()
    assert (root / ".pomona" / "pomona.db").is_file()
    assert f"Initialised a Pomona workspace in {root}" in result.stdout
    assert "pomona.toml" in result.stdout
    assert ".pomona/pomona.db" in result.stdout


def test_init_twice_changes_nothing(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    (tmp_path / "pomona.toml").write_text('[project]\nname = "mine"\n')

    result = cli(tmp_path, "init")

    assert result.returncode == 0, result.stderr
    assert "already initialised" in result.stdout
    assert (tmp_path / "pomona.toml").read_text() == '[project]\nname = "mine"\n'


def test_commands_outside_a_workspace_say_so_and_create_nothing(tmp_path: Path) -> None:
    result = cli(tmp_path, "runs", "list")

    assert_user_error(result, 2)
    assert "No Pomona workspace" in result.stderr
    assert not (tmp_path / "pomona.toml").exists()
    assert not (tmp_path / ".pomona").exists()


def test_config_show_names_the_source_of_each_value(tmp_path: Path) -> None:
    cli(tmp_path, "init")
    with (tmp_path / "pomona.toml").open("a") as fh:
        fh.write("\n[tracking]\nbatch_size = 77\n")

    table = cli(tmp_path, "config", "show", env={"POMONA_SERVER_PORT": "9123"})
    as_json = cli(tmp_path, "config", "show", "--json", env={"POMONA_SERVER_PORT": "9123"})

    assert table.returncode == 0, table.stderr
    lines = {line.split()[0]: line.split() for line in table.stdout.splitlines() if line.strip()}
    assert "metadata.url" in lines
    assert lines["server.port"][-1] == "env"
    assert "9123" in lines["server.port"]
    assert lines["tracking.batch_size"][-1] == "pomona.toml"
    assert "77" in lines["tracking.batch_size"]
    rows = {row["key"]: row for row in json.loads(as_json.stdout)}
    assert rows["server.port"] == {"key": "server.port", "value": 9123, "source": "env"}
    assert rows["tracking.batch_size"]["source"] == "pomona.toml"
    assert rows["metadata.url"]["source"] == "default"


def test_db_upgrade_backs_up_first_and_reports_the_revision(tmp_path: Path) -> None:
    cli(tmp_path, "init")

    result = cli(tmp_path, "db", "upgrade")

    assert result.returncode == 0, result.stderr
    backup = re.search(r"Backed up the database to (\S+)", result.stdout)
    assert backup is not None, result.stdout
    assert Path(backup.group(1)).is_file()
    assert Path(backup.group(1)).parent == tmp_path / ".pomona" / "backups"
    assert re.search(r"Schema revision [\w+]+: already up to date", result.stdout)


def test_db_upgrade_without_a_database_fails_and_creates_none(tmp_path: Path) -> None:
    cli(tmp_path, "init")
    database = tmp_path / ".pomona" / "pomona.db"
    database.unlink()

    result = cli(tmp_path, "db", "upgrade")

    assert_user_error(result, 2)
    assert "nothing to upgrade" in result.stderr
    assert not database.exists()


# --- runs -----------------------------------------------------------------------------


def test_runs_list_shows_runs_as_a_table_and_as_json(runs: Runs) -> None:
    table = cli(runs.root, "runs", "list")

    assert table.returncode == 0, table.stderr
    assert "forest" in table.stdout
    assert "logreg" in table.stdout
    assert runs.rf[:8] in table.stdout
    assert "2 of 2 runs" in table.stdout
    assert set(listed_ids(runs.root)) == {runs.rf, runs.lr}


def test_runs_list_filters_sorts_and_pages(runs: Runs) -> None:
    assert listed_ids(runs.root, "--filter", "params.model = 'rf'") == [runs.rf]
    assert listed_ids(runs.root, "--order-by", "metrics.accuracy desc") == [runs.lr, runs.rf]
    first = cli(runs.root, "runs", "list", "--json", "--limit", "1", "-o", "metrics.accuracy")
    token = json.loads(first.stdout)["next_page_token"]
    assert listed_ids(
        runs.root, "--limit", "1", "-o", "metrics.accuracy", "--page-token", token
    ) == [runs.lr]


def test_a_bad_filter_says_where_it_is_wrong(runs: Runs) -> None:
    result = cli(runs.root, "runs", "list", "--filter", "metrics.accuracy >> 0.9")

    assert_user_error(result, 2)
    assert "Bad run filter at character 19" in result.stderr


def test_runs_show_prints_everything_about_a_run(runs: Runs) -> None:
    table = cli(runs.root, "runs", "show", runs.rf[:6])
    as_json = cli(runs.root, "runs", "show", runs.rf, "--json")

    assert table.returncode == 0, table.stderr
    for text in (runs.rf, "forest", "n_estimators", "accuracy", "0.91", "model.txt"):
        assert text in table.stdout
    shown = json.loads(as_json.stdout)
    assert shown["run_id"] == runs.rf
    assert shown["params"] == {"model": "rf", "n_estimators": "100"}
    assert shown["metrics"] == {"accuracy": 0.91, "loss": 0.3}
    assert sorted(a["path"] for a in shown["artifacts"]) == ["model.txt", "shared.txt"]


def test_an_unknown_run_is_a_clean_error(runs: Runs) -> None:
    result = cli(runs.root, "runs", "show", "0" * 32)

    assert_user_error(result, 3)
    assert f"Run '{'0' * 32}' does not exist." in result.stderr


def test_debug_adds_the_traceback(runs: Runs) -> None:
    result = cli(runs.root, "--debug", "runs", "show", "nope")

    assert result.returncode == 3
    assert "Traceback" in result.stderr
    assert "Error: Run 'nope' does not exist." in result.stderr


def test_usage_errors_keep_exit_code_2(runs: Runs) -> None:
    assert cli(runs.root, "runs", "list", "--limit", "0").returncode == 2
    assert cli(runs.root, "runs", "compare", runs.rf).returncode == 2


def test_runs_compare_marks_the_rows_that_differ(runs: Runs) -> None:
    table = cli(runs.root, "runs", "compare", runs.rf[:8], runs.lr[:8])
    as_json = cli(runs.root, "runs", "compare", runs.rf, runs.lr, "--json")

    assert table.returncode == 0, table.stderr
    cells = [[c.strip() for c in line.split("│")] for line in table.stdout.splitlines()]
    rows = {row[1]: row[2:] for row in cells if row[0] == "≠"}
    assert set(rows) == {"params.model", "metrics.accuracy", "metrics.loss"}
    compared = json.loads(as_json.stdout)
    assert [r["run_id"] for r in compared["runs"]] == [runs.rf, runs.lr]
    by_key = {row["key"]: row for row in compared["rows"]}
    assert by_key["params.model"] == {
        "key": "params.model",
        "values": ["rf", "lr"],
        "differs": True,
    }
    assert by_key["params.n_estimators"]["differs"] is False


def test_runs_delete_then_restore(runs: Runs) -> None:
    deleted = cli(runs.root, "runs", "delete", runs.rf, "--yes")

    assert deleted.returncode == 0, deleted.stderr
    assert "pomona gc" in deleted.stdout
    assert listed_ids(runs.root) == [runs.lr]
    assert set(listed_ids(runs.root, "--all")) == {runs.rf, runs.lr}

    restored = cli(runs.root, "runs", "restore", runs.rf[:8])

    assert restored.returncode == 0, restored.stderr
    assert set(listed_ids(runs.root)) == {runs.rf, runs.lr}


def test_gc_frees_what_only_deleted_runs_used(runs: Runs, tmp_path: Path) -> None:
    blobs = runs.root / ".pomona" / "artifacts" / "sha256"
    before = {p for p in blobs.rglob("*") if p.is_file()}
    cli(runs.root, "runs", "delete", runs.rf, "--yes")

    result = cli(runs.root, "gc")

    assert result.returncode == 0, result.stderr
    assert "Purged 1 deleted run; freed 1 artifact blob." in result.stdout
    assert len({p for p in blobs.rglob("*") if p.is_file()}) == len(before) - 1
    with pomona.connect(runs.root) as ws:
        kept = ws.runs.download_artifact(runs.lr, "shared.txt", tmp_path / "shared.txt")
    assert kept.read_text() == "same bytes in both runs"
    assert cli(runs.root, "runs", "show", runs.rf).returncode == 3


# --- demo, server, example ------------------------------------------------------------


def test_demo_tracking_trains_tracks_and_summarises(tmp_path: Path) -> None:
    import skops.io as sio

    result = cli(tmp_path, "demo", "tracking", "--no-serve")

    assert result.returncode == 0, result.stderr
    summary = result.stdout[result.stdout.index("Quick start") :]
    for name in ("logreg-C0.1", "forest-50", "gboost-60"):
        assert name in summary
    with pomona.connect(tmp_path) as ws:
        found = ws.runs.search_runs("experiment = 'quickstart'", order_by=["metrics.accuracy desc"])
        best = found.items[0]
        paths = {a.path for a in ws.runs.list_artifacts(best.run_id)}
        model_file = ws.runs.download_artifact(best.run_id, "model.skops", tmp_path / "m.skops")
        (boosted,) = (run for run in found if run.name == "gboost-60")
        by_stage = ws.runs.get_metric_history(boosted.run_id, "accuracy")
    assert len(found) == 6
    assert {"model.skops", "confusion_matrix.json"} <= paths
    assert {"accuracy", "f1", "roc_auc"} <= set(best.metrics)
    model = sio.load(model_file, trusted=sio.get_untrusted_types(file=model_file))
    assert hasattr(model, "predict_proba")
    assert [p.step for p in by_stage] == list(range(1, 61))
    assert by_stage[-1].value == boosted.metrics["accuracy"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_server_serves_the_workspace_until_stopped(tmp_path: Path) -> None:
    cli(tmp_path, "init")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pomona.cli.main", "server", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=30)
    assert f"Dashboard: http://127.0.0.1:{port}/" in stdout, stdout + stderr


def test_server_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    cli(tmp_path, "init")

    result = cli(tmp_path, "server", "--host", "0.0.0.0", "--port", str(_free_port()))

    assert_user_error(result, 2)
    assert "POMONA_TOKEN" in result.stderr
    assert "Dashboard" not in result.stdout


def test_server_refuses_a_short_token_and_loopback_only_host_names(tmp_path: Path) -> None:
    cli(tmp_path, "init")
    port = str(_free_port())

    short = cli(tmp_path, "server", "--port", port, env={"POMONA_TOKEN": "s3cret"})
    assert_user_error(short, 2)
    assert "at least 32" in short.stderr and "secrets.token_urlsafe(32)" in short.stderr
    assert "Dashboard" not in short.stdout

    token = {"POMONA_TOKEN": "t0ken-" + "x" * 32}
    wide = cli(tmp_path, "server", "--host", "0.0.0.0", "--port", port, env=token)
    assert_user_error(wide, 2)
    assert "server.allowed_hosts" in wide.stderr and "POMONA_SERVER_ALLOWED_HOSTS" in wide.stderr
    assert "Dashboard" not in wide.stdout


def test_the_quickstart_example_runs_and_its_runs_are_listed(tmp_path: Path) -> None:
    script = REPO / "examples" / "quickstart_tracking.py"

    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert len(listed_ids(tmp_path, "--experiment", "quickstart-sdk")) == 3


def test_the_cli_imports_no_heavy_library_until_a_command_needs_it() -> None:
    code = (
        "import sys, pomona.cli.main; "
        "print(sorted(m for m in ('sklearn', 'fastapi', 'uvicorn', 'sqlalchemy') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
