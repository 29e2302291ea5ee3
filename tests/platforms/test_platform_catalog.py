from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pycountry
import pytest

from lianxing.domain.platforms import SiteFact, UnknownPlatform, UnknownSite
from lianxing.platforms.catalog import CatalogError, catalog_payload, load_catalog, read_catalog

REQUIRED_SITES = {
    "amazon": {"US", "CA", "MX", "UK", "DE", "FR", "IT", "ES", "JP", "AU"},
    "shopee": {"MY", "SG", "TH", "PH", "VN", "ID", "TW", "BR"},
    "lazada": {"MY", "SG", "TH", "PH", "VN", "ID"},
    "tiktok": {"US", "UK", "MY", "TH", "PH", "VN", "ID", "SG"},
    "aliexpress": {"GLOBAL"},
}

# Copied by hand from https://developer-docs.amazon.com/sp-api/docs/marketplace-ids
DOCUMENTED_AMAZON_MARKETPLACE_IDS = {
    "US": "ATVPDKIKX0DER",
    "CA": "A2EUQ1WTGCTBG2",
    "MX": "A1AM78C64UM0Y8",
    "UK": "A1F83G8C2ARO7P",
    "DE": "A1PA6795UKMFR9",
    "FR": "A13V1IB3VIYZZH",
    "IT": "APJ6JRA9NG5V4",
    "ES": "A1RKKUPIHCS9HS",
    "JP": "A1VC38T7YXB528",
    "AU": "A39IBJ37TRP1C6",
}


def test_every_required_site_is_present() -> None:
    catalog = load_catalog()
    assert set(catalog.platform_ids) == set(REQUIRED_SITES)
    for platform_id, codes in REQUIRED_SITES.items():
        assert set(catalog.platform(platform_id).site_codes) >= codes, platform_id


def test_currencies_are_iso_4217_and_countries_iso_3166() -> None:
    for site in load_catalog().sites():
        assert pycountry.currencies.get(alpha_3=site.currency) is not None, site.key
        if site.country is None:
            assert site.key == "aliexpress:GLOBAL"
        else:
            assert pycountry.countries.get(alpha_2=site.country) is not None, site.key


def test_expected_currencies() -> None:
    catalog = load_catalog()
    assert catalog.site("amazon", "UK").currency == "GBP"
    assert catalog.site("amazon", "UK").country == "GB"  # ISO code, not Amazon's "UK"
    assert catalog.site("amazon", "MX").currency == "MXN"
    assert catalog.site("shopee", "TW").currency == "TWD"
    assert catalog.site("shopee", "BR").currency == "BRL"
    assert catalog.site("tiktok", "UK").currency == "GBP"
    assert {catalog.site("amazon", c).currency for c in ("DE", "FR", "IT", "ES")} == {"EUR"}


def test_timezones_load_with_zoneinfo_and_give_the_documented_offsets() -> None:
    for site in load_catalog().sites():
        ZoneInfo(site.timezone)
    catalog = load_catalog()
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    winter = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

    def offset(platform: str, code: str, at: datetime) -> timedelta | None:
        return at.astimezone(ZoneInfo(catalog.site(platform, code).timezone)).utcoffset()

    # Amazon US and CA report in Pacific time: PDT (-7) in July, PST (-8) in January.
    assert offset("amazon", "US", summer) == timedelta(hours=-7)
    assert offset("amazon", "CA", winter) == timedelta(hours=-8)
    assert offset("amazon", "UK", summer) == timedelta(hours=1)
    assert offset("amazon", "DE", winter) == timedelta(hours=1)
    assert offset("amazon", "JP", summer) == timedelta(hours=9)
    assert offset("amazon", "AU", winter) == timedelta(hours=11)  # AEDT
    assert offset("shopee", "VN", summer) == timedelta(hours=7)
    assert offset("shopee", "BR", summer) == timedelta(hours=-3)


def test_amazon_marketplace_ids_match_the_documented_values() -> None:
    amazon = load_catalog().platform("amazon")
    assert {s.code: s.marketplace_id for s in amazon.sites} == DOCUMENTED_AMAZON_MARKETPLACE_IDS


def test_amazon_api_regions_and_hosts() -> None:
    amazon = load_catalog().platform("amazon")
    regions = {s.code: s.api_region for s in amazon.sites}
    assert regions == {
        "US": "na", "CA": "na", "MX": "na",
        "UK": "eu", "DE": "eu", "FR": "eu", "IT": "eu", "ES": "eu",
        "JP": "fe", "AU": "fe",
    }  # fmt: skip
    for site in amazon.sites:
        assert site.api_host == f"sellingpartnerapi-{site.api_region}.amazon.com"


def test_unknown_site_lists_the_valid_choices() -> None:
    catalog = load_catalog()
    with pytest.raises(UnknownSite) as caught:
        catalog.site("amazon", "BR")
    assert caught.value.choices == ("US", "CA", "MX", "UK", "DE", "FR", "IT", "ES", "JP", "AU")
    assert "valid sites: US, CA, MX, UK, DE, FR, IT, ES, JP, AU" in str(caught.value)
    assert "'BR'" in str(caught.value)


def test_unknown_platform_is_an_unknown_site_listing_platforms() -> None:
    with pytest.raises(UnknownSite) as caught:
        load_catalog().site("ebay", "US")
    assert isinstance(caught.value, UnknownPlatform)
    assert "valid platforms: aliexpress, amazon, lazada, shopee, tiktok" in str(caught.value)


def test_lookup_is_case_insensitive() -> None:
    site = load_catalog().site("Amazon", "us")
    assert site.key == "amazon:US"


def test_catalog_is_cached() -> None:
    assert load_catalog() is load_catalog()


def test_every_stated_fact_is_officially_sourced_or_marked_unverified() -> None:
    for platform in load_catalog().platforms:
        for site in platform.sites:
            for fact in SiteFact:
                if site.fact(fact) is None or fact in site.unverified:
                    continue
                assert any(s.official for s in platform.sources_for(site.code, fact)), (
                    site.key,
                    fact,
                )
            if site.unverified:
                assert site.note


def test_amazon_mexico_timezone_is_marked_unverified() -> None:
    # The Ads profile time zone table has no Mexico row.
    mx = load_catalog().site("amazon", "MX")
    assert SiteFact.TIMEZONE in mx.unverified
    assert SiteFact.TIMEZONE not in load_catalog().site("amazon", "US").unverified


def test_payload_shape() -> None:
    payload = catalog_payload(load_catalog())
    assert list(payload) == ["platforms"]
    amazon = next(p for p in payload["platforms"] if p["id"] == "amazon")
    assert amazon["name"] == {"zh": "亚马逊", "en": "Amazon"}
    assert amazon["sites"][0] == {
        "code": "US",
        "country": "US",
        "currency": "USD",
        "timezone": "America/Los_Angeles",
        "marketplace_id": "ATVPDKIKX0DER",
    }
    aliexpress = next(p for p in payload["platforms"] if p["id"] == "aliexpress")
    assert aliexpress["sites"][0]["country"] is None


GOOD_SITE = """\
  - code: AA
    name: {zh: 甲站, en: A}
    country: US
    currency: USD
    timezone: America/Los_Angeles
"""
ISO_SOURCES = """\
sources:
  - id: iso
    title: ISO
    url: https://example.org
    official: true
    supports: [country, currency, timezone]
"""


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_catalog_accepts_a_minimal_valid_file(tmp_path: Path) -> None:
    _write(tmp_path, "demo.yaml", "id: demo\nname: {zh: 演示, en: Demo}\n" + ISO_SOURCES
           + "sites:\n" + GOOD_SITE)  # fmt: skip
    catalog = read_catalog(tmp_path)
    assert catalog.site("demo", "AA").timezone == "America/Los_Angeles"


def test_read_catalog_reports_every_problem_with_file_and_path(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "demo.yaml",
        "id: other\nname: {zh: 演示, en: Demo}\n"
        + ISO_SOURCES
        + "sites:\n"
        + GOOD_SITE
        + """\
  - code: AA
    name: {zh: 乙站, en: B}
    country: US
    currency: USD
    timezone: Mars/Olympus
    seller_center: seller.example.com
  - code: CC
    name: {zh: 丙站, en: C}
    country: US
    currency: USD
    timezone: UTC
    unverified: [marketplace_id]
""",
    )
    with pytest.raises(CatalogError) as caught:
        read_catalog(tmp_path)
    problems = caught.value.problems
    assert all(p.startswith(str(path)) for p in problems)
    assert any("id: value 'other'; expected the file name 'demo'" in p for p in problems)
    assert any("site code 'AA' appears more than once" in p for p in problems)
    assert any("sites[1] (AA).timezone: value 'Mars/Olympus'" in p for p in problems)
    assert any(
        "sites[1] (AA).seller_center: value 'seller.example.com' has no official source" in p
        for p in problems
    )
    assert any("sites[2] (CC).unverified: value 'marketplace_id'" in p for p in problems)
    assert any("sites[2] (CC).note: empty" in p for p in problems)
    assert len(problems) == 6


def test_read_catalog_reports_shape_errors_per_field(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "demo.yaml",
        "id: demo\nname: {zh: 演示, en: Demo}\nsites:\n"
        "  - code: AA\n    name: {zh: 甲, en: A}\n    country: USA\n"
        "    currency: usd\n    timezone: UTC\n",
    )
    with pytest.raises(CatalogError) as caught:
        read_catalog(tmp_path)
    text = str(caught.value)
    assert "sites[0].country" in text and "'USA'" in text
    assert "sites[0].currency" in text and "'usd'" in text
