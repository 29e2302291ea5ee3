"""Buy vs build (找服务商还是自建团队), pure arithmetic.

For a scope (platforms, sites, SKU count, managed or not) over a term of N months, three
options are costed month by month:

* **agency**: the quote's one-time fees in month 1 plus its monthly fees;
* **in-house**: each role's headcount × monthly cost (headcount = base + per site × sites +
  per 100 SKUs × SKUs / 100, rounded up to halves: a half is a part-time hire) plus a one-time
  hiring/setup cost;
* **ERP + own time**: the ERP subscription per site plus its setup, and the seller's own hours
  (base + per site + per 100 SKUs, doubled when the scope is managed — the seller does the
  agency's work) at the seller's hourly cost.

The break-even month of two options is the first month from which the option that starts
dearer has cost no more in total than the other (None: not within the horizon).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
HORIZON_MONTHS = 60


class CostInputError(ValueError):
    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class Scope:
    platforms: int
    sites: int
    sku_count: int
    managed: bool
    months: int


@dataclass(frozen=True, slots=True)
class Role:
    name_zh: str
    name_en: str
    monthly_cost: Decimal
    base: Decimal
    per_site: Decimal
    per_100_skus: Decimal

    def headcount(self, scope: Scope) -> Decimal:
        raw = self.base + self.per_site * scope.sites + self.per_100_skus * scope.sku_count / 100
        return Decimal(math.ceil(raw * 2)) / 2  # halves: a part-time hire


@dataclass(frozen=True, slots=True)
class CostBook:
    currency: str
    roles: tuple[Role, ...]
    hiring_one_time: Decimal
    erp_monthly_per_site: Decimal
    erp_setup: Decimal
    seller_hourly_cost: Decimal
    seller_hours_base: Decimal
    seller_hours_per_site: Decimal
    seller_hours_per_100_skus: Decimal
    managed_hours_factor: Decimal


@dataclass(frozen=True, slots=True)
class Option:
    key: str  # agency | in_house | erp_self
    name_zh: str
    name_en: str
    one_time: Decimal
    monthly: Decimal
    lines: tuple[tuple[str, str, Decimal], ...]  # (zh, en, monthly amount) that make monthly

    def cumulative(self, month: int) -> Decimal:
        return self.one_time + self.monthly * month

    def to_json(self, months: int) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": {"zh": self.name_zh, "en": self.name_en},
            "one_time": str(self.one_time.quantize(CENT)),
            "monthly": str(self.monthly.quantize(CENT)),
            "total": str(self.cumulative(months).quantize(CENT)),
            "lines": [
                {"name": {"zh": zh, "en": en}, "monthly": str(amount.quantize(CENT))}
                for zh, en, amount in self.lines
            ],
        }


def _dec(value: object, path: str, problems: list[str]) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        problems.append(f"{path}: {value!r} is not a number")
        return Decimal(0)
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        problems.append(f"{path}: {value!r} is not a number")
        return Decimal(0)
    if not number.is_finite() or number < 0:
        problems.append(f"{path}: {value!r} is not a number ≥ 0")
        return Decimal(0)
    return number


def parse_cost_book(document: object) -> CostBook:
    problems: list[str] = []
    if not isinstance(document, Mapping):
        raise CostInputError(
            ["(document): expected a mapping with currency, in_house, erp, seller"]
        )
    in_house = document.get("in_house") or {}
    erp = document.get("erp") or {}
    seller = document.get("seller") or {}
    roles: list[Role] = []
    for i, role in enumerate(in_house.get("roles") or []):
        path = f"in_house.roles[{i}]"
        if not isinstance(role, Mapping) or not role.get("name"):
            problems.append(f"{path}: expected name, monthly_cost, base, per_site, per_100_skus")
            continue
        zh, _, en = str(role["name"]).partition("/")
        roles.append(
            Role(
                zh.strip(),
                (en or zh).strip(),
                _dec(role.get("monthly_cost"), f"{path}.monthly_cost", problems),
                _dec(role.get("base", 0), f"{path}.base", problems),
                _dec(role.get("per_site", 0), f"{path}.per_site", problems),
                _dec(role.get("per_100_skus", 0), f"{path}.per_100_skus", problems),
            )
        )
    if not roles:
        problems.append("in_house.roles: empty; list the roles of an in-house team")
    book = CostBook(
        currency=str(document.get("currency", "CNY")),
        roles=tuple(roles),
        hiring_one_time=_dec(
            in_house.get("hiring_one_time", 0), "in_house.hiring_one_time", problems
        ),
        erp_monthly_per_site=_dec(erp.get("monthly_per_site"), "erp.monthly_per_site", problems),
        erp_setup=_dec(erp.get("setup", 0), "erp.setup", problems),
        seller_hourly_cost=_dec(seller.get("hourly_cost"), "seller.hourly_cost", problems),
        seller_hours_base=_dec(seller.get("hours_base", 0), "seller.hours_base", problems),
        seller_hours_per_site=_dec(
            seller.get("hours_per_site", 0), "seller.hours_per_site", problems
        ),
        seller_hours_per_100_skus=_dec(
            seller.get("hours_per_100_skus", 0), "seller.hours_per_100_skus", problems
        ),
        managed_hours_factor=_dec(
            seller.get("managed_hours_factor", 2), "seller.managed_hours_factor", problems
        ),
    )
    if problems:
        raise CostInputError(problems)
    return book


def in_house(book: CostBook, scope: Scope) -> Option:
    lines = tuple(
        (
            f"{r.name_zh} × {r.headcount(scope)}",
            f"{r.name_en} × {r.headcount(scope)}",
            r.monthly_cost * r.headcount(scope),
        )
        for r in book.roles
    )
    return Option(
        "in_house",
        "自建团队",
        "in-house team",
        book.hiring_one_time,
        sum((amount for *_, amount in lines), Decimal(0)),
        lines,
    )


def erp_self(book: CostBook, scope: Scope) -> Option:
    hours = (
        book.seller_hours_base
        + book.seller_hours_per_site * scope.sites
        + book.seller_hours_per_100_skus * scope.sku_count / 100
    )
    if scope.managed:
        hours *= book.managed_hours_factor
    erp = book.erp_monthly_per_site * scope.sites
    time = (hours * book.seller_hourly_cost).quantize(CENT, ROUND_HALF_UP)
    lines = (
        (f"ERP 订阅 × {scope.sites} 站点", f"ERP subscription × {scope.sites} sites", erp),
        (
            f"卖家自己的时间 {hours.normalize()} 小时",
            f"seller's own time {hours.normalize()} h",
            time,
        ),
    )
    return Option(
        "erp_self",
        "ERP + 卖家自己做",
        "ERP + the seller's own time",
        book.erp_setup,
        erp + time,
        lines,
    )


def agency(one_time: Decimal, monthly: Decimal) -> Option:
    return Option(
        "agency",
        "服务商报价",
        "agency quote",
        one_time,
        monthly,
        (("服务商月费", "agency monthly fees", monthly),),
    )


def break_even(first: Option, second: Option, horizon: int = HORIZON_MONTHS) -> int | None:
    """The first month from which the option dearer in month 1 has cost no more in total."""
    dear, cheap = (first, second) if first.cumulative(1) > second.cumulative(1) else (second, first)
    if dear.monthly >= cheap.monthly:
        return None
    for month in range(1, horizon + 1):
        if dear.cumulative(month) <= cheap.cumulative(month):
            return month
    return None


def compare(book: CostBook, scope: Scope, agency_option: Option) -> dict[str, Any]:
    options = [agency_option, in_house(book, scope), erp_self(book, scope)]
    cheapest = min(options, key=lambda o: o.cumulative(scope.months))
    pairs = {}
    for other in options[1:]:
        month = break_even(agency_option, other)
        pairs[f"agency_vs_{other.key}"] = month
    return {
        "currency": book.currency,
        "scope": {
            "platforms": scope.platforms,
            "sites": scope.sites,
            "sku_count": scope.sku_count,
            "managed": scope.managed,
            "months": scope.months,
        },
        "options": [o.to_json(scope.months) for o in options],
        "cheapest_over_term": cheapest.key,
        "break_even_month": pairs,
    }
