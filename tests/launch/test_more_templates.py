"""Lazada and AliExpress launch templates through the CLI, and their sourcing."""

from __future__ import annotations

import pytest
from launch_helpers import add_store, run_json

from lianxing.launch.templates import NoTemplate, load_template
from lianxing.workspace import Workspace

LAZADA_DOCUMENTS = [
    "doc.business_licence",
    "doc.legal_rep_id",
    "doc.company_alipay",
    "doc.payout_account",
    "doc.phone",
    "doc.email",
    "doc.address_proof",
    "doc.store_history",
    "doc.brand_registration",
    "doc.category_qualifications",
]
ALIEXPRESS_DOCUMENTS = [
    "doc.business_licence",
    "doc.legal_rep_id",
    "doc.alipay_verification",
    "doc.payout_account",
    "doc.phone",
    "doc.email",
    "doc.address_proof",
    "doc.brand_registration",
    "doc.brand_authorisation",
    "doc.category_qualifications",
]


def _stage(status: dict, stage: str) -> dict:
    return next(s for s in status["stages"] if s["id"] == stage)


def test_lazada_my_store_gets_its_own_plan(workspace: Workspace) -> None:
    store = add_store("lazada", "MY")
    run_json("launch", "plan", "--store", str(store), "--json")
    status = run_json("launch", "status", "--store", str(store), "--json")
    docs = _stage(status, "documents")
    assert [i["key"] for i in docs["items"]] == LAZADA_DOCUMENTS
    # The last three are optional: experience, LazMall brand papers, category papers.
    assert docs["open_required"] == LAZADA_DOCUMENTS[:7]
    reg = [i["key"] for i in _stage(status, "registration")["items"]]
    assert "comp.my_lvg_sales_tax" in reg and "comp.ph_trustmark" not in reg
    assert {r["code"] for r in status["risks"]} == {
        "INDIVIDUALS_REFUSED",
        "REGISTRATION_BY_THIRD_PARTY",
        "SECONDARY_REVIEW",
        "LAZMALL_AUTHENTICITY",
        "FEES_COMMISSION_ONLY",
        "SERVICE_TAX_ON_FEES",
    }
    brand = next(i for i in docs["items"] if i["key"] == "doc.brand_registration")
    licence = next(i for i in docs["items"] if i["key"] == "doc.business_licence")
    assert brand["unverified"] is False and licence["unverified"] is True
    official = {s["id"] for s in status["sources"] if s["official"]}
    assert official == {"lazmall-policy-ph", "lazada-my-psc-sst"}


def test_aliexpress_store_gets_its_own_plan(workspace: Workspace) -> None:
    store = add_store("aliexpress", "GLOBAL")
    run_json("launch", "plan", "--store", str(store), "--json")
    status = run_json("launch", "status", "--store", str(store), "--json")
    docs = _stage(status, "documents")
    assert [i["key"] for i in docs["items"]] == ALIEXPRESS_DOCUMENTS
    assert docs["open_required"] == ALIEXPRESS_DOCUMENTS[:7]
    assert all(i["unverified"] for s in status["stages"] for i in s["items"] if i["sources"])
    reg = [i["key"] for i in _stage(status, "registration")["items"]]
    assert reg == [
        "reg.account",
        "reg.identity_verification",
        "reg.category_application",
        "reg.deposit",
        "comp.eu_vat",
    ]
    assert "DEPOSIT_AND_ANNUAL_FEE" in {r["code"] for r in status["risks"]}
    assert not any(s["official"] for s in status["sources"])


def test_site_overlays_and_unknown_platform() -> None:
    keys = lambda s: {i.key for i in load_template("lazada", s).items}  # noqa: E731
    assert "doc.bir_cor" in keys("PH") and "doc.bir_cor" not in keys("MY")
    assert "comp.my_lvg_sales_tax" not in keys("SG")
    with pytest.raises(NoTemplate, match="no launch template for platform 'nope'"):
        load_template("nope", "X")
