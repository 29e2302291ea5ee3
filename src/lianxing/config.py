"""Settings, in one place.

Values come from environment variables (``LIANXING_HOME``, ``LIANXING_DATABASE_URL``,
``LIANXING_WAREHOUSE_URL``, ``LIANXING_QUEUE_URL``, ...) or from ``lianxing.toml`` in the
current directory or in the workspace; the environment wins. Nothing secret has a default:
the encryption key lives in the workspace's key file, created by ``lianxing init``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

KEY_FILE_NAME = "secret.key"
CONFIG_FILE_NAME = "lianxing.toml"


def _toml_files() -> list[Path]:
    """lianxing.toml in the current directory, then in LIANXING_HOME (later files win)."""
    files = [Path.cwd() / CONFIG_FILE_NAME]
    home = os.environ.get("LIANXING_HOME")
    if home:
        files.append(Path(home) / CONFIG_FILE_NAME)
    return [f for f in files if f.is_file()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIANXING_", extra="ignore")

    home: Path = Field(default=Path("./lianxing-data"), description="workspace folder")
    database_url: str | None = Field(
        default=None, description="application database; default: SQLite file in the workspace"
    )
    warehouse_url: str | None = Field(
        default=None, description="fact warehouse; default: DuckDB file in the workspace"
    )
    warehouse_schema: str = Field(
        default="facts", description="schema for fact tables on PostgreSQL"
    )
    queue_url: str | None = Field(default=None, description="task queue; default: embedded")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        for path in reversed(_toml_files()):
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home_dir / 'lianxing.sqlite3'}"

    @property
    def effective_warehouse_url(self) -> str:
        return self.warehouse_url or f"duckdb:///{self.home_dir / 'warehouse.duckdb'}"

    @property
    def key_file(self) -> Path:
        return self.home_dir / KEY_FILE_NAME

    @property
    def vault_dir(self) -> Path:
        return self.home_dir / "vault"


def load_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def get_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
