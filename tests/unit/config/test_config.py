"""Settings: explicit arguments > POMONA_* > pomona.toml > user config > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from pomona.config import explain_settings, load_settings
from pomona.errors import ConfigError


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    user = tmp_path / "user"
    (user / "pomona").mkdir(parents=True)
    (user / "pomona" / "config.toml").write_text(
        '[server]\nport = 7001\nhost = "127.0.0.2"\nworkers = 3\n'
    )
    monkeypatch.setenv("POMONA_CONFIG_DIR", str(user))
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "pomona.toml").write_text(
        '[server]\nport = 7002\nhost = "127.0.0.3"\n'
        '[project]\nname = "apples"\n'
        '[[project.targets]]\nname = "accuracy"\ndirection = "maximize"\nthreshold = 0.9\n'
        "[project.budgets]\nlatency_p99_ms = 50\n"
    )
    return ws


def test_each_layer_overrides_the_one_below(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POMONA_SERVER_HOST", "127.0.0.4")
    monkeypatch.setenv("POMONA_TRACKING_FLUSH_INTERVAL_S", "2.5")
    settings = load_settings(home, **{"server.host": "127.0.0.5"})
    assert settings.server.host == "127.0.0.5"  # argument
    assert settings.tracking.flush_interval_s == 2.5  # env
    assert settings.server.port == 7002  # pomona.toml
    assert settings.server.workers == 3  # user config
    assert settings.tracking.batch_size == 5000  # default
    assert settings.project.targets[0].threshold == 0.9
    assert settings.project.budgets.latency_p99_ms == 50


def test_explain_names_the_source_of_every_value(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POMONA_SERVER_HOST", "127.0.0.4")
    monkeypatch.setenv("POMONA_TOKEN", "a-secret-token-of-32-characters!")
    rows = {r.key: r for r in explain_settings(home)}
    assert (rows["server.host"].value, rows["server.host"].source) == ("127.0.0.4", "env")
    assert rows["server.port"].source == "pomona.toml"
    assert rows["server.workers"].source == "user config"
    assert rows["tracking.batch_size"].source == "default"
    assert rows["token"].value == "***" and rows["token"].source == "env"
    assert rows["project.budgets.latency_p99_ms"].value == 50


def test_an_invalid_value_names_the_key_and_where_it_came_from(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POMONA_SERVER_PORT", "not-a-port")
    with pytest.raises(ConfigError, match=r"'server.port' \(from env\)"):
        load_settings(home)


def test_a_typo_in_pomona_toml_fails_at_start(tmp_path: Path) -> None:
    (tmp_path / "pomona.toml").write_text("[server]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"server\.prot"):
        load_settings(tmp_path)


def test_broken_toml_is_reported_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "pomona.toml").write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path)


def test_default_stores_live_in_the_workspace(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.metadata_url == f"sqlite:///{tmp_path.resolve() / '.pomona' / 'pomona.db'}"
    assert settings.artifacts_url == (tmp_path.resolve() / ".pomona" / "artifacts").as_uri()
