"""The store launch workflow (开店): stages, checklist items and their rules.

A launch plan has six stages in a fixed order. Each stage holds checklist items; an item is
*open* until it is done or waived with a written reason. A stage is complete when none of
its required items is open. Items whose status is measured from the warehouse (launch
targets such as "first order by day 14") are evaluated by :func:`evaluate_measure`.

Day counting: day 1 is the launch date itself, so "by day 14" means on or before
``launch_date + 13 days`` in the store's local time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class LaunchError(ValueError):
    """A launch request that cannot be carried out; the message says what was expected."""


class Stage(StrEnum):
    REQUIREMENTS = "requirements"  # 需求沟通
    PROPOSAL = "proposal"  # 方案确认
    DOCUMENTS = "documents"  # 资料准备
    REGISTRATION = "registration"  # 账号注册
    KPI_HOOKUP = "kpi_hookup"  # KPI系统接入
    OPERATIONS = "operations"  # 执行与复盘


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)

STAGE_NAMES: dict[Stage, tuple[str, str]] = {
    Stage.REQUIREMENTS: ("需求沟通", "Requirements"),
    Stage.PROPOSAL: ("方案确认", "Proposal confirmed"),
    Stage.DOCUMENTS: ("资料准备", "Documents"),
    Stage.REGISTRATION: ("账号注册", "Account registration"),
    Stage.KPI_HOOKUP: ("KPI系统接入", "KPI system hookup"),
    Stage.OPERATIONS: ("执行与复盘", "Operations and reviews"),
}


class ItemStatus(StrEnum):
    TODO = "todo"
    DONE = "done"
    WAIVED = "waived"
    # Only measured items: the deadline passed without the target being met.
    MISSED = "missed"


class ItemKind(StrEnum):
    STEP = "step"  # something to do
    DOCUMENT = "document"  # a document to prepare (evidence: a vault document)
    COMPLIANCE = "compliance"  # a registration or approval a site requires
    MEASURE = "measure"  # a launch target measured from the warehouse


class EvidenceKind(StrEnum):
    DOCUMENT = "document"  # a vault document id
    NOTE = "note"
    LINK = "link"


class DocumentType(StrEnum):
    """Closed vocabulary of vault document types; templates name them."""

    BUSINESS_LICENCE = "business_licence"  # 营业执照
    LEGAL_REP_ID = "legal_rep_id"  # 法定代表人身份证/护照
    BENEFICIAL_OWNER_ID = "beneficial_owner_id"  # 受益人身份证件
    CREDIT_CARD = "credit_card"  # 双币信用卡 (card proof or statement)
    BANK_STATEMENT = "bank_statement"  # 银行/信用卡对账单
    PAYOUT_ACCOUNT = "payout_account"  # 收款账户证明
    ADDRESS_PROOF = "address_proof"  # 地址证明
    TRADEMARK = "trademark"  # 商标注册证/申请
    BRAND_AUTHORISATION = "brand_authorisation"  # 品牌授权书
    CATEGORY_QUALIFICATION = "category_qualification"  # 类目资质
    VAT_CERTIFICATE = "vat_certificate"
    EPR_REGISTRATION = "epr_registration"
    TAX_REGISTRATION = "tax_registration"
    STORE_HISTORY = "store_history"  # 其他平台店铺链接/流水截图
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Measure:
    """A launch target measured from facts.

    ``kind``: ``live_skus`` (active listings on one snapshot day), ``first_order`` (a
    non-cancelled order exists) or ``gmv`` (sum of line item prices of non-cancelled orders,
    store currency). ``by_day``: the target must be met by this launch day. ``at_least``:
    the threshold (None for ``first_order``; None for ``gmv`` means "no target set").
    """

    kind: str
    by_day: int
    at_least: Decimal | None = None


MEASURE_KINDS = ("live_skus", "first_order", "gmv")


@dataclass(frozen=True, slots=True)
class MeasureResult:
    status: ItemStatus
    value: Decimal | None
    deadline: dt.date | None
    explanation: str


def launch_day_date(launch_date: dt.date, day: int) -> dt.date:
    """The calendar date of launch day ``day`` (day 1 is the launch date)."""
    return launch_date + dt.timedelta(days=day - 1)


def evaluate_measure(
    measure: Measure,
    *,
    launch_date: dt.date | None,
    value: Decimal | None,
    met_on: dt.date | None,
    today: dt.date,
) -> MeasureResult:
    """Status of a measured item.

    ``value`` is what the facts show within the window (None: no data). ``met_on`` is the
    first local date the target was met (for ``first_order`` and ``live_skus``), None if not
    met; for ``gmv`` the window total is compared at the end.
    """
    if launch_date is None:
        return MeasureResult(
            ItemStatus.TODO, None, None, "店铺无上线日期 / the store has no launch date"
        )
    deadline = launch_day_date(launch_date, measure.by_day)
    if measure.kind == "gmv":
        if measure.at_least is None:
            return MeasureResult(
                ItemStatus.TODO, value, deadline, "未设目标 / no target set (measured only)"
            )
        if value is not None and value >= measure.at_least:
            return MeasureResult(ItemStatus.DONE, value, deadline, f"{value} ≥ {measure.at_least}")
    elif met_on is not None and met_on <= deadline:
        return MeasureResult(ItemStatus.DONE, value, deadline, f"达成 / met on {met_on}")
    if today > deadline:
        return MeasureResult(ItemStatus.MISSED, value, deadline, f"未达成 / not met by {deadline}")
    return MeasureResult(ItemStatus.TODO, value, deadline, f"进行中 / in progress until {deadline}")


@dataclass(frozen=True, slots=True)
class ItemState:
    """What the stage rules need to know about an item."""

    key: str
    stage: Stage
    required: bool
    status: ItemStatus
    waive_reason: str | None = None

    @property
    def is_open(self) -> bool:
        if self.status is ItemStatus.DONE:
            return False
        return not (self.status is ItemStatus.WAIVED and bool((self.waive_reason or "").strip()))


@dataclass(frozen=True, slots=True)
class StageProgress:
    stage: Stage
    complete: bool
    open_required: tuple[str, ...]
    # Open required items of earlier stages: what stands before this stage can start.
    blocked_by: tuple[str, ...]
    done: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class PlanProgress:
    stages: tuple[StageProgress, ...]
    current_stage: Stage | None  # the first incomplete stage; None when all are complete
    next_stage_blocked_by: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return self.current_stage is None


def plan_progress(items: Sequence[ItemState]) -> PlanProgress:
    """Stage completion and blockers, in stage order."""
    progress: list[StageProgress] = []
    earlier_open: list[str] = []
    for stage in STAGE_ORDER:
        in_stage = [i for i in items if i.stage is stage]
        open_required = tuple(i.key for i in in_stage if i.required and i.is_open)
        progress.append(
            StageProgress(
                stage=stage,
                complete=not open_required,
                open_required=open_required,
                blocked_by=tuple(earlier_open),
                done=sum(1 for i in in_stage if not i.is_open),
                total=len(in_stage),
            )
        )
        earlier_open.extend(open_required)
    current = next((p for p in progress if not p.complete), None)
    return PlanProgress(
        stages=tuple(progress),
        current_stage=current.stage if current else None,
        next_stage_blocked_by=current.open_required if current else (),
    )


def check_waive_reason(reason: str | None) -> str:
    """A waiver needs a written reason; return it stripped."""
    text = (reason or "").strip()
    if not text:
        raise LaunchError("--reason: a waiver needs a written reason / 豁免必须写明原因")
    return text


def check_transition(current: ItemStatus, new: ItemStatus, kind: ItemKind) -> None:
    """Which manual status changes are allowed."""
    if new is ItemStatus.MISSED:
        raise LaunchError("status 'missed' is computed from data and cannot be set by hand")
    if kind is ItemKind.MEASURE and new is ItemStatus.DONE:
        raise LaunchError(
            "this item's status is measured from the warehouse; it cannot be marked done "
            "by hand (waive it with --reason instead) / 该项由数据计算，不能手动完成"
        )
    if current is new and new is not ItemStatus.WAIVED:
        raise LaunchError(f"the item is already {new.value}")


class ExpiryState(StrEnum):
    OK = "ok"
    EXPIRING = "expiring"
    EXPIRED = "expired"


DEFAULT_EXPIRY_WINDOW_DAYS = 30


def expiry_state(
    expires_on: dt.date | None, today: dt.date, window_days: int = DEFAULT_EXPIRY_WINDOW_DAYS
) -> ExpiryState | None:
    """None for documents without an expiry date; EXPIRING within ``window_days``."""
    if expires_on is None:
        return None
    if expires_on < today:
        return ExpiryState.EXPIRED
    if (expires_on - today).days <= window_days:
        return ExpiryState.EXPIRING
    return ExpiryState.OK
