"""``lianxing platforms [--json]``: list every platform and site Lianxing knows."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from lianxing.cli.common import emit_json
from lianxing.cli.root import app
from lianxing.domain.platforms import Catalog, SiteFact
from lianxing.platforms.catalog import catalog_payload, load_catalog

# The facts shown in the table; a row is starred when one of them is unverified.
_SHOWN_FACTS = frozenset(
    {SiteFact.COUNTRY, SiteFact.CURRENCY, SiteFact.TIMEZONE, SiteFact.MARKETPLACE_ID}
)


def catalog_table(catalog: Catalog) -> Table:
    table = Table(title="平台与站点 / Platforms and sites")
    table.add_column("平台 / Platform")
    table.add_column("站点 / Site")
    table.add_column("国家 / Country")
    table.add_column("币种 / Currency")
    table.add_column("时区 / Timezone")
    table.add_column("市场ID / Marketplace ID")
    for platform in catalog.platforms:
        for site in platform.sites:
            doubtful = _SHOWN_FACTS.intersection(site.unverified)
            code = f"{site.code} *" if doubtful else site.code
            table.add_row(
                f"{platform.name.zh} / {platform.name.en}",
                code,
                site.country or "全球 / global",
                site.currency,
                site.timezone,
                site.marketplace_id or "-",
            )
    table.caption = (
        "* 本行有未经官方来源证实的值 / a value in this row is not confirmed by an official source"
    )
    return table


@app.command("platforms")
def platforms(
    json_output: bool = typer.Option(False, "--json", help="输出 JSON / print one JSON object"),
) -> None:
    """列出平台与站点 / List platforms and their sites (currency, timezone, marketplace id)."""
    catalog = load_catalog()
    if json_output:
        emit_json(catalog_payload(catalog))
        return
    Console().print(catalog_table(catalog))
