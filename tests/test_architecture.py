"""The dependency rule: pure modules import no database, web, HTTP or dataframe code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import lianxing

SRC = Path(lianxing.__file__).parent
FORBIDDEN = {
    "sqlalchemy",
    "fastapi",
    "starlette",
    "httpx",
    "duckdb",
    "ibis",
    "psycopg",
    "pyarrow",
    "pandas",
    "polars",
    "alembic",
    "typer",
}
# Packages declared pure: the domain core, and nothing that needs I/O libraries.
PURE_PACKAGES = ["domain"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
            if node.module.startswith("lianxing.") and not node.module.startswith(
                "lianxing.domain"
            ):
                roots.add(node.module)
    return roots


def test_pure_packages_import_nothing_forbidden_statically() -> None:
    offences = []
    for package in PURE_PACKAGES:
        for path in sorted((SRC / package).rglob("*.py")):
            for name in _imports(path):
                if name in FORBIDDEN or name.startswith("lianxing."):
                    offences.append(f"{path.relative_to(SRC)} imports {name}")
    assert offences == []


def test_importing_domain_loads_no_forbidden_module() -> None:
    # A fresh interpreter: what lianxing.domain pulls in transitively, at run time.
    modules = sorted(
        "lianxing.domain." + p.stem for p in (SRC / "domain").glob("*.py") if p.stem != "__init__"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = sorted({{n.split('.')[0] for n in sys.modules}} & set({sorted(FORBIDDEN)!r}))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert len(modules) >= 4


def test_the_checker_catches_an_offending_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from __future__ import annotations\nimport sqlalchemy.orm\n")
    assert "sqlalchemy" in _imports(bad)
