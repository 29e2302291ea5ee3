"""Risk audit of a contract before signing (``lianxing contract check``), pure.

Each rule looks for one way these contracts go wrong for a seller (DESIGN.md: KPIs typed
into Excel, GMV that silently includes refunds, logins held by the agency, payment due on
unverifiable targets, hidden fees, no exit) and reports a :class:`Finding` with a stable
``code``, a severity, a message in Chinese and English, and the path in the document.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lianxing.domain.contract_evaluation import SettlementRates
from lianxing.domain.contracts import Contract, FeeType, Severity, Target, add_months
from lianxing.domain.credit_code import check_credit_code
from lianxing.domain.targets import Comparator


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    message_zh: str
    message_en: str
    path: str

    def to_json(self, line: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": {"zh": self.message_zh, "en": self.message_en},
            "path": self.path,
        }
        if line is not None:
            body["line"] = line
        return body


@dataclass(frozen=True, slots=True)
class AuditRates:
    """The ``fx_rates`` of one day, to weigh fees in different currencies against each other
    before signing (an estimate: the fees fall due later, at other rates)."""

    day: dt.date
    rates: SettlementRates  # the settlement currency and the rates of ``day``


@dataclass(frozen=True, slots=True)
class KpiFacts:
    """What the audit needs to know of a catalog KPI."""

    options: frozenset[str]  # options that change its number
    direction: str  # higher | lower


# Options that change a money KPI materially; a clause must say which way it goes.
MATERIAL_OPTIONS = ("refunds", "refund_attribution", "cancelled", "include_tax", "currency")

# Targets a store in its first month cannot be expected to reach (cold start: no reviews,
# no ranking history, ad campaigns still learning). Meeting them is possible, but tying
# money or exit rights to them in month one shifts the agency's risk onto the seller.
COLD_START_LIMITS: dict[str, Target] = {
    "roas": Target(Comparator.GE, 4.0),
    "acos": Target(Comparator.LE, 0.15),
    "tacos": Target(Comparator.LE, 0.08),
    "conversion_rate": Target(Comparator.GE, 0.15),
}
FIRST_MONTH_DAYS = 31

_SELLER = {"seller", "卖家", "买方", "甲方"}
_GUARANTEE = re.compile(
    r"保证月销|保证销量|保证销售|保证出单|保证回本|保证盈利|包过审核|包过|包下店|包出单|稳赚|"
    r"guarantee[ds]?\s+(?:monthly\s+)?(?:sales|approval|revenue|profit|orders|ranking)|"
    r"guaranteed|100\s*%\s*(?:approval|pass)",
    re.IGNORECASE,
)
_OPEN_ENDED_NAME = re.compile(
    r"其他费用|其它费用|等费用|杂费|另行收取|另计|按实际|实报实销|"
    r"other\s+fees|miscellaneous|additional\s+(?:fees|charges)|\betc\b",
    re.IGNORECASE,
)
# Fees that agencies often mention in the text and charge later; each must have a price.
_MENTIONED_FEES: dict[str, tuple[str, str, re.Pattern[str]]] = {
    "appeal": ("申诉费", "appeal fee", re.compile(r"申诉|appeal", re.IGNORECASE)),
    "emergency": (
        "加急费",
        "emergency / rush fee",
        re.compile(r"加急|紧急|emergency|urgent|rush", re.IGNORECASE),
    ),
    "yearly_system": (
        "系统年费",
        "yearly system fee",
        re.compile(r"年费|系统费|annual|yearly|per\s+year", re.IGNORECASE),
    ),
}
_EXCLUSIVE_ALL = re.compile(
    r"所有|全部|全平台|全球|任何|all\s+platforms|any\s+platform|worldwide|all\s+channels",
    re.IGNORECASE,
)


_LIABILITY = re.compile(
    r"违约责任|违约金|赔偿|liabilit|breach\s+of\s+(?:this\s+)?contract|liquidated\s+damages",
    re.IGNORECASE,
)
_DISPUTE = re.compile(
    r"争议|纠纷|仲裁|诉讼|管辖|dispute|arbitrat|jurisdiction|court", re.IGNORECASE
)
VERIFIED = "verified"


def audit(
    contract: Contract,
    catalog: Mapping[str, KpiFacts],
    cases: Mapping[int, str] | None = None,
    rates: AuditRates | None = None,
) -> list[Finding]:
    """Every finding, high severity first, then by path.

    ``cases`` gives the status ("verified" or "claimed") of the workspace's case studies by
    id; a cited case that is not verified there (or not there at all) is reported. ``rates``
    convert fees in different currencies to one before they are compared (see
    :func:`_payment_before_evidence`).
    """
    findings = [
        *_agency_identity(contract),
        *_liability_and_disputes(contract),
        *_cited_cases(contract, cases or {}),
        *_kpi_findings(contract, catalog),
        *_cold_start(contract),
        *_structure(contract),
        *_fees(contract),
        *_guarantees(contract.document),
        *_exclusivity(contract),
        *_payment_before_evidence(contract, rates),
    ]
    order = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}
    return sorted(findings, key=lambda f: (order[f.severity], f.path, f.code))


def _kpi_findings(contract: Contract, catalog: Mapping[str, KpiFacts]) -> Iterator[Finding]:
    for i, clause in enumerate(contract.kpis):
        path = f"kpis[{i}]"
        facts = catalog.get(clause.kpi)
        if facts is None:
            yield Finding(
                "kpi.unknown",
                Severity.HIGH,
                f"KPI “{clause.kpi}”不在指标目录中，无法按明确定义计算和核对",
                f"KPI {clause.kpi!r} is not in the KPI catalog; nobody can compute or check it",
                f"{path}.kpi",
            )
        else:
            allowed = ", ".join(sorted(facts.options)) or "(none)"
            for name in clause.options:
                if name not in facts.options:
                    yield Finding(
                        "kpi.option_invalid",
                        Severity.MEDIUM,
                        f"选项“{name}”不影响 {clause.kpi}，可选项：{allowed}",
                        f"option {name!r} does not apply to {clause.kpi}; options: {allowed}",
                        f"{path}.options.{name}",
                    )
            for name in MATERIAL_OPTIONS:
                if name in facts.options and name not in clause.options:
                    yield Finding(
                        "kpi.option_unspecified",
                        Severity.MEDIUM,
                        f"{clause.kpi} 未写明选项“{name}”（例如是否扣除退款、是否含税），"
                        "签约后口径容易产生争议",
                        f"{clause.kpi} does not say {name!r} (e.g. whether refunds are deducted, "
                        "whether tax is included); the number is open to dispute",
                        f"{path}.options",
                    )
        if clause.source.value == "manual":
            yield Finding(
                "kpi.unverifiable_source",
                Severity.HIGH,
                f"{clause.kpi} 由人工填报，卖家无法用平台数据核实",
                f"{clause.kpi} is typed in by hand; the seller cannot verify it "
                "against platform data",
                f"{path}.source",
            )


def _ambitious(kpi: str, target: Target) -> bool:
    limit = COLD_START_LIMITS.get(kpi)
    if limit is None:
        return False
    if limit.comparator.higher_is_better:
        return target.comparator.higher_is_better and target.value >= limit.value
    return target.comparator.lower_is_better and target.value <= limit.value


def _cold_start(contract: Contract) -> Iterator[Finding]:
    if contract.stores and not any(s.new for s in contract.stores):
        return
    for i, clause in enumerate(contract.kpis):
        if (
            clause.target
            and clause.from_day <= FIRST_MONTH_DAYS
            and _ambitious(clause.kpi, clause.target)
        ):
            yield _cold_finding(clause.kpi, clause.target, f"kpis[{i}].target")
    for i, milestone in enumerate(contract.milestones):
        kpi = contract.clause(milestone.kpi).kpi
        if milestone.within_days_of_launch <= FIRST_MONTH_DAYS and _ambitious(
            kpi, milestone.target
        ):
            yield _cold_finding(kpi, milestone.target, f"milestones[{i}].target")


def _cold_finding(kpi: str, target: Target, path: str) -> Finding:
    limit = COLD_START_LIMITS[kpi]
    goal = f"{kpi} {target.comparator.value} {target.value:g}"
    return Finding(
        "targets.unrealistic_cold_start",
        Severity.HIGH,
        f"新店首月目标 {goal} 不现实（冷启动期参考线 {limit.comparator.value} {limit.value:g}），"
        "应设置爬坡目标或从第二个月起考核",
        f"{goal} in the first month of a new store is unrealistic (cold-start reference "
        f"{limit.comparator.value} {limit.value:g}); use a ramp or start judging from month two",
        path,
    )


def _structure(contract: Contract) -> Iterator[Finding]:
    if not contract.exits:
        yield Finding(
            "exit.missing",
            Severity.HIGH,
            "没有退出条款：KPI 连续未达成时卖家无权解约或退款",
            "no exit clause: the seller cannot terminate or get a refund when KPIs are missed",
            "exit",
        )
    if not contract.sla:
        yield Finding(
            "sla.missing",
            Severity.MEDIUM,
            "没有服务时效（SLA）：问题的首次响应和解决时限未约定",
            "no SLA: first-response and resolution times for issues are not agreed",
            "sla",
        )
    if (contract.data_ownership or "").strip().lower() not in _SELLER:
        yield Finding(
            "data_ownership.not_seller",
            Severity.HIGH,
            f"店铺数据归属为“{contract.data_ownership or '未约定'}”，应归卖家所有",
            f"store data is owned by {contract.data_ownership or 'nobody stated'!r}; "
            "it should belong to the seller",
            "data_ownership",
        )
    if (contract.accounts_held_by or "").strip().lower() not in _SELLER:
        yield Finding(
            "accounts.not_held_by_seller",
            Severity.HIGH,
            f"店铺账号由“{contract.accounts_held_by or '未约定'}”持有，卖家应持有主账号，"
            "服务商使用可撤销的子账号",
            f"the store accounts are held by {contract.accounts_held_by or 'nobody stated'!r}; "
            "the seller should hold the main account and grant the agency revocable access",
            "accounts_held_by",
        )


def _fees(contract: Contract) -> Iterator[Finding]:
    if not contract.fees:
        yield Finding(
            "fees.open_ended",
            Severity.HIGH,
            "没有逐项列出费用，无法确认总价",
            "the fees are not enumerated; the total price cannot be known",
            "fees",
        )
    for i, fee in enumerate(contract.fees):
        if fee.unpriced is not None:
            yield Finding(
                "fees.open_ended",
                Severity.HIGH,
                f"费用“{fee.name}”没有金额（写作“{fee.unpriced}”）",
                f"fee {fee.name!r} has no price (written as {fee.unpriced!r})",
                f"fees[{i}].amount",
            )
        if _OPEN_ENDED_NAME.search(fee.name):
            yield Finding(
                "fees.open_ended",
                Severity.HIGH,
                f"费用“{fee.name}”没有限定范围，可能包含任何费用",
                f"fee {fee.name!r} is open-ended and could cover anything",
                f"fees[{i}].name",
            )
    text = contract.clauses_text
    if _OPEN_ENDED_NAME.search(text):
        yield Finding(
            "fees.open_ended",
            Severity.HIGH,
            "条款中提到“其他费用/另行收取”等未列明的费用",
            "the clauses mention fees that are not listed (other fees, charged separately)",
            "clauses_text",
        )
    fee_names = " ".join(f.name for f in contract.fees if f.unpriced is None)
    for zh, en, pattern in _MENTIONED_FEES.values():
        if pattern.search(text) and not pattern.search(fee_names):
            yield Finding(
                "fees.open_ended",
                Severity.HIGH,
                f"条款提到{zh}，但费用清单中没有定价",
                f"the clauses mention a fee ({en}) that the fee list does not price",
                "clauses_text",
            )


def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def _guarantees(document: Mapping[str, Any]) -> Iterator[Finding]:
    for path, text in _strings(document, ""):
        match = _GUARANTEE.search(text)
        if match:
            yield Finding(
                "claims.guarantee",
                Severity.HIGH,
                f"“{match.group(0)}”是平台规则下无法兑现的承诺，常见于不实宣传",
                f"{match.group(0)!r} promises what no agency controls on a marketplace; "
                "it is a typical misleading claim",
                path,
            )


def _exclusivity(contract: Contract) -> Iterator[Finding]:
    exclusivity = contract.exclusivity
    if exclusivity is None:
        return
    if exclusivity.months > 12 or _EXCLUSIVE_ALL.search(exclusivity.scope):
        severity = Severity.HIGH
    elif exclusivity.months > 6:
        severity = Severity.MEDIUM
    else:
        return
    yield Finding(
        "exclusivity.restrictive",
        severity,
        f"独家条款过严：范围“{exclusivity.scope}”，{exclusivity.months} 个月，"
        "卖家在此期间无法更换服务商",
        f"restrictive exclusivity: scope {exclusivity.scope!r} for {exclusivity.months} months; "
        "the seller cannot change agency meanwhile",
        "exclusivity",
    )


def earliest_evidence(contract: Contract) -> dt.date | None:
    """The first day any milestone could be met (launch + its N days), if any."""
    if not contract.milestones:
        return None
    launch = contract.term.launch_date or contract.term.start
    return min(launch + dt.timedelta(days=m.consecutive_days - 1) for m in contract.milestones)


def _payment_before_evidence(contract: Contract, rates: AuditRates | None) -> Iterator[Finding]:
    """More than half of the money due before the first milestone could be met.

    Fees in one currency are compared as they are. Fees in several are converted to the
    settlement currency with ``rates`` when given. Without rates each currency is compared on
    its own, and the finding says so: the share of all the money is a weighted average of the
    shares per currency, so it is over half when every currency is, never over half when none
    is, and otherwise depends on the rates.
    """
    evidence = earliest_evidence(contract)
    due: list[tuple[str, Decimal, bool]] = []  # currency, amount, due before the evidence

    def add(currency: str, amount: Decimal, day: dt.date | None) -> None:
        due.append((currency, amount, day is not None and (evidence is None or day < evidence)))

    for fee in contract.fees:
        if fee.amount is None:
            continue
        match fee.type:
            case FeeType.FIXED:
                add(fee.currency, fee.amount, fee.due_date or contract.term.start)
            case FeeType.MONTHLY:
                for k in range(contract.term.months):
                    add(fee.currency, fee.amount, add_months(contract.term.start, k))
            case FeeType.MILESTONE:
                add(fee.currency, fee.amount, None)
            case FeeType.PERCENT_OF_KPI:
                pass
    when = evidence.isoformat() if evidence else "任何可衡量的里程碑"
    when_en = evidence.isoformat() if evidence else "any measurable milestone"
    currencies = sorted({currency for currency, _, _ in due})
    if len(currencies) > 1 and rates is not None:
        settlement = rates.rates.currency
        converted = [
            (
                settlement,
                rates.rates.convert(amount, currency, None, rates.day, "fee").amount,
                early,
            )
            for currency, amount, early in due
        ]
        for _, share, early, total in _early_shares(converted):
            listed = "、".join(currencies)
            yield _payment_finding(
                f"{share}% 的费用（{early} / {total} {settlement}；{listed} 的费用按 fx_rates "
                f"{rates.day.isoformat()} 的汇率换算为 {settlement}，为估算）在{when}之前就要支付",
                f"{share}% of the money ({early} of {total} {settlement}; the fees in "
                f"{', '.join(currencies)} converted to {settlement} at the fx_rates of "
                f"{rates.day.isoformat()}, an estimate) is due before {when_en}",
            )
        return
    shares = _early_shares(due)
    for currency, share, early, total in shares:
        if len(currencies) == 1:
            yield _payment_finding(
                f"{share}% 的费用（{early} / {total} {currency}）在{when}之前就要支付",
                f"{share}% of the money ({early} of {total} {currency}) is due before {when_en}",
            )
            continue
        # Several currencies and no rate to weigh them: each is compared on its own.
        if len(shares) == len(currencies):
            zh = "每个币种都超过一半，按任何汇率合计也超过一半"
            en = "over half in every currency, so over half of all the money at any rate"
        else:
            zh = "合计是否超过一半取决于汇率"
            en = "whether over half of all the money is due early depends on the rates"
        yield _payment_finding(
            f"{currency} 费用的 {share}%（{early} / {total} {currency}）在{when}之前就要支付；"
            f"费用分属 {'、'.join(currencies)}，fx_rates 中没有可用于换算的汇率，按币种分别比较"
            f"（{zh}）",
            f"{share}% of the {currency} fees ({early} of {total} {currency}) is due before "
            f"{when_en}; the fees are in {', '.join(currencies)} and fx_rates has no rates "
            f"to convert them, so each currency is compared on its own ({en})",
        )


def _early_shares(
    due: Sequence[tuple[str, Decimal, bool]],
) -> list[tuple[str, int, Decimal, Decimal]]:
    """Per currency with over half of its money due early: the share in %, early, total."""
    totals: dict[str, Decimal] = {}
    before: dict[str, Decimal] = {}
    for currency, amount, early in due:
        totals[currency] = totals.get(currency, Decimal(0)) + amount
        if early:
            before[currency] = before.get(currency, Decimal(0)) + amount
    over = []
    for currency, total in sorted(totals.items()):
        early_amount = before.get(currency, Decimal(0))
        if total > 0 and early_amount / total > Decimal("0.5"):
            share = int((early_amount / total * 100).to_integral_value())
            over.append((currency, share, early_amount, total))
    return over


def _payment_finding(zh: str, en: str) -> Finding:
    return Finding(
        "payment.before_evidence",
        Severity.HIGH,
        f"{zh}，付款应与可核实的 KPI 里程碑挂钩",
        f"{en}; tie payment to verifiable KPI milestones",
        "fees",
    )


def _agency_identity(contract: Contract) -> Iterator[Finding]:
    number = contract.agency.registration_number
    check = check_credit_code(number)
    if check.valid:
        return
    path = "parties.agency.registration_number" if number else "parties.agency"
    yield Finding(
        "parties.agency_unverified",
        Severity.HIGH,
        f"服务商身份无法核实：{check.problem_zh}；签约前应在国家企业信用信息公示系统核对主体",
        f"the agency's identity cannot be verified: {check.problem_en}; check the entity in "
        "the national enterprise credit information system before signing",
        path,
    )


def _liability_and_disputes(contract: Contract) -> Iterator[Finding]:
    if contract.liability is None and not _LIABILITY.search(contract.clauses_text):
        yield Finding(
            "liability.missing",
            Severity.HIGH,
            "没有违约责任条款：服务商不履约时卖家无法主张违约金或赔偿",
            "no liability clause (违约责任): the seller cannot claim damages or a penalty "
            "when the agency does not perform",
            "liability",
        )
    if contract.dispute_resolution is None and not _DISPUTE.search(contract.clauses_text):
        yield Finding(
            "dispute.missing",
            Severity.MEDIUM,
            "没有争议解决条款：未约定仲裁机构或管辖法院",
            "no dispute-resolution clause: neither an arbitration body nor a court is agreed",
            "dispute_resolution",
        )


def _cited_cases(contract: Contract, cases: Mapping[int, str]) -> Iterator[Finding]:
    for i, case in enumerate(contract.cases):
        if case.case_id is not None and cases.get(case.case_id) == VERIFIED:
            continue
        if case.case_id is None:
            what_zh, what_en = f"“{case.text}”只是描述", f"{case.text!r} is a description only"
        elif case.case_id not in cases:
            what_zh = f"案例 #{case.case_id} 不在联星中"
            what_en = f"case study #{case.case_id} is not in Lianxing"
        else:
            what_zh = f"案例 #{case.case_id} 仅为服务商自述"
            what_en = f"case study #{case.case_id} is only claimed by the agency"
        yield Finding(
            "cases.unverified",
            Severity.MEDIUM,
            f"{what_zh}，没有卖家同意公开的冻结 KPI 快照为证",
            f"{what_en}; no frozen KPI snapshot shared with the seller's consent backs it",
            f"cases[{i}]",
        )
