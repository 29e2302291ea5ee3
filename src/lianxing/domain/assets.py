"""Account assets of a store and the rules that flag risks in who holds them.

The seller must own and control the accounts a store runs on. An agency that holds the
login e-mail, the 2FA device or the payout account can lock the seller out or divert money,
so the ledger records who holds each asset, when that was last verified, and every change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class AssetError(ValueError):
    """Asset input that cannot be recorded; the message says what was expected."""


class AssetKind(StrEnum):
    LOGIN_EMAIL = "login_email"
    PHONE = "phone"
    TWO_FACTOR = "two_factor"
    PAYOUT_ACCOUNT = "payout_account"
    BRAND_REGISTRY = "brand_registry"
    API_AUTHORISATION = "api_authorisation"
    ERP_AUTHORISATION = "erp_authorisation"


ASSET_NAMES: dict[AssetKind, tuple[str, str]] = {
    AssetKind.LOGIN_EMAIL: ("登录邮箱", "login e-mail"),
    AssetKind.PHONE: ("手机号", "phone number"),
    AssetKind.TWO_FACTOR: ("两步验证设备", "2FA device"),
    AssetKind.PAYOUT_ACCOUNT: ("收款账户", "payout account"),
    AssetKind.BRAND_REGISTRY: ("品牌备案", "brand registry"),
    AssetKind.API_AUTHORISATION: ("平台API授权", "platform API authorisation"),
    AssetKind.ERP_AUTHORISATION: ("ERP授权", "ERP authorisation"),
}

# Whoever holds these controls the shop or its money: they must stay with the seller.
CRITICAL_KINDS = frozenset(
    {
        AssetKind.LOGIN_EMAIL,
        AssetKind.PHONE,
        AssetKind.TWO_FACTOR,
        AssetKind.PAYOUT_ACCOUNT,
        AssetKind.BRAND_REGISTRY,
    }
)


class HolderKind(StrEnum):
    SELLER = "seller"  # the seller company
    AGENCY = "agency"  # the service provider
    PERSON = "person"  # a named individual (employee, legal representative, ...)


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


SEVERITY_RANK = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}

DEFAULT_STALE_AFTER_DAYS = 90


@dataclass(frozen=True, slots=True)
class AssetSnapshot:
    """The fields of an asset that its history records."""

    kind: AssetKind
    label: str
    identifier: str
    holder_kind: HolderKind
    holder_name: str | None
    last_verified_at: dt.datetime | None

    def as_record(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "label": self.label,
            "identifier": self.identifier,
            "holder_kind": self.holder_kind.value,
            "holder_name": self.holder_name,
            "last_verified_at": (
                self.last_verified_at.isoformat(timespec="seconds")
                if self.last_verified_at
                else None
            ),
        }


@dataclass(frozen=True, slots=True)
class AssetChange:
    """One entry of an asset's history."""

    at: dt.datetime
    action: str  # create | change | verify
    note: str | None
    after: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    kind: AssetKind
    label: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "asset": self.kind.value,
            "label": self.label,
            "message": self.message,
        }


def check_asset(
    asset: AssetSnapshot,
    history: Sequence[AssetChange],
    *,
    now: dt.datetime,
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS,
) -> list[Finding]:
    """Findings for one asset; ``history`` is oldest first."""
    zh, en = ASSET_NAMES[asset.kind]
    critical = asset.kind in CRITICAL_KINDS
    findings: list[Finding] = []

    def add(code: str, severity: Severity, message: str) -> None:
        findings.append(Finding(code, severity, asset.kind, asset.label, message))

    if critical and asset.holder_kind is HolderKind.AGENCY:
        add(
            "ASSET_AGENCY_HOLDS_CRITICAL",
            Severity.HIGH,
            f"{zh}由服务商持有，应归卖家 / the {en} is held by the agency; it must be the seller's",
        )
    elif critical and asset.holder_kind is HolderKind.PERSON:
        add(
            "ASSET_PERSON_HOLDS_CRITICAL",
            Severity.MEDIUM,
            f"{zh}由个人（{asset.holder_name or '?'}）持有 / the {en} is held by a person "
            f"({asset.holder_name or '?'}), not the seller company",
        )
    if asset.last_verified_at is None:
        add(
            "ASSET_NEVER_VERIFIED",
            Severity.HIGH if critical else Severity.MEDIUM,
            f"{zh}从未核验 / the {en} has never been verified",
        )
    elif (now - asset.last_verified_at).days > stale_after_days:
        add(
            "ASSET_VERIFICATION_STALE",
            Severity.LOW,
            f"{zh}超过{stale_after_days}天未核验 / the {en} was last verified on "
            f"{asset.last_verified_at.date()}, more than {stale_after_days} days ago",
        )
    for n, change in enumerate(history):
        if change.action != "change" or (change.note or "").strip():
            continue
        # A later verification means someone has checked the state since: resolved.
        if any(_verified_after(later, change.at) for later in history[n + 1 :]):
            continue
        add(
            "ASSET_CHANGE_UNRECORDED",
            Severity.MEDIUM,
            f"{zh}于{change.at.date()}变更但无记录说明 / the {en} was changed on "
            f"{change.at.date()} without a written record of why",
        )
    if not history or history[-1].after != asset.as_record():
        add(
            "ASSET_HISTORY_MISMATCH",
            Severity.HIGH,
            f"{zh}当前值与变更记录不符（绕过台账修改）/ the {en} differs from its "
            "recorded history: it was changed outside the ledger",
        )
    return findings


def _verified_after(change: AssetChange, at: dt.datetime) -> bool:
    verified = change.after.get("last_verified_at")
    return verified is not None and dt.datetime.fromisoformat(verified) >= at


def check_assets(
    assets: Sequence[tuple[AssetSnapshot, Sequence[AssetChange]]],
    *,
    now: dt.datetime,
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS,
) -> list[Finding]:
    """Findings for a store's ledger, most severe first; missing critical assets too."""
    findings: list[Finding] = []
    present = {a.kind for a, _ in assets}
    for kind in AssetKind:
        if kind in CRITICAL_KINDS and kind not in present:
            zh, en = ASSET_NAMES[kind]
            findings.append(
                Finding(
                    "ASSET_MISSING",
                    Severity.MEDIUM,
                    kind,
                    "",
                    f"台账中没有{zh} / no {en} is recorded in the ledger",
                )
            )
    for asset, history in assets:
        findings.extend(check_asset(asset, history, now=now, stale_after_days=stale_after_days))
    findings.sort(key=lambda f: (SEVERITY_RANK[f.severity], f.kind.value, f.label, f.code))
    return findings


MASK = "****"


def mask_identifier(identifier: str) -> str:
    """What lists, pages and ``--json`` show of an identifier: never the whole value.

    An e-mail keeps the start of its local part and its domain (``se***@example.com``),
    anything else at most its last four characters and never more than a third of them
    (``****1234``), so a short value shows nothing.
    """
    value = identifier.strip()
    local, at, domain = value.rpartition("@")
    if at and local and domain:
        shown = 2 if len(local) > 4 else 1 if len(local) > 1 else 0
        return f"{local[:shown]}***@{domain}"
    tail = min(4, len(value) // 3)
    return MASK + (value[-tail:] if tail else "")


def parse_kind(text: str) -> AssetKind:
    try:
        return AssetKind(text.strip().lower())
    except ValueError:
        raise AssetError(
            f"--kind: value {text!r}; expected one of {', '.join(k.value for k in AssetKind)}"
        ) from None


def parse_holder(text: str) -> HolderKind:
    try:
        return HolderKind(text.strip().lower())
    except ValueError:
        raise AssetError(
            f"--holder: value {text!r}; expected one of {', '.join(h.value for h in HolderKind)}"
        ) from None
