"""Store services, shared by the CLI, the web app and the jobs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.db.audit import record
from lianxing.db.models import Organisation, Store
from lianxing.domain.accounts import OrgKind, StoreStatus
from lianxing.domain.platforms import UnknownSite
from lianxing.platforms.catalog import load_catalog


class StoreError(ValueError):
    """Input that cannot make a store; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class StoreView:
    id: int
    org_id: int
    platform: str
    site: str
    name: str
    currency: str
    timezone: str
    marketplace_id: str | None
    status: str
    launch_date: date | None

    @classmethod
    def of(cls, store: Store) -> StoreView:
        return cls(
            id=store.id,
            org_id=store.org_id,
            platform=store.platform,
            site=store.site,
            name=store.name,
            currency=store.currency,
            timezone=store.timezone,
            marketplace_id=store.marketplace_id,
            status=store.status,
            launch_date=store.launch_date,
        )

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["launch_date"] = self.launch_date.isoformat() if self.launch_date else None
        return data


def _seller_org(session: Session, org_id: int | None) -> Organisation:
    if org_id is not None:
        org = session.get(Organisation, org_id)
        if org is None:
            raise StoreError(f"--org: no organisation with id {org_id}")
        if org.kind != OrgKind.SELLER.value:
            raise StoreError(
                f"--org: organisation {org_id} is an agency; a store belongs to its seller "
                "/ 店铺必须归属卖家，不能归属服务商"
            )
        return org
    sellers = session.scalars(
        select(Organisation).where(Organisation.kind == OrgKind.SELLER.value).limit(2)
    ).all()
    if len(sellers) != 1:
        raise StoreError(
            "--org is required: the workspace has "
            + ("no seller organisation" if not sellers else "several seller organisations")
        )
    return sellers[0]


def create_store(
    session: Session,
    *,
    platform: str,
    site: str,
    name: str,
    launch_date: date | None = None,
    status: str | None = None,
    org_id: int | None = None,
    actor: str = "cli",
) -> StoreView:
    """Create a store on a catalog site; currency, timezone and marketplace id come from it."""
    name = name.strip()
    if not name:
        raise StoreError("--name: a store needs a non-empty name / 店铺名称不能为空")
    try:
        site_info = load_catalog().site(platform, site)
    except UnknownSite as exc:
        raise StoreError(str(exc)) from exc
    if status is None:
        status = StoreStatus.LIVE.value if launch_date else StoreStatus.PLANNING.value
    valid = [s.value for s in StoreStatus]
    if status not in valid:
        raise StoreError(f"--status: {status!r} is not one of {', '.join(valid)}")
    org = _seller_org(session, org_id)
    store = Store(
        org_id=org.id,
        platform=site_info.platform,
        site=site_info.code,
        name=name,
        currency=site_info.currency,
        timezone=site_info.timezone,
        marketplace_id=site_info.marketplace_id,
        status=status,
        launch_date=launch_date,
    )
    session.add(store)
    session.flush()
    view = StoreView.of(store)
    record(
        session,
        actor=actor,
        action="store.create",
        entity="store",
        entity_id=store.id,
        data=view.as_json(),
    )
    return view


def list_stores(session: Session) -> list[StoreView]:
    return [StoreView.of(s) for s in session.scalars(select(Store).order_by(Store.id))]
