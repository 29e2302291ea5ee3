"""The settlement currency of a contract and the ``fx_rates`` that convert its fees to it.

Used by ``contract evaluate`` (each fee at the rate of its due date, see
:class:`lianxing.domain.contract_evaluation.SettlementRates`) and by ``contract check``
(before signing, the fees' due dates lie ahead: all fees at the latest day of ``fx_rates``
that has every rate needed, an estimate).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal

from lianxing.domain.contract_audit import AuditRates
from lianxing.domain.contract_evaluation import SettlementRates, foreign_currencies
from lianxing.domain.contracts import Contract
from lianxing.metrics.loader import Catalog
from lianxing.workspace import Workspace


def settlement_currency(contract: Contract, catalog: Catalog) -> str:
    """The currency the statement settles in: the contract's ``settlement_currency``, else
    the reporting currency of its first KPI clause that has one (its ``currency`` option,
    else the locked definition's default), else its first fee's currency, else USD."""
    if contract.settlement_currency is not None:
        return contract.settlement_currency
    for clause in contract.kpis:
        definition = catalog.definitions.get(clause.kpi)
        reporting = (
            definition.effective_options(clause.options).get("currency") if definition else None
        )
        if isinstance(reporting, str):
            return reporting
    return contract.fees[0].currency if contract.fees else "USD"


def _rates_to_usd(
    ws: Workspace, currencies: Collection[str], up_to: dt.date | None
) -> dict[tuple[str, dt.date], Decimal]:
    """``rate_to_usd`` by (currency, day) of ``currencies``, up to ``up_to`` if given."""
    table = ws.warehouse.table("fx_rates")
    wanted = table.currency.isin(sorted(currencies))
    if up_to is not None:
        wanted = wanted & (table.date <= up_to)
    found = ws.warehouse.ibis.to_pyarrow(
        table.filter(wanted).select("date", "currency", "rate_to_usd")
    )
    return {
        (str(row["currency"]), row["date"]): Decimal(repr(float(row["rate_to_usd"])))
        for row in found.to_pylist()
    }


def settlement_rates(
    ws: Workspace, contract: Contract, currency: str, as_of: dt.date
) -> SettlementRates:
    """``fx_rates`` of the currencies the fees and refunds are in, up to ``as_of`` (a rate
    is never taken from a later day)."""
    currencies = foreign_currencies(contract, currency)
    if not currencies:
        return SettlementRates(currency)
    return SettlementRates(currency, _rates_to_usd(ws, currencies, as_of))


def latest_rates(ws: Workspace, contract: Contract, catalog: Catalog) -> AuditRates | None:
    """The latest day of ``fx_rates`` with a rate for every currency the priced fees (and the
    settlement currency) are in, when they are in more than one; None when there is no such
    day or nothing to convert."""
    currency = settlement_currency(contract, catalog)
    used = {f.currency for f in contract.fees if f.amount is not None}
    if len(used | {currency}) < 2:
        return None
    needed = (used | {currency}) - {"USD"}
    found = _rates_to_usd(ws, needed, None)
    days = {day for _, day in found}
    complete = [day for day in days if all((c, day) in found for c in needed)]
    if not complete:
        return None
    day = max(complete)
    on_day = {key: rate for key, rate in found.items() if key[1] == day}
    return AuditRates(day, SettlementRates(currency, on_day))
