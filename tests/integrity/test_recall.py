"""On demo data: every detector finds what was injected and stays quiet on clean data.

One seed here (the bench, ``bench/integrity_eval.py``, runs several); DuckDB in memory.
"""

from __future__ import annotations

from lianxing.domain.integrity import RuleId
from lianxing.integrity.evaluation import Evaluation, evaluate_seed
from lianxing.warehouse import Warehouse, connect


def _fresh() -> Warehouse:
    warehouse = connect("duckdb://")
    warehouse.ensure_schema()
    return warehouse


def test_each_detector_finds_its_injected_incidents_and_few_false_positives() -> None:
    evaluation = Evaluation()
    evaluate_seed(evaluation, _fresh, 20_260_101)
    for rule in RuleId:
        tally = evaluation.tallies[rule]
        assert tally.incidents >= 1, rule
        assert tally.found == tally.incidents, (rule, evaluation.missed)
    # the demo's own brushing is among the order-concentration incidents
    assert evaluation.tallies[RuleId.ORDER_CONCENTRATION].incidents == 3
    # clean demo data: two months of four stores, at most one false positive in all
    assert evaluation.clean_store_months == 8
    assert sum(evaluation.clean_false_positives.values()) <= 1, evaluation.unexplained
    injected = sum(t.findings for t in evaluation.tallies.values())
    true_positives = sum(t.true_positives for t in evaluation.tallies.values())
    assert true_positives >= injected - 1, evaluation.unexplained
