from __future__ import annotations

from pathlib import Path

import pytest

from lianxing.config import Settings


def test_defaults_put_everything_in_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("LIANXING_HOME", "LIANXING_DATABASE_URL", "LIANXING_WAREHOUSE_URL"):
        monkeypatch.delenv(var, raising=False)
    s = Settings()
    assert s.home_dir == tmp_path / "lianxing-data"
    assert (
        s.effective_database_url == f"sqlite:///{tmp_path / 'lianxing-data' / 'lianxing.sqlite3'}"
    )
    assert (
        s.effective_warehouse_url == f"duckdb:///{tmp_path / 'lianxing-data' / 'warehouse.duckdb'}"
    )
    assert s.queue_url is None


def test_environment_overrides_toml_which_overrides_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIANXING_DATABASE_URL", raising=False)
    monkeypatch.setenv("LIANXING_HOME", str(tmp_path / "ws"))
    (tmp_path / "lianxing.toml").write_text(
        'warehouse_url = "duckdb:///from-toml.duckdb"\n'
        'database_url = "sqlite:///from-toml.sqlite3"\n'
    )
    monkeypatch.setenv("LIANXING_WAREHOUSE_URL", "postgresql://postgres@127.0.0.1/test")
    s = Settings()
    assert s.database_url == "sqlite:///from-toml.sqlite3"
    assert s.warehouse_url == "postgresql://postgres@127.0.0.1/test"
    assert s.home_dir == tmp_path / "ws"
