"""``lianxing export --all``: everything a seller owns, in open formats, so no one is locked in.

Layout of the export folder::

    stores.json                 stores and organisations
    facts/<table>.parquet       every fact table of the warehouse, all rows
    documents/<id>-<file name>  vault documents, decrypted with the workspace key
    documents/index.json        their metadata and sha256
    contracts/<number>.yaml     each contract exactly as signed; contracts.json with the
                                locked KPI definitions
    app/<table>.json            every other application table (login secrets left out)
    audit/audit_log.json|.csv   the hash-chained audit log
    manifest.json               sha256, size (and rows) of every file above

The export itself is recorded in the audit log, and so is every document read.
"""

from __future__ import annotations

from lianxing.export.service import ExportError, ExportResult, export_all

__all__ = ["ExportError", "ExportResult", "export_all"]
