"""KPI values of one store computed by the KPI engine from the workspace's warehouse."""

from __future__ import annotations

from lianxing.domain.kpi import Scope
from lianxing.domain.periods import parse_period
from lianxing.metrics.loader import load_catalog
from lianxing.metrics.service import compute_matrix, store_infos
from lianxing.workspace import Workspace


def store_kpis(
    workspace: Workspace, store: int, period: str, *kpis: str
) -> dict[str, float | None]:
    """``kpis`` of ``store`` in ``period`` (``"2026-10"``) as ``lianxing kpi`` computes them."""
    with workspace.session() as session:
        stores = store_infos(session)
    scope = Scope.store(store)
    matrix = compute_matrix(
        workspace.warehouse,
        load_catalog(),
        stores,
        scopes=[scope],
        periods=[parse_period(period)],
        kpis=list(kpis),
    )
    return {kpi: matrix.value(kpi, period, scope.key) for kpi in kpis}
