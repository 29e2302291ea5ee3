"""Pure domain types and rules. Imports nothing of the project outside ``lianxing.domain``,
and no database, web, HTTP or dataframe library (checked by tests/test_architecture.py)."""
