"""Weekly/monthly/quarterly review reports (复盘): one computed result, rendered as HTML,
PDF and XLSX, each file frozen as a snapshot whose sha256 is in the audit log."""
