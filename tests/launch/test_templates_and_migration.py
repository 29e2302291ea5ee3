"""Templates load and obey the sourcing rules; migration 0003 matches the models."""

from __future__ import annotations

from lianxing.db import migrate
from lianxing.launch.templates import available_platforms, check_all_templates, load_template
from lianxing.platforms.catalog import load_catalog


def test_every_template_is_valid_for_every_catalog_site() -> None:
    assert available_platforms() == ["aliexpress", "amazon", "lazada", "shopee", "tiktok"]
    assert check_all_templates() == []
    for platform in available_platforms():
        for site in load_catalog().platform(platform).sites:
            template = load_template(platform, site.code)
            official = {s.id for s in template.sources if s.official}
            for item in template.items:
                if item.sources and not item.unverified:
                    assert official & set(item.sources), item.key


def test_site_overlays() -> None:
    keys = lambda p, s: {i.key for i in load_template(p, s).items}  # noqa: E731
    assert "comp.epr" in keys("amazon", "DE") and "comp.epr" not in keys("amazon", "US")
    assert "comp.jct" in keys("amazon", "JP") and "comp.uk_vat" in keys("amazon", "UK")
    assert "comp.us_sales_tax" in keys("amazon", "US")
    assert "comp.uk_vat" in keys("tiktok", "UK") and "doc.address_proof" in keys("tiktok", "US")
    assert load_template("amazon", "US").content_hash != load_template("amazon", "DE").content_hash


def test_migration_matches_models_and_downgrades(database_url: str) -> None:
    migrate.upgrade(database_url)
    migrate.check(database_url)
    migrate.downgrade(database_url, "0001")
    migrate.upgrade(database_url)
    migrate.check(database_url)
