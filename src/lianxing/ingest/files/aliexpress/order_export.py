"""AliExpress seller-centre order export, read through ``mappings/aliexpress_order_export.yaml``.

The column list is UNVERIFIED (no primary-source sample), so it lives in that YAML file
(accepted English and Chinese headers, status values) where a user can correct it; see
docs/import-mappings.md. ``lianxing import FILE --mapping edited.yaml`` uses a fixed copy.
"""

from __future__ import annotations

from lianxing.ingest.files.mapping import shipped_format

FORMATS = (shipped_format("aliexpress_order_export.yaml"),)
