"""Application database: SQLAlchemy models, sessions, migrations, the audit log.

Core models are in ``models.py``; each feature keeps its own in ``models_<feature>.py``
(importing ``Base`` from ``models``). ``load_all_models()`` imports them all, so that
``Base.metadata`` is complete for Alembic and for anything that inspects it.
"""

from __future__ import annotations

import importlib
import pkgutil


def load_all_models() -> None:
    importlib.import_module(f"{__name__}.models")
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("models_"):
            importlib.import_module(f"{__name__}.{info.name}")
