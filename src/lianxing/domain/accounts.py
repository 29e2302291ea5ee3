"""Organisations, roles, stores and access grants: the vocabulary of who owns what."""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    SELLER = "seller"
    AGENCY = "agency"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    OPS = "ops"  # 运营
    CS = "cs"  # 客服
    LOGISTICS = "logistics"  # 物流
    ADS = "ads"  # 广告
    VIEWER = "viewer"


class StoreStatus(StrEnum):
    PLANNING = "planning"
    LAUNCHING = "launching"
    LIVE = "live"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class GrantScope(StrEnum):
    """What an agency may do with a store it was granted."""

    READ = "read"  # see KPIs and reports
    OPERATE = "operate"  # also import data, edit launch checklists, targets
    MANAGE = "manage"  # also manage contracts and alert rules for the store


class ImportStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DRY_RUN = "dry_run"
