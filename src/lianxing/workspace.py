"""The workspace: one folder with the application database, the warehouse and the key.

``init_workspace`` creates or upgrades it (safe to run again); ``open_workspace`` gives the
services what they need: settings, database sessions and the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from lianxing.config import Settings, get_settings
from lianxing.db import migrate
from lianxing.db.audit import record
from lianxing.db.models import Organisation
from lianxing.db.session import make_engine, make_sessionmaker
from lianxing.domain.accounts import OrgKind
from lianxing.security import Cipher, create_key_file, load_key
from lianxing.warehouse import Warehouse, connect

DEFAULT_ORG_NAME = "我的公司 / My company"


class WorkspaceError(Exception):
    """The workspace is missing, not initialised, or unusable."""


@dataclass
class InitResult:
    home: str
    created_key: bool
    created_org: bool
    database_url: str
    warehouse_url: str


@dataclass
class Workspace:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)
    _warehouse: Warehouse | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.effective_database_url)
        return self._engine

    @cached_property
    def _sessions(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back otherwise."""
        with self._sessions() as session, session.begin():
            yield session

    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = connect(
                self.settings.effective_warehouse_url, schema=self.settings.warehouse_schema
            )
        return self._warehouse

    @cached_property
    def cipher(self) -> Cipher:
        return Cipher(load_key(self.settings.key_file))

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def init_workspace(settings: Settings | None = None) -> InitResult:
    """Create or upgrade the workspace. Running it again changes nothing that exists."""
    settings = settings or get_settings()
    home = settings.home_dir
    home.mkdir(parents=True, exist_ok=True)
    settings.vault_dir.mkdir(exist_ok=True)
    created_key = create_key_file(settings.key_file)
    migrate.upgrade(settings.effective_database_url, key_file=settings.key_file)
    ws = Workspace(settings)
    try:
        ws.warehouse.ensure_schema()
        with ws.session() as session:
            created_org = False
            if session.scalar(select(Organisation.id).limit(1)) is None:
                org = Organisation(name=DEFAULT_ORG_NAME, kind=OrgKind.SELLER.value)
                session.add(org)
                session.flush()
                record(
                    session,
                    actor="system",
                    action="org.create",
                    entity="organisation",
                    entity_id=org.id,
                    data={"name": org.name, "kind": org.kind},
                )
                created_org = True
            if created_key:
                record(
                    session,
                    actor="system",
                    action="workspace.init",
                    entity="workspace",
                    entity_id=str(home),
                    data={"key_file": str(settings.key_file)},
                )
    finally:
        ws.close()
    return InitResult(
        home=str(home),
        created_key=created_key,
        created_org=created_org,
        database_url=settings.effective_database_url,
        warehouse_url=settings.effective_warehouse_url,
    )


def open_workspace(settings: Settings | None = None) -> Workspace:
    """Open an initialised workspace; raise ``WorkspaceError`` with a hint otherwise."""
    settings = settings or get_settings()
    ws = Workspace(settings)
    if settings.database_url is None and not settings.home_dir.exists():
        raise WorkspaceError(
            f"no workspace at {settings.home_dir}; run `lianxing init` "
            "(or set LIANXING_HOME) / 工作区不存在，请先运行 lianxing init"
        )
    try:
        has_tables = inspect(ws.engine).has_table("alembic_version")
    except Exception as exc:
        raise WorkspaceError(f"cannot open the application database: {exc}") from exc
    if not has_tables:
        ws.close()
        raise WorkspaceError(
            f"workspace {settings.home_dir} is not initialised; run `lianxing init` "
            "/ 工作区未初始化，请先运行 lianxing init"
        )
    return ws
