"""Contract services: risk check, signing (locking KPI definitions), listing, loading.

Signing stores the contract's document, the YAML text as signed, and for every KPI clause
the content hash of its definition *and the definition documents themselves* (the KPI and
every KPI it refers to). Evaluation rebuilds a catalog from those documents only, so a
later edit of a definition file cannot change what a signed contract means.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.contracts.document import DocumentError, YamlDocument, jsonable, load_contract
from lianxing.contracts.rates import latest_rates
from lianxing.db.audit import record
from lianxing.db.models import Store
from lianxing.db.models_contracts import Contract as ContractRow
from lianxing.domain.contract_audit import Finding, KpiFacts, audit
from lianxing.domain.contracts import Contract, parse_contract
from lianxing.domain.kpi import OPTIONS, content_hash
from lianxing.metrics.loader import Catalog, load_catalog, load_files
from lianxing.workspace import Workspace


class ContractError(ValueError):
    """A contract cannot be signed or found; the message says why."""


def workspace_catalog(ws: Workspace | None) -> Catalog:
    """Shipped KPI definitions plus the workspace's own (``<home>/kpis``)."""
    extra = [ws.settings.home_dir / "kpis"] if ws is not None else []
    return load_catalog(extra)


def catalog_facts(catalog: Catalog) -> dict[str, KpiFacts]:
    return {
        kpi_id: KpiFacts(frozenset(d.options), d.direction.value)
        for kpi_id, d in catalog.definitions.items()
    }


@dataclass(frozen=True, slots=True)
class CheckReport:
    file: str
    contract: Contract
    findings: list[Finding]
    lines: list[int]

    @property
    def high(self) -> int:
        return sum(1 for f in self.findings if f.severity.value == "high")

    def to_json(self) -> dict[str, Any]:
        counts = {
            s: sum(1 for f in self.findings if f.severity.value == s)
            for s in ("high", "medium", "low")
        }
        return {
            "file": self.file,
            "contract": self.contract.number,
            "counts": counts,
            "findings": [
                f.to_json(line) for f, line in zip(self.findings, self.lines, strict=True)
            ],
        }


def check_contract(
    path: Path,
    catalog: Catalog,
    cases: Mapping[int, str] | None = None,
    ws: Workspace | None = None,
) -> CheckReport:
    """The risk audit of a contract file (raises DocumentError for malformed files);
    ``cases`` gives the workspace's case-study statuses by id (see ``agencies.service``);
    with a workspace, fees in several currencies are compared at its latest ``fx_rates``."""
    contract, document = load_contract(path)
    rates = latest_rates(ws, contract, catalog) if ws is not None else None
    findings = audit(contract, catalog_facts(catalog), cases, rates)
    return CheckReport(
        document.file, contract, findings, [document.line_of(f.path) for f in findings]
    )


# ---------------------------------------------------------------------------------------
# Locking definitions
# ---------------------------------------------------------------------------------------


def lock_definitions(
    contract: Contract, catalog: Catalog, document: YamlDocument
) -> dict[str, Any]:
    """For each KPI clause its definition hash, plus every definition document needed."""
    problems: list[str] = []
    clauses: dict[str, dict[str, str]] = {}
    documents: dict[str, Any] = {}
    for i, clause in enumerate(contract.kpis):
        definition = catalog.definitions.get(clause.kpi)
        if definition is None:
            problems.append(
                document.locate(
                    f"kpis[{i}].kpi",
                    f"KPI {clause.kpi!r} is not in the catalog; a contract can only be signed "
                    f"on catalog KPIs (known: {', '.join(sorted(catalog.definitions))})",
                )
            )
            continue
        for option, value in clause.options.items():
            if option not in definition.options:
                problems.append(
                    document.locate(
                        f"kpis[{i}].options.{option}",
                        f"option {option!r} does not apply to {clause.kpi}; "
                        f"expected one of {', '.join(definition.options) or '(none)'}",
                    )
                )
                continue
            expected = OPTIONS[option].check(value)
            if expected is not None:
                problems.append(
                    document.locate(
                        f"kpis[{i}].options.{option}",
                        f"{value!r} is not allowed; expected {expected}",
                    )
                )
        clauses[clause.id] = {"kpi": clause.kpi, "hash": definition.content_hash}
        for kpi_id in catalog.dependency_order([clause.kpi]):
            source = catalog.definitions[kpi_id]
            raw = yaml.safe_load(Path(source.source).read_text(encoding="utf-8"))
            if content_hash(raw) != source.content_hash:
                raise ContractError(f"{source.source} changed while signing; try again")
            documents[kpi_id] = raw
    if problems:
        raise DocumentError(problems)
    return {"clauses": clauses, "documents": documents}


def locked_catalog(definitions: Mapping[str, Any]) -> Catalog:
    """A catalog of exactly the documents locked at signing, each hash verified."""
    with tempfile.TemporaryDirectory(prefix="lianxing-locked-") as folder:
        files = []
        for kpi_id, document in sorted(definitions["documents"].items()):
            path = Path(folder) / f"{kpi_id}.yaml"
            path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
            files.append(path)
        catalog = load_files(files)
    if catalog.issues:
        raise ContractError(
            "the locked KPI definitions do not load: "
            + "; ".join(i.message for i in catalog.issues)
        )
    for clause_id, locked in definitions["clauses"].items():
        definition = catalog.definitions.get(locked["kpi"])
        if definition is None or definition.content_hash != locked["hash"]:
            raise ContractError(
                f"KPI clause {clause_id!r}: the stored definition of {locked['kpi']!r} does not "
                f"match its signed hash {locked['hash'][:12]}"
            )
    return catalog


# ---------------------------------------------------------------------------------------
# Signing, listing, loading
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContractView:
    id: int
    number: str
    title: str
    seller: str
    agency: str
    package: str
    term_start: str
    term_months: int
    store_ids: list[int]
    status: str
    signed_at: str
    content_hash: str
    definitions: dict[str, str]  # clause id -> definition hash

    @classmethod
    def of(cls, row: ContractRow) -> ContractView:
        return cls(
            id=row.id,
            number=row.number,
            title=row.title,
            seller=row.seller_name,
            agency=row.agency_name,
            package=row.package,
            term_start=row.term_start.isoformat(),
            term_months=row.term_months,
            store_ids=list(row.store_ids),
            status=row.status,
            signed_at=row.signed_at.isoformat(timespec="seconds"),
            content_hash=row.content_hash,
            definitions={k: v["hash"] for k, v in row.definitions["clauses"].items()},
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "title": self.title,
            "seller": self.seller,
            "agency": self.agency,
            "package": self.package,
            "term": {"start": self.term_start, "months": self.term_months},
            "stores": self.store_ids,
            "status": self.status,
            "signed_at": self.signed_at,
            "content_hash": self.content_hash,
            "definitions": self.definitions,
        }


def add_contract(
    session: Session, catalog: Catalog, path: Path, *, actor: str = "cli"
) -> tuple[ContractView, list[Finding]]:
    """Store and sign a contract file; its findings are returned for the signer to see."""
    contract, document = load_contract(path)
    problems: list[str] = []
    store_ids: list[int] = []
    for i, store in enumerate(contract.stores):
        if store.store_id is None:
            problems.append(
                document.locate(
                    f"stores[{i}]",
                    "a signed contract names workspace stores by id (see `lianxing store list`)",
                )
            )
        elif session.get(Store, store.store_id) is None:
            problems.append(document.locate(f"stores[{i}]", f"no store with id {store.store_id}"))
        else:
            store_ids.append(store.store_id)
    if not contract.stores:
        problems.append(document.locate("stores", "a signed contract names at least one store"))
    if session.scalar(select(ContractRow.id).where(ContractRow.number == contract.number)):
        problems.append(
            document.locate("number", f"a contract numbered {contract.number!r} already exists")
        )
    try:
        definitions = lock_definitions(contract, catalog, document)
    except DocumentError as exc:
        problems.extend(exc.lines)
    if problems:
        raise DocumentError(problems)
    stored = jsonable(document.data)
    row = ContractRow(
        number=contract.number,
        title=contract.title,
        seller_name=contract.seller.name,
        agency_name=contract.agency.name,
        agency_registration=contract.agency.registration_number,
        package=contract.package.value,
        term_start=contract.term.start,
        term_months=contract.term.months,
        store_ids=store_ids,
        document=stored,
        source_text=document.text,
        source_file=document.file,
        definitions=definitions,
        content_hash=_hash({"document": stored, "definitions": definitions}),
        status="active",
        signed_by=actor,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="contract.sign",
        entity="contract",
        entity_id=row.id,
        data={
            "number": row.number,
            "content_hash": row.content_hash,
            "definitions": {k: v["hash"] for k, v in definitions["clauses"].items()},
        },
    )
    findings = audit(contract, catalog_facts(catalog))
    return ContractView.of(row), findings


def _hash(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def list_contracts(session: Session) -> list[ContractView]:
    rows = session.scalars(select(ContractRow).order_by(ContractRow.id)).all()
    return [ContractView.of(r) for r in rows]


def get_contract_row(session: Session, contract_id: int) -> ContractRow:
    row = session.get(ContractRow, contract_id)
    if row is None:
        raise ContractError(f"--contract: no contract with id {contract_id}")
    return row


def stored_contract(row: ContractRow) -> Contract:
    return parse_contract(row.document)
