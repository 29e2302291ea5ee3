"""Report-file importers: one small module per platform report format.

Layout (see ``docs/adr/0004-file-importers.md``):

* ``reading.py``   bytes → rows of text: encoding, gzip/XLSX/JSON, delimiter, header line.
* ``values.py``    text → typed Arrow arrays: money, numbers, percentages, dates (vectorised).
* ``problems.py``  ``ImportProblem`` / ``ProblemLog`` / ``ImportRejected``.
* ``base.py``      the ``ReportFormat`` interface, ``TabularFormat`` / ``JsonRecordsFormat``.
* ``registry.py``  finds every format (modules with ``FORMATS``) and detects a file's format.
* ``amazon/``, ``generic/`` ...  the formats themselves.

To add a format: write ``<platform>/<report>.py`` defining a ``TabularFormat`` subclass
(fields + ``facts``) and ``FORMATS = (MyFormat(),)``, a fixture in ``tests/ingest/fixtures``
and a test asserting the facts value by value. Nothing else needs editing.
"""
