"""Writing the demo facts into a warehouse, as one import batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lianxing.demo.generator import generate
from lianxing.demo.spec import DemoSpec

if TYPE_CHECKING:
    from lianxing.warehouse import Warehouse, WriteStats

DEMO_SOURCE = "demo"


def demo_batch_id(spec: DemoSpec) -> str:
    return f"demo-{spec.seed}-{spec.start.isoformat()}-{spec.end.isoformat()}"


def write_demo(
    warehouse: Warehouse,
    spec: DemoSpec,
    progress: Callable[[str, int], None] | None = None,
    *,
    batch_id: str | None = None,
) -> dict[str, WriteStats]:
    """Stream every generated chunk into one batch; all of it is merged or none.

    ``progress(table name, rows)`` is called after each chunk is staged. Writing the same
    spec again changes nothing (the rows are identical, so they all come back unchanged).
    """
    with warehouse.batch(batch_id or demo_batch_id(spec), source=DEMO_SOURCE) as batch:
        for name, chunk in generate(spec):
            batch.append(name, chunk)
            if progress is not None:
                progress(name, chunk.num_rows)
    return batch.stats
