"""Quotes from a price book (pure): every fee a line, the total, the payment schedule, and
what is still needed for an exact quote.

The price book and the request are mappings (parsed YAML); problems are reported with
their paths like contracts (``lianxing.domain.contracts.Problem``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lianxing.domain.contracts import ContractInputError, Package, Problem

CENT = Decimal("0.01")
ENTITY_TYPES = ("individual", "company")
ACCOUNT_HISTORIES = ("new", "existing_clean", "existing_with_issues")
LANGUAGES = ("zh", "en", "bilingual", "local")
DIFFICULTIES = ("standard", "stretch", "aggressive")
PREFERENCES = ("upfront", "monthly", "milestone")
WHEN = {
    "signing": ("签约时", "at signing"),
    "launch": ("店铺上线时", "at store launch"),
    "first_kpi_milestone": ("首个 KPI 里程碑达成时", "when the first KPI milestone is met"),
    "each_month": ("每月", "each month"),
}


def _money(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(Problem(path, message))

    def money(self, value: object, path: str) -> Decimal:
        amount = _money(value)
        if amount is None:
            self.add(path, f"{value!r} is not an amount ≥ 0")
            return Decimal(0)
        return amount

    def table(self, value: object, path: str, keys: tuple[str, ...]) -> dict[str, Decimal]:
        if not isinstance(value, Mapping) or set(value) != set(keys):
            self.add(path, f"expected a mapping with exactly the keys {', '.join(keys)}")
            return {k: Decimal(0) for k in keys}
        return {k: self.money(value[k], f"{path}.{k}") for k in keys}

    def raise_if_any(self) -> None:
        if self.items:
            raise ContractInputError(self.items)


@dataclass(frozen=True, slots=True)
class ScheduleStep:
    when: str
    one_time: Decimal  # fraction of the one-time total
    monthly: str | None  # "all" (prepaid), "each" (month by month) or None


@dataclass(frozen=True, slots=True)
class PriceBook:
    currency: str
    opening: dict[str, Decimal]
    additional_site_once: Decimal
    custom_day: Decimal
    listing_sku: Decimal
    overseas_company: Decimal
    vat_country: Decimal
    entity: dict[str, Decimal]
    history: dict[str, Decimal]
    service: dict[str, Decimal]
    additional_site_monthly: Decimal
    ad_management: Decimal
    language: dict[str, Decimal]
    difficulty: dict[str, Decimal]
    minimum_months: int
    cycle_discounts: dict[int, Decimal]
    schedules: dict[str, list[ScheduleStep]]


def parse_price_book(document: object) -> PriceBook:
    p = _Problems()
    if not isinstance(document, Mapping):
        raise ContractInputError([Problem("", "expected a price book mapping")])
    once = document.get("one_time") or {}
    monthly = document.get("monthly") or {}
    cycle = document.get("kpi_cycle") or {}
    packages = tuple(x.value for x in Package)
    currency = document.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        p.add("currency", f"{currency!r} is not a currency code such as CNY")
    schedules: dict[str, list[ScheduleStep]] = {}
    raw_schedules = document.get("payment_schedules") or {}
    for preference in PREFERENCES:
        path = f"payment_schedules.{preference}"
        steps = raw_schedules.get(preference) if isinstance(raw_schedules, Mapping) else None
        if not isinstance(steps, list) or not steps:
            p.add(path, "missing; expected a list of steps")
            continue
        parsed: list[ScheduleStep] = []
        for i, step in enumerate(steps):
            if not isinstance(step, Mapping) or step.get("when") not in WHEN:
                p.add(f"{path}[{i}]", f"expected when: one of {', '.join(WHEN)}")
                continue
            share = p.money(step.get("one_time", 0), f"{path}[{i}].one_time")
            monthly_mode = step.get("monthly")
            if monthly_mode not in (None, "all", "each"):
                p.add(f"{path}[{i}].monthly", f"{monthly_mode!r}; expected all or each")
            parsed.append(ScheduleStep(str(step["when"]), share, monthly_mode))
        if sum(s.one_time for s in parsed) != 1:
            p.add(path, "the one_time shares must add up to 1")
        if sum(1 for s in parsed if s.monthly) != 1:
            p.add(path, "exactly one step must say how monthly fees are paid (all or each)")
        schedules[preference] = parsed
    minimum = cycle.get("minimum_months", 1)
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
        p.add("kpi_cycle.minimum_months", f"{minimum!r} is not a whole number ≥ 1")
        minimum = 1
    discounts: dict[int, Decimal] = {}
    for months, rate in (cycle.get("discounts") or {}).items():
        discounts[int(months)] = p.money(rate, f"kpi_cycle.discounts.{months}")
    book = PriceBook(
        currency=str(currency),
        opening=p.table(once.get("store_opening"), "one_time.store_opening", packages),
        additional_site_once=p.money(once.get("additional_site"), "one_time.additional_site"),
        custom_day=p.money(
            once.get("custom_system_work_per_day"), "one_time.custom_system_work_per_day"
        ),
        listing_sku=p.money(
            once.get("listing_optimisation_per_sku"), "one_time.listing_optimisation_per_sku"
        ),
        overseas_company=p.money(once.get("overseas_company"), "one_time.overseas_company"),
        vat_country=p.money(
            once.get("vat_registration_per_country"), "one_time.vat_registration_per_country"
        ),
        entity=p.table(once.get("entity_type"), "one_time.entity_type", ENTITY_TYPES),
        history=p.table(once.get("account_history"), "one_time.account_history", ACCOUNT_HISTORIES),
        service=p.table(monthly.get("service"), "monthly.service", packages),
        additional_site_monthly=p.money(monthly.get("additional_site"), "monthly.additional_site"),
        ad_management=p.money(
            monthly.get("ad_management_per_platform"), "monthly.ad_management_per_platform"
        ),
        language=p.table(monthly.get("support_language"), "monthly.support_language", LANGUAGES),
        difficulty=p.table(
            monthly.get("target_difficulty"), "monthly.target_difficulty", DIFFICULTIES
        ),
        minimum_months=minimum,
        cycle_discounts=discounts,
        schedules=schedules,
    )
    p.raise_if_any()
    return book


# ---------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------

REQUEST_KEYS = (
    "platforms",
    "package",
    "kpi_cycle_months",
    "target_difficulty",
    "custom_system_work_days",
    "ad_management",
    "listing_optimisation_skus",
    "entity_type",
    "overseas_company",
    "vat_registrations",
    "account_history",
    "support_language",
    "category",
    "sku_count",
    "start_date",
    "kpi_dates",
    "existing",
    "budget",
    "payment_preference",
)

# What an exact quote needs, and how to ask for it.
NEEDED: dict[str, tuple[str, str]] = {
    "platforms": ("平台和站点", "platforms and sites"),
    "category": ("类目", "product category"),
    "sku_count": ("SKU 数量", "number of SKUs"),
    "start_date": ("开始日期", "start date"),
    "kpi_dates": ("KPI 考核日期", "KPI dates"),
    "existing.brand": ("是否已有品牌（商标）", "whether a brand (trademark) exists"),
    "existing.stock": ("是否已有库存", "whether stock exists"),
    "existing.erp": ("是否已有 ERP", "whether an ERP is in use"),
    "budget": ("预算", "budget"),
    "payment_preference": ("付款方式偏好", "payment preference"),
}


@dataclass(frozen=True, slots=True)
class QuoteLine:
    code: str
    name_zh: str
    name_en: str
    quantity: Decimal
    unit_price: Decimal
    recurring: bool  # monthly
    basis: str = ""

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(CENT, ROUND_HALF_UP)

    def to_json(self, months: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "name": {"zh": self.name_zh, "en": self.name_en},
            "quantity": format(self.quantity.normalize(), "f"),
            "unit_price": str(self.unit_price.quantize(CENT)),
            "amount": str(self.amount),
            "recurring": "monthly" if self.recurring else "once",
        }
        if self.recurring:
            body["months"] = months
            body["amount_over_term"] = str(self.amount * months)
        if self.basis:
            body["basis"] = self.basis
        return body


@dataclass(slots=True)
class Quote:
    currency: str
    months: int
    lines: list[QuoteLine]
    preference: str
    schedule: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    @property
    def one_time(self) -> Decimal:
        return sum((line.amount for line in self.lines if not line.recurring), Decimal(0))

    @property
    def monthly(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.recurring), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.one_time + self.monthly * self.months

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "lines": [line.to_json(self.months) for line in self.lines],
            "totals": {
                "one_time": str(self.one_time),
                "monthly": str(self.monthly),
                "months": self.months,
                "total": str(self.total),
            },
            "payment_preference": self.preference,
            "payment_schedule": self.schedule,
            "missing_information": self.missing,
            "assumptions": self.assumptions,
            "exact": not self.missing,
        }


def price(book: PriceBook, request: object) -> Quote:
    """The quote for ``request``; raises ContractInputError listing every problem."""
    p = _Problems()
    if not isinstance(request, Mapping):
        raise ContractInputError(
            [Problem("", "expected a mapping with keys " + ", ".join(REQUEST_KEYS))]
        )
    for key in request:
        if key not in REQUEST_KEYS:
            p.add(str(key), f"unknown key {key!r}; expected one of {', '.join(REQUEST_KEYS)}")
    assumptions: list[str] = []

    def choice(key: str, allowed: tuple[str, ...], default: str) -> str:
        value = request.get(key)
        if value is None:
            assumptions.append(f"{key}: {default} (not given)")
            return default
        if value not in allowed:
            p.add(key, f"{value!r} is not allowed; expected one of {', '.join(allowed)}")
            return default
        return str(value)

    def count(key: str) -> int:
        value = request.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            p.add(key, f"{value!r} is not a whole number ≥ 0")
            return 0
        return value

    def flag(key: str) -> bool:
        value = request.get(key, False)
        if not isinstance(value, bool):
            p.add(key, f"{value!r} is not true or false")
            return False
        return value

    sites: list[tuple[str, list[str]]] = []
    raw_platforms = request.get("platforms") or []
    if not isinstance(raw_platforms, list):
        p.add("platforms", "expected a list of {platform: NAME, sites: [SITE, ...]}")
        raw_platforms = []
    for i, item in enumerate(raw_platforms):
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("platform"), str)
            or not isinstance(item.get("sites"), list)
            or not item["sites"]
        ):
            p.add(f"platforms[{i}]", "expected {platform: NAME, sites: [SITE, ...]}")
            continue
        sites.append((item["platform"], [str(s) for s in item["sites"]]))
    package = choice("package", tuple(x.value for x in Package), Package.OPEN_PLUS_COACHING.value)
    difficulty = choice("target_difficulty", DIFFICULTIES, "standard")
    entity = choice("entity_type", ENTITY_TYPES, "company")
    history = choice("account_history", ACCOUNT_HISTORIES, "new")
    language = choice("support_language", LANGUAGES, "zh")
    preference = choice("payment_preference", PREFERENCES, "monthly")
    months_value = request.get("kpi_cycle_months", book.minimum_months)
    if isinstance(months_value, bool) or not isinstance(months_value, int) or months_value < 1:
        p.add("kpi_cycle_months", f"{months_value!r} is not a whole number ≥ 1")
        months_value = book.minimum_months
    if months_value < book.minimum_months:
        p.add(
            "kpi_cycle_months",
            f"{months_value} is below the price book's minimum of {book.minimum_months} months",
        )
    custom_days = count("custom_system_work_days")
    listing_skus = count("listing_optimisation_skus")
    ads = flag("ad_management")
    overseas = flag("overseas_company")
    vat = request.get("vat_registrations") or []
    if not isinstance(vat, list):
        p.add("vat_registrations", "expected a list of country codes")
        vat = []
    p.raise_if_any()

    n_platforms = len(sites)
    n_sites = sum(len(s) for _, s in sites)
    extra_sites = n_sites - n_platforms
    lines: list[QuoteLine] = []

    def line(
        code: str,
        zh: str,
        en: str,
        qty: int | Decimal,
        unit: Decimal,
        monthly: bool,
        basis: str = "",
    ) -> None:
        if qty and unit:
            lines.append(QuoteLine(code, zh, en, Decimal(qty), unit, monthly, basis))

    platform_list = ", ".join(f"{name} {'/'.join(s)}" for name, s in sites)
    line(
        "store_opening",
        "开店服务（每个平台首站）",
        "store opening (first site per platform)",
        n_platforms,
        book.opening[package],
        False,
        platform_list,
    )
    line(
        "additional_site_opening",
        "新增站点开通",
        "opening a further site",
        extra_sites,
        book.additional_site_once,
        False,
    )
    line(
        "custom_system_work",
        "定制系统开发（人天）",
        "custom system work (days)",
        custom_days,
        book.custom_day,
        False,
    )
    line(
        "listing_optimisation",
        "Listing 优化（每 SKU）",
        "listing optimisation (per SKU)",
        listing_skus,
        book.listing_sku,
        False,
    )
    line(
        "entity_type",
        f"主体类型：{entity}",
        f"entity type: {entity}",
        1,
        book.entity[entity],
        False,
    )
    line(
        "overseas_company",
        "海外公司注册",
        "overseas company registration",
        1 if overseas else 0,
        book.overseas_company,
        False,
    )
    line(
        "vat_registration",
        "VAT 注册（每国）",
        "VAT registration (per country)",
        len(vat),
        book.vat_country,
        False,
        ", ".join(map(str, vat)),
    )
    line(
        "account_history",
        f"账号接管：{history}",
        f"account takeover: {history}",
        1,
        book.history[history],
        False,
    )
    discount = Decimal(0)
    for threshold, rate in sorted(book.cycle_discounts.items()):
        if months_value >= threshold:
            discount = rate
    service_unit = (book.service[package] * book.difficulty[difficulty] * (1 - discount)).quantize(
        CENT, ROUND_HALF_UP
    )
    line(
        "monthly_service",
        f"月度服务费（{package}，目标难度 {difficulty}）",
        f"monthly service ({package}, {difficulty} targets)",
        n_platforms,
        service_unit,
        True,
        f"{book.service[package]} × {book.difficulty[difficulty]} difficulty "
        f"× (1 − {discount} for {months_value} months)",
    )
    if package != Package.OPEN_ONLY.value:
        line(
            "additional_site_service",
            "新增站点月度服务",
            "further site, monthly",
            extra_sites,
            book.additional_site_monthly,
            True,
        )
    line(
        "ad_management",
        "广告托管（每平台）",
        "ad management (per platform)",
        n_platforms if ads else 0,
        book.ad_management,
        True,
    )
    line(
        "support_language",
        f"客服语言：{language}",
        f"support language: {language}",
        1,
        book.language[language],
        True,
    )

    quote = Quote(book.currency, months_value, lines, preference, assumptions=assumptions)
    for step in book.schedules[preference]:
        zh, en = WHEN[step.when]
        amount = (quote.one_time * step.one_time).quantize(CENT, ROUND_HALF_UP)
        entry: dict[str, Any] = {
            "when": step.when,
            "label": {"zh": zh, "en": en},
            "one_time": str(amount),
        }
        if step.monthly == "all":
            entry["monthly"] = str(quote.monthly * quote.months)
        elif step.monthly == "each":
            entry["monthly"] = str(quote.monthly)
            entry["times"] = quote.months
        entry["amount"] = str(
            amount + (quote.monthly * quote.months if step.monthly == "all" else 0)
        )
        quote.schedule.append(entry)
    existing = request.get("existing") if isinstance(request.get("existing"), Mapping) else {}
    for key, (zh, en) in NEEDED.items():
        if key.startswith("existing."):
            present = key.split(".", 1)[1] in existing  # type: ignore[operator]
        else:
            present = request.get(key) not in (None, [], "")
        if not present:
            quote.missing.append({"field": key, "zh": zh, "en": en})
    return quote
