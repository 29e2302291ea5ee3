"""Writing the full export (see the package docstring for the layout)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Table, inspect, select
from sqlalchemy.orm import Session

from lianxing.db import load_all_models
from lianxing.db.audit import record
from lianxing.db.models import AuditEntry, Base, Organisation, Store
from lianxing.db.models_contracts import Contract
from lianxing.db.models_launch import VaultDocument
from lianxing.domain.facts import FACT_TABLES
from lianxing.domain.time import utcnow
from lianxing.launch.vault import read_document
from lianxing.security import Cipher
from lianxing.workspace import Workspace

# Secrets that are not the seller's data: login sessions and password hashes.
# (Encrypted settings such as alert channels' ``secret_token`` stay out as well.)
SKIPPED_TABLES = frozenset(
    {"login_sessions", "web_sessions", "login_attempts", "audit_log", "alembic_version"}
)
SKIPPED_COLUMNS = frozenset({"password_hash", "token_sha256", "csrf_token", "secret_token"})
MANIFEST = "manifest.json"


class ExportError(ValueError):
    """The export cannot be made; the message says why."""


@dataclass(slots=True)
class ExportResult:
    folder: Path
    files: list[dict[str, Any]] = field(default_factory=list)  # path, sha256, bytes, rows
    fact_rows: dict[str, int] = field(default_factory=dict)
    documents: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "files": len(self.files),
            "fact_rows": self.fact_rows,
            "documents": self.documents,
            "manifest": str(self.folder / MANIFEST),
        }


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _safe_name(text: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", text, flags=re.UNICODE).strip("._") or "file"


class _Writer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: list[dict[str, Any]] = []

    def _add(self, path: Path, rows: int | None = None) -> None:
        data = path.read_bytes()
        entry: dict[str, Any] = {
            "path": path.relative_to(self.folder).as_posix(),
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
        }
        if rows is not None:
            entry["rows"] = rows
        self.files.append(entry)

    def bytes(self, relative: str, content: bytes, rows: int | None = None) -> None:
        path = self.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        self._add(path, rows)

    def json(self, relative: str, obj: Any, rows: int | None = None) -> None:
        text = json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default)
        self.bytes(relative, text.encode("utf-8"), rows)

    def parquet(self, relative: str, table: pa.Table) -> int:
        path = self.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        self._add(path, table.num_rows)
        return int(table.num_rows)


def _rows(session: Session, table: Table) -> list[dict[str, Any]]:
    columns = [c for c in table.columns if c.name not in SKIPPED_COLUMNS]
    order = list(table.primary_key.columns) or columns[:1]
    return [dict(row._mapping) for row in session.execute(select(*columns).order_by(*order))]


def export_all(ws: Workspace, folder: Path, *, actor: str = "cli") -> ExportResult:
    """Write everything to ``folder`` (which must be new or empty).

    The files are written to a hidden sibling folder that is renamed at the end, so a
    failed export leaves nothing behind.
    """
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ExportError(f"-o {folder}: exists and is not an empty folder")
    try:
        cipher: Cipher = ws.cipher
    except Exception as exc:  # the key file is missing or unreadable
        raise ExportError(
            f"documents need the workspace key {ws.settings.key_file}: {exc}"
        ) from exc
    partial = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        result = _export(ws, partial, cipher, actor)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if folder.exists():
        folder.rmdir()
    partial.rename(folder)
    result.folder = folder
    return result


def _export(ws: Workspace, folder: Path, cipher: Cipher, actor: str) -> ExportResult:
    writer = _Writer(folder)
    result = ExportResult(folder)

    warehouse = ws.warehouse
    for name in FACT_TABLES:
        # One table at a time (streaming batches is not available on every backend).
        table = warehouse.ibis.to_pyarrow(warehouse.table(name))
        result.fact_rows[name] = writer.parquet(f"facts/{name}.parquet", table)

    load_all_models()
    with ws.session() as session:
        orgs = _rows(session, Organisation.__table__)  # type: ignore[arg-type]
        stores = _rows(session, Store.__table__)  # type: ignore[arg-type]
        writer.json("stores.json", {"organisations": orgs, "stores": stores}, rows=len(stores))

        index = []
        for doc_id in session.scalars(select(VaultDocument.id).order_by(VaultDocument.id)):
            view, content = read_document(
                session, cipher, ws.settings.vault_dir, doc_id, actor=actor
            )
            doc = session.get(VaultDocument, doc_id)
            assert doc is not None
            relative = f"documents/{doc.id}-{_safe_name(doc.file_name)}"
            writer.bytes(relative, content)
            index.append({**view.as_json(), "export_path": relative, "sha256": doc.sha256})
        writer.json("documents/index.json", index, rows=len(index))
        result.documents = len(index)

        contracts = list(session.scalars(select(Contract).order_by(Contract.id)))
        for contract in contracts:
            writer.bytes(
                f"contracts/{_safe_name(contract.number)}.yaml",
                contract.source_text.encode("utf-8"),
            )
        writer.json(
            "contracts/contracts.json",
            _rows(session, Contract.__table__),  # type: ignore[arg-type]
            rows=len(contracts),
        )

        present = set(inspect(session.connection()).get_table_names())
        for table in Base.metadata.sorted_tables:
            if table.name in SKIPPED_TABLES or table.name in ("stores", "organisations"):
                continue
            if table.name not in present:  # a feature whose migration this database lacks
                continue
            rows = _rows(session, table)
            writer.json(f"app/{table.name}.json", rows, rows=len(rows))

        record(
            session,
            actor=actor,
            action="workspace.export",
            entity="workspace",
            entity_id=str(ws.settings.home_dir),
            data={
                "folder": str(folder.resolve().with_name(folder.name[1 : -len(".partial")])),
                "fact_rows": result.fact_rows,
                "documents": result.documents,
                "at": utcnow(),
            },
        )

    with ws.session() as session:
        audit = _rows(session, AuditEntry.__table__)  # type: ignore[arg-type]
    writer.json("audit/audit_log.json", audit, rows=len(audit))
    csv_path = folder / "audit" / "audit_log.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["seq", "ts", "actor", "action", "entity", "entity_id", "data", "prev_hash", "hash"]
        )
        for row in audit:
            out.writerow(
                [
                    row["seq"],
                    row["ts"].isoformat(),
                    row["actor"],
                    row["action"],
                    row["entity"],
                    row["entity_id"],
                    json.dumps(row["data"], ensure_ascii=False, sort_keys=True),
                    row["prev_hash"],
                    row["hash"],
                ]
            )
    writer._add(csv_path, len(audit))

    result.files = writer.files
    manifest = {
        "lianxing_export": 1,
        "created_at": utcnow().isoformat(timespec="seconds"),
        "workspace": str(ws.settings.home_dir),
        "fact_rows": result.fact_rows,
        "documents": result.documents,
        "files": writer.files,
    }
    (folder / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8"
    )
    return result
