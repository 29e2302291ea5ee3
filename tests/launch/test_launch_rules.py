"""Pure rules: stage progress, waivers, measured targets, document expiry, asset findings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lianxing.domain.assets import (
    AssetChange,
    AssetKind,
    AssetSnapshot,
    HolderKind,
    Severity,
    check_asset,
    check_assets,
)
from lianxing.domain.launch import (
    ExpiryState,
    ItemKind,
    ItemState,
    ItemStatus,
    LaunchError,
    Measure,
    Stage,
    check_transition,
    check_waive_reason,
    evaluate_measure,
    expiry_state,
    plan_progress,
)

LAUNCH = dt.date(2026, 10, 1)


def test_stage_complete_when_required_items_done_or_waived_with_reason() -> None:
    items = [
        ItemState("a", Stage.REQUIREMENTS, True, ItemStatus.DONE),
        ItemState("b", Stage.REQUIREMENTS, True, ItemStatus.WAIVED, "not needed"),
        ItemState("c", Stage.REQUIREMENTS, False, ItemStatus.TODO),
        ItemState("d", Stage.PROPOSAL, True, ItemStatus.WAIVED, "  "),  # no real reason
        ItemState("e", Stage.DOCUMENTS, True, ItemStatus.TODO),
    ]
    progress = plan_progress(items)
    by_stage = {p.stage: p for p in progress.stages}
    assert by_stage[Stage.REQUIREMENTS].complete
    assert (by_stage[Stage.REQUIREMENTS].done, by_stage[Stage.REQUIREMENTS].total) == (2, 3)
    assert by_stage[Stage.PROPOSAL].open_required == ("d",)
    assert by_stage[Stage.DOCUMENTS].blocked_by == ("d",)
    assert by_stage[Stage.OPERATIONS].blocked_by == ("d", "e")
    assert by_stage[Stage.KPI_HOOKUP].complete  # no items: nothing required
    assert progress.current_stage is Stage.PROPOSAL
    assert progress.next_stage_blocked_by == ("d",)


def test_all_complete_has_no_current_stage() -> None:
    progress = plan_progress([ItemState("a", Stage.OPERATIONS, True, ItemStatus.DONE)])
    assert progress.complete and progress.current_stage is None


def test_waive_needs_reason_and_measured_items_cannot_be_done_by_hand() -> None:
    assert check_waive_reason("  agreed by phone ") == "agreed by phone"
    with pytest.raises(LaunchError, match="written reason"):
        check_waive_reason(" ")
    with pytest.raises(LaunchError, match="measured"):
        check_transition(ItemStatus.TODO, ItemStatus.DONE, ItemKind.MEASURE)
    with pytest.raises(LaunchError, match="already done"):
        check_transition(ItemStatus.DONE, ItemStatus.DONE, ItemKind.STEP)
    with pytest.raises(LaunchError, match="computed"):
        check_transition(ItemStatus.TODO, ItemStatus.MISSED, ItemKind.STEP)
    check_transition(ItemStatus.WAIVED, ItemStatus.WAIVED, ItemKind.STEP)  # new reason


def test_first_order_by_day_14_counts_the_launch_date_as_day_1() -> None:
    m = Measure("first_order", 14)
    met = evaluate_measure(
        m,
        launch_date=LAUNCH,
        value=Decimal(1),
        met_on=dt.date(2026, 10, 14),
        today=dt.date(2026, 11, 1),
    )
    assert met.status is ItemStatus.DONE and met.deadline == dt.date(2026, 10, 14)
    late = evaluate_measure(
        m,
        launch_date=LAUNCH,
        value=Decimal(1),
        met_on=dt.date(2026, 10, 15),
        today=dt.date(2026, 11, 1),
    )
    assert late.status is ItemStatus.MISSED
    pending = evaluate_measure(
        m, launch_date=LAUNCH, value=Decimal(0), met_on=None, today=dt.date(2026, 10, 14)
    )
    assert pending.status is ItemStatus.TODO
    no_launch = evaluate_measure(m, launch_date=None, value=None, met_on=None, today=LAUNCH)
    assert no_launch.status is ItemStatus.TODO and no_launch.deadline is None


def test_gmv_target_compares_the_window_total() -> None:
    m = Measure("gmv", 30, Decimal(1000))
    assert (
        evaluate_measure(
            m, launch_date=LAUNCH, value=Decimal(1000), met_on=None, today=LAUNCH
        ).status
        is ItemStatus.DONE
    )
    assert (
        evaluate_measure(
            m, launch_date=LAUNCH, value=Decimal("999.99"), met_on=None, today=dt.date(2026, 10, 30)
        ).status
        is ItemStatus.TODO
    )
    assert (
        evaluate_measure(
            m, launch_date=LAUNCH, value=Decimal("999.99"), met_on=None, today=dt.date(2026, 10, 31)
        ).status
        is ItemStatus.MISSED
    )
    unset = evaluate_measure(
        Measure("gmv", 30),
        launch_date=LAUNCH,
        value=Decimal(5),
        met_on=None,
        today=dt.date(2027, 1, 1),
    )
    assert unset.status is ItemStatus.TODO and unset.value == Decimal(5)


def test_expiry_window_is_inclusive() -> None:
    today = dt.date(2026, 11, 1)
    assert expiry_state(None, today) is None
    assert expiry_state(dt.date(2026, 10, 31), today) is ExpiryState.EXPIRED
    assert expiry_state(today, today) is ExpiryState.EXPIRING
    assert expiry_state(dt.date(2026, 12, 1), today) is ExpiryState.EXPIRING  # 30 days
    assert expiry_state(dt.date(2026, 12, 2), today) is ExpiryState.OK


NOW = dt.datetime(2026, 11, 1, 12)


def _asset(
    holder: HolderKind, verified: dt.datetime | None, kind: AssetKind = AssetKind.PAYOUT_ACCOUNT
) -> AssetSnapshot:
    return AssetSnapshot(kind, "", "****1234", holder, None, verified)


def _history(*assets: tuple[AssetSnapshot, str, str | None]) -> list[AssetChange]:
    return [
        AssetChange(NOW - dt.timedelta(days=10 - n), action, note, a.as_record())
        for n, (a, action, note) in enumerate(assets)
    ]


def test_asset_rules() -> None:
    agency = _asset(HolderKind.AGENCY, None)
    codes = {
        (f.code, f.severity)
        for f in check_asset(agency, _history((agency, "create", None)), now=NOW)
    }
    assert codes == {
        ("ASSET_AGENCY_HOLDS_CRITICAL", Severity.HIGH),
        ("ASSET_NEVER_VERIFIED", Severity.HIGH),
    }
    seller = _asset(HolderKind.SELLER, NOW - dt.timedelta(days=1))
    assert check_asset(seller, _history((seller, "create", None)), now=NOW) == []
    # A non-critical asset held by the agency is fine; never verified is medium.
    erp = _asset(HolderKind.AGENCY, None, AssetKind.ERP_AUTHORISATION)
    assert [
        (f.code, f.severity) for f in check_asset(erp, _history((erp, "create", None)), now=NOW)
    ] == [("ASSET_NEVER_VERIFIED", Severity.MEDIUM)]
    stale = _asset(HolderKind.SELLER, NOW - dt.timedelta(days=91))
    assert [f.code for f in check_asset(stale, _history((stale, "create", None)), now=NOW)] == [
        "ASSET_VERIFICATION_STALE"
    ]
    # Unrecorded change, resolved by a later verification.
    changed = _asset(HolderKind.SELLER, None)
    hist = _history((changed, "create", None), (changed, "change", None))
    assert [
        f.code for f in check_asset(changed, hist, now=NOW) if f.code == "ASSET_CHANGE_UNRECORDED"
    ] == ["ASSET_CHANGE_UNRECORDED"]
    verified = _asset(HolderKind.SELLER, NOW - dt.timedelta(days=2))
    hist = _history(
        (changed, "create", None), (changed, "change", None), (verified, "verify", "checked")
    )
    assert check_asset(verified, hist, now=NOW) == []
    # State not matching the last recorded event.
    assert [f.code for f in check_asset(seller, _history((agency, "create", None)), now=NOW)] == [
        "ASSET_HISTORY_MISMATCH"
    ]


def test_missing_critical_assets_and_order() -> None:
    agency = _asset(HolderKind.AGENCY, None)
    findings = check_assets([(agency, _history((agency, "create", None)))], now=NOW)
    assert [f.severity for f in findings][:2] == [Severity.HIGH, Severity.HIGH]
    assert sorted(f.kind.value for f in findings if f.code == "ASSET_MISSING") == [
        "brand_registry",
        "login_email",
        "phone",
        "two_factor",
    ]
