"""Measuring the detectors: demo facts with known incidents, precision and recall per rule.

Two scenarios per seed, both on a fresh warehouse:

* **clean**: the demo stores without any anomaly; every finding is a false positive;
* **injected**: the demo with its own anomalies (brushing, ROAS drop, late-shipment burst)
  plus the incidents of ``injections`` for every rule; a finding is a true positive when it
  points at an incident (shares an order with it, or for ad incidents names the same
  subject and day), and an incident is found when a finding *of its rule* points at it.

A fourth, small store launches inside the evaluated month so the new-store rule has
something to look at; it is in both scenarios.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lianxing.demo import DemoStore, default_demo_spec, write_demo
from lianxing.demo.spec import AnomalyKind, DemoSpec
from lianxing.domain.integrity import DEFAULT_THRESHOLDS, Finding, RuleId, Thresholds
from lianxing.integrity import injections as inj
from lianxing.integrity.detectors import StoreScope, rows, run_detectors
from lianxing.integrity.injections import Incident
from lianxing.warehouse import Warehouse

TODAY = dt.date(2026, 11, 1)  # the demo then covers 2026-04-29 .. 2026-10-31
MONTHS = (dt.date(2026, 9, 1), dt.date(2026, 10, 1))
NEW_STORE_ID = 4
NEW_STORE_LAUNCH = dt.date(2026, 10, 12)


def evaluation_spec(seed: int, *, clean: bool) -> DemoSpec:
    base = default_demo_spec(TODAY, seed=seed)
    new_store = DemoStore(
        NEW_STORE_ID,
        "shopee",
        "SG",
        "SGD",
        "Asia/Singapore",
        NEW_STORE_LAUNCH,
        sku_count=30,
        daily_orders_at_maturity=12,
        name="Shopee SG · New",
        tax_rate=0.09,
        prices_include_tax=True,
        ship_country="SG",
    )
    return dataclasses.replace(
        base,
        stores=(*base.stores, new_store),
        anomalies=() if clean else base.anomalies,
    )


def _scope(store: DemoStore, month: dt.date) -> StoreScope:
    end = (month + dt.timedelta(days=32)).replace(day=1)
    return StoreScope(store.store_id, store.timezone, store.currency, store.launch_date, month, end)


def demo_brushing_incident(warehouse: Warehouse, spec: DemoSpec) -> list[Incident]:
    """The demo generator's own brushing: the buyer with 20+ orders on the anomaly day."""
    incidents = []
    for anomaly in spec.anomalies:
        if anomaly.kind != AnomalyKind.BRUSHING:
            continue
        store = spec.stores_by_id[anomaly.store_id]
        facts = inj.StoreFacts(store.store_id, store.timezone, store.currency, {})
        start = facts.utc(anomaly.start, 0)
        end = facts.utc(anomaly.start + dt.timedelta(days=1), 0)
        orders = warehouse.table("orders")
        orders = orders.filter(
            (orders.store_id == store.store_id)
            & (orders.purchase_ts >= start)
            & (orders.purchase_ts < end)
        )
        heavy = orders.group_by("buyer_ref").aggregate(n=orders.count())
        heavy = heavy.filter(heavy.n >= 20).select("buyer_ref")
        ids = {r["order_id"] for r in rows(orders.join(heavy, "buyer_ref").select("order_id"))}
        incidents.append(
            Incident(RuleId.ORDER_CONCENTRATION, store.store_id, anomaly.start, frozenset(ids))
        )
    return incidents


def inject_incidents(warehouse: Warehouse, spec: DemoSpec) -> list[Incident]:
    """Every injected incident of the injected scenario, in October 2026."""
    month = MONTHS[1]
    stores = spec.stores_by_id

    def facts(store_id: int) -> inj.StoreFacts:
        s = stores[store_id]
        return inj.store_facts(warehouse, s.store_id, s.timezone, s.currency, month)

    def day(n: int) -> dt.date:
        return month.replace(day=n)

    amazon, shopee, new = facts(1), facts(2), facts(NEW_STORE_ID)
    incidents = demo_brushing_incident(warehouse, spec)
    incidents += [
        inj.inject_buyer_burst(warehouse, amazon, day(8)),
        inj.inject_postal_cluster(warehouse, shopee, day(6)),
        inj.inject_quick_refunds(warehouse, amazon, day(3)),
        inj.inject_quick_refunds(warehouse, shopee, day(9)),
        inj.inject_conversion_spike(warehouse, amazon, day(22)),
        inj.inject_conversion_spike(warehouse, shopee, day(24)),
        inj.inject_click_flood(warehouse, amazon, day(15)),
        inj.inject_click_flood(warehouse, shopee, day(20)),
        inj.inject_ad_sales_over_gmv(warehouse, amazon, day(10)),
        inj.inject_cheap_orders(warehouse, amazon, day(18)),
        inj.inject_cheap_orders(warehouse, shopee, day(14)),
        inj.inject_new_store_cluster(warehouse, new, NEW_STORE_LAUNCH, 50),
    ]
    incidents += inj.inject_source_mismatches(warehouse, amazon, day(12))
    incidents += inj.inject_source_mismatches(warehouse, shopee, day(27))
    return incidents


@dataclass
class RuleTally:
    findings: int = 0
    true_positives: int = 0
    incidents: int = 0
    found: int = 0

    @property
    def false_positives(self) -> int:
        return self.findings - self.true_positives

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.findings if self.findings else None

    @property
    def recall(self) -> float | None:
        return self.found / self.incidents if self.incidents else None


@dataclass
class Evaluation:
    tallies: dict[RuleId, RuleTally] = field(
        default_factory=lambda: {rule: RuleTally() for rule in RuleId}
    )
    clean_false_positives: dict[RuleId, int] = field(
        default_factory=lambda: {rule: 0 for rule in RuleId}
    )
    clean_store_months: int = 0
    missed: list[Incident] = field(default_factory=list)
    unexplained: list[Finding] = field(default_factory=list)

    def add_injected(
        self, findings: Iterable[Finding], incidents: list[Incident], spec: DemoSpec
    ) -> None:
        listed = list(findings)
        zones = {s.store_id: s.timezone for s in spec.stores}
        for finding in listed:
            tally = self.tallies[finding.rule]
            tally.findings += 1
            if any(i.matched_by(finding, zones[i.store_id]) for i in incidents):
                tally.true_positives += 1
            else:
                self.unexplained.append(finding)
        by_rule: dict[RuleId, list[Finding]] = defaultdict(list)
        for finding in listed:
            by_rule[finding.rule].append(finding)
        for incident in incidents:
            tally = self.tallies[incident.rule]
            tally.incidents += 1
            zone = zones[incident.store_id]
            if any(incident.matched_by(f, zone) for f in by_rule[incident.rule]):
                tally.found += 1
            else:
                self.missed.append(incident)

    def add_clean(self, findings: Iterable[Finding], store_months: int) -> None:
        self.clean_store_months += store_months
        for finding in findings:
            self.clean_false_positives[finding.rule] += 1
            self.unexplained.append(finding)


def detect_all(
    warehouse: Warehouse,
    spec: DemoSpec,
    months: Iterable[dt.date] = MONTHS,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> tuple[list[Finding], int]:
    """Findings of every store and month, and how many store-months were examined."""
    findings: list[Finding] = []
    examined = 0
    for month in months:
        for store in spec.stores:
            findings.extend(run_detectors(warehouse, _scope(store, month), thresholds))
            examined += 1
    return findings, examined


def evaluate_seed(
    evaluation: Evaluation,
    make_warehouse: Callable[[], Warehouse],
    seed: int,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> None:
    """Run both scenarios of one seed; ``make_warehouse()`` returns a fresh warehouse."""
    for clean in (True, False):
        warehouse = make_warehouse()
        try:
            spec = evaluation_spec(seed, clean=clean)
            write_demo(warehouse, spec)
            if clean:
                findings, examined = detect_all(warehouse, spec, thresholds=thresholds)
                evaluation.add_clean(findings, examined)
            else:
                incidents = inject_incidents(warehouse, spec)
                findings, _ = detect_all(warehouse, spec, (MONTHS[1],), thresholds)
                evaluation.add_injected(findings, incidents, spec)
        finally:
            warehouse.close()
