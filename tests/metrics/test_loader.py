"""Loading and validating KPI definitions: every problem at once, with file and line."""

from __future__ import annotations

from pathlib import Path

from lianxing.domain.kpi import content_hash
from lianxing.metrics.loader import SHIPPED_DIR, load_catalog, load_files

CATALOG_IDS = {
    "gmv",
    "gmv_net",
    "orders",
    "units",
    "aov",
    "cancel_rate",
    "fulfillment_rate",
    "late_shipment_rate",
    "refund_rate",
    "return_rate",
    "ad_spend",
    "ad_sales",
    "roas",
    "acos",
    "tacos",
    "sessions",
    "conversion_rate",
    "live_skus",
    "sell_through_rate",
    "contribution_profit",
    "profit_margin",
    "account_health_score",
    "cs_first_response_hours",
}


def test_shipped_catalog_is_complete_and_valid() -> None:
    catalog = load_catalog()
    assert catalog.issues == []
    assert set(catalog.definitions) == CATALOG_IDS
    gmv = catalog.definitions["gmv"]
    assert (gmv.name.zh, gmv.unit.value, gmv.options["refunds"]) == ("销售额", "currency", "gross")


def test_hash_is_the_content_of_the_parsed_document() -> None:
    import yaml

    document = yaml.safe_load((SHIPPED_DIR / "gmv.yaml").read_text(encoding="utf-8"))
    assert load_catalog().definitions["gmv"].content_hash == content_hash(document)


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """id: {id}
name: {{zh: 好, en: Good}}
description: {{zh: 说明, en: Text}}
unit: ratio
direction: higher
kind: ratio
formula: {formula}
options:
{options}
"""


def test_all_problems_reported_with_file_and_line(tmp_path: Path) -> None:
    bad = _write(
        tmp_path,
        "bad.yaml",
        "id: bad\nname: {zh: 坏}\ndescription: {zh: x, en: y}\nunit: percent\ndirection: higher\n"
        "kind: ratio\nformula: gmv / nothing\noptions:\n  refunds: sometimes\n  colour: red\n"
        "extra: 1\n",
    )
    catalog = load_files([bad])
    messages = [str(i) for i in catalog.issues]
    assert f"{bad}:2: name must have exactly the keys zh and en" in messages
    assert (
        f"{bad}:4: unit 'percent' is not allowed; "
        "expected one of currency, count, ratio, hours, score" in messages
    )
    assert any(
        m.startswith(f"{bad}:9: option refunds: 'sometimes' is not allowed") for m in messages
    )
    assert any(m.startswith(f"{bad}:10: unknown option 'colour'") for m in messages)
    assert any(m.startswith(f"{bad}:11: unknown key 'extra'") for m in messages)
    assert catalog.definitions == {}


def test_references_options_and_kinds_are_checked(tmp_path: Path) -> None:
    files = [
        _write(
            tmp_path,
            "ghost.yaml",
            GOOD.format(id="ghost", formula="gmv / nothing", options="  currency: USD"),
        ),
        _write(
            tmp_path,
            "loose.yaml",
            GOOD.format(
                id="loose",
                formula="ad_cost / ad_attributed_sales",
                options="  currency: USD\n  timezone: UTC",
            ),
        ),
        _write(
            tmp_path,
            "bare.yaml",
            GOOD.format(
                id="bare", formula="ad_cost / ad_attributed_sales", options="  timezone: UTC"
            ),
        ),
        _write(
            tmp_path,
            "sum.yaml",
            GOOD.format(
                id="sum", formula="ad_cost + ad_attributed_sales", options="  currency: USD"
            ),
        ),
    ]
    messages = [str(i) for i in load_files(files).issues]
    assert any("ghost.yaml:7: formula refers to 'gmv'" in m for m in messages)
    assert any("loose.yaml:10: option 'timezone' does not affect this KPI" in m for m in messages)
    assert any("bare.yaml:8: option 'currency' changes this KPI's number" in m for m in messages)
    assert any(
        "sum.yaml:6: kind ratio: the formula must be 'numerator / denominator'" in m
        for m in messages
    )


def test_workspace_definitions_extend_the_catalog(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "ad_share.yaml",
        GOOD.format(
            id="ad_share",
            formula="ad_sales / gmv",
            options=(
                "  refunds: gross\n  refund_attribution: refund_date\n  cancelled: exclude\n"
                "  include_shipping: false\n"
                "  include_tax: true\n  currency: USD\n  timezone: marketplace"
            ),
        ),
    )
    catalog = load_catalog([tmp_path])
    assert catalog.issues == []
    assert "ad_share" in catalog.definitions
    duplicate = _write(tmp_path, "gmv.yaml", (SHIPPED_DIR / "gmv.yaml").read_text(encoding="utf-8"))
    issues = load_catalog([tmp_path]).issues
    assert any(str(i).startswith(f"{duplicate}:1: id 'gmv' is already defined") for i in issues)


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    broken = _write(tmp_path, "broken.yaml", "id: broken\nname: [unclosed\n")
    (issue,) = load_files([broken]).issues
    assert issue.file == str(broken) and issue.line >= 2 and "not valid YAML" in issue.message
