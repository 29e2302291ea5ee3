"""Platform and currency traits the demo generator draws from.

These are plausible magnitudes for demo data, not fee schedules to compute with: a fee
KPI reads the ``fees`` facts, never these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CurrencyTraits:
    code: str
    minor_digits: int  # 2 for cents, 0 for JPY-like currencies
    typical_unit_price: float  # median selling price of a demo SKU, in this currency
    usd_per_unit: float  # starting point of the FX random walk


CURRENCIES: dict[str, CurrencyTraits] = {
    c.code: c
    for c in (
        CurrencyTraits("USD", 2, 24.0, 1.0),
        CurrencyTraits("GBP", 2, 19.0, 1.27),
        CurrencyTraits("EUR", 2, 22.0, 1.08),
        CurrencyTraits("CAD", 2, 32.0, 0.73),
        CurrencyTraits("AUD", 2, 36.0, 0.66),
        CurrencyTraits("JPY", 0, 3200.0, 0.0067),
        CurrencyTraits("MXN", 2, 420.0, 0.055),
        CurrencyTraits("MYR", 2, 45.0, 0.22),
        CurrencyTraits("SGD", 2, 28.0, 0.74),
        CurrencyTraits("THB", 2, 390.0, 0.028),
        CurrencyTraits("PHP", 2, 650.0, 0.0175),
        CurrencyTraits("IDR", 0, 160000.0, 0.000063),
        CurrencyTraits("VND", 0, 280000.0, 0.00004),
    )
}


class OrderIdStyle:
    AMAZON = "amazon"  # 3-7-7 digits, e.g. 113-4829130-5512007
    SHOPEE = "shopee"  # yymmdd + 8 base-36 characters, e.g. 250914K3Q0ZP7T
    TIKTOK = "tiktok"  # 18 digits starting with 57


@dataclass(frozen=True, slots=True)
class AdProduct:
    ad_type: str
    label: str  # short name used in campaign names
    attribution_days: int
    spend_share: float  # share of the store's ad budget


@dataclass(frozen=True, slots=True)
class PlatformProfile:
    name: str
    order_id_style: str
    item_id_prefix: str  # "B0" for ASINs; digits-only ids use ""
    item_id_digits: int  # length of the random part of platform_item_id
    item_id_alphanumeric: bool
    fulfillment_channels: tuple[str, ...]
    fulfillment_shares: tuple[float, ...]
    platform_fulfilled_channel: str | None  # the channel that pays a per-unit fulfilment fee
    reports_unpriced_pending: bool  # Amazon: orders of the last hours have no price yet
    commission_fee_type: str
    commission_rate: float
    fulfillment_fee_type: str
    fulfillment_fee_share_of_price: float  # per unit, as a share of the typical unit price
    handling_days: int  # promised ship-by = purchase local day + this many days
    buyer_shipping_share: float  # share of orders where the buyer pays shipping
    ad_products: tuple[AdProduct, ...]
    cs_channels: tuple[str, ...]
    health_score_range: tuple[float, float]  # ahr_score-like score of a healthy account


PLATFORMS: dict[str, PlatformProfile] = {
    p.name: p
    for p in (
        PlatformProfile(
            name="amazon",
            order_id_style=OrderIdStyle.AMAZON,
            item_id_prefix="B0",
            item_id_digits=8,
            item_id_alphanumeric=True,
            fulfillment_channels=("AFN", "MFN"),
            fulfillment_shares=(0.75, 0.25),
            platform_fulfilled_channel="AFN",
            reports_unpriced_pending=True,
            commission_fee_type="referral_fee",
            commission_rate=0.15,
            fulfillment_fee_type="fba_fulfillment_fee",
            fulfillment_fee_share_of_price=0.16,
            handling_days=2,
            buyer_shipping_share=0.05,
            ad_products=(
                AdProduct("sponsored_products", "SP", 7, 0.70),
                AdProduct("sponsored_brands", "SB", 14, 0.18),
                AdProduct("sponsored_display", "SD", 14, 0.12),
            ),
            cs_channels=("buyer_message", "a_to_z_claim", "email"),
            health_score_range=(250.0, 1000.0),
        ),
        PlatformProfile(
            name="shopee",
            order_id_style=OrderIdStyle.SHOPEE,
            item_id_prefix="",
            item_id_digits=11,
            item_id_alphanumeric=False,
            fulfillment_channels=("seller", "fulfilled_by_shopee"),
            fulfillment_shares=(0.8, 0.2),
            platform_fulfilled_channel="fulfilled_by_shopee",
            reports_unpriced_pending=False,
            commission_fee_type="commission_fee",
            commission_rate=0.10,
            fulfillment_fee_type="fbs_fulfillment_fee",
            fulfillment_fee_share_of_price=0.06,
            handling_days=2,
            buyer_shipping_share=0.6,
            ad_products=(
                AdProduct("shopee_search_ads", "Search", 7, 0.65),
                AdProduct("shopee_discovery_ads", "Discovery", 7, 0.35),
            ),
            cs_channels=("chat",),
            health_score_range=(0.0, 100.0),
        ),
        PlatformProfile(
            name="tiktok",
            order_id_style=OrderIdStyle.TIKTOK,
            item_id_prefix="17",
            item_id_digits=17,
            item_id_alphanumeric=False,
            fulfillment_channels=("seller", "fulfilled_by_tiktok"),
            fulfillment_shares=(0.7, 0.3),
            platform_fulfilled_channel="fulfilled_by_tiktok",
            reports_unpriced_pending=False,
            commission_fee_type="referral_fee",
            commission_rate=0.09,
            fulfillment_fee_type="fbt_fulfillment_fee",
            fulfillment_fee_share_of_price=0.12,
            handling_days=3,
            buyer_shipping_share=0.2,
            ad_products=(
                AdProduct("gmv_max", "GMVMax", 7, 0.6),
                AdProduct("video_shopping_ads", "VSA", 7, 0.4),
            ),
            cs_channels=("chat", "email"),
            health_score_range=(0.0, 5.0),
        ),
    )
}
