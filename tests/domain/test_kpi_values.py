"""Formula parsing and the value algebra of KPIs (pure)."""

from __future__ import annotations

import pytest

from lianxing.domain.kpi import (
    NO_DATA,
    ZERO_DENOMINATOR,
    BinOp,
    FormulaError,
    KpiValue,
    Number,
    Ref,
    change,
    content_hash,
    evaluate,
    formula_refs,
    is_linear_sum,
    parse_formula,
)


def test_parse_precedence_and_parentheses() -> None:
    assert parse_formula("a - b * 2") == BinOp("-", Ref("a"), BinOp("*", Ref("b"), Number(2.0)))
    assert parse_formula("(a - b) / c") == BinOp("/", BinOp("-", Ref("a"), Ref("b")), Ref("c"))
    assert formula_refs(parse_formula("gmv_net - fee_amount - gmv_net")) == [
        "gmv_net",
        "fee_amount",
    ]
    assert is_linear_sum(parse_formula("a - b + c"))
    assert not is_linear_sum(parse_formula("a / b"))


@pytest.mark.parametrize("text", ["a +", "a ** b", "(a", "a b", "__import__('os')", ""])
def test_formula_is_a_closed_vocabulary(text: str) -> None:
    with pytest.raises(FormulaError):
        parse_formula(text)


def test_zero_denominator_and_missing_values() -> None:
    values = {"a": KpiValue(3.0), "zero": KpiValue(0.0), "none": KpiValue.missing(NO_DATA)}
    assert evaluate(parse_formula("a / zero"), values).reason == ZERO_DENOMINATOR
    assert evaluate(parse_formula("a + none"), values).reason == NO_DATA
    assert evaluate(parse_formula("(a + a) / a"), values).value == 2.0


def test_content_hash_ignores_key_order() -> None:
    assert content_hash({"a": 1, "b": {"x": True}}) == content_hash({"b": {"x": True}, "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


def test_a_change_of_money_carries_no_float_noise() -> None:
    # 180876.47 - 176711.01 is 4165.459999999992 in floating point.
    body = change(KpiValue(180876.47), KpiValue(176711.01))
    assert body is not None and body["change"] == 4165.46
