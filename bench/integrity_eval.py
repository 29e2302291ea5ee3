"""Precision and recall of the integrity detectors on demo data with known incidents.

    .venv/bin/python bench/integrity_eval.py [--seeds 5] [--markdown bench/integrity.md]

Per seed: a clean demo (no anomalies; every finding is a false positive) over 2026-09 and
2026-10 for four stores, and the demo with its anomalies plus injected incidents for every
rule in 2026-10 (see ``lianxing.integrity.evaluation``). DuckDB in memory.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lianxing.domain.integrity import RULES
from lianxing.integrity.evaluation import Evaluation, evaluate_seed
from lianxing.warehouse import Warehouse, connect


def fresh_warehouse() -> Warehouse:
    warehouse = connect("duckdb://")
    warehouse.ensure_schema()
    return warehouse


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def render(evaluation: Evaluation, seeds: list[int], seconds: float) -> str:
    lines = [
        "# Integrity detectors: precision and recall",
        "",
        "Reproduce: `.venv/bin/python bench/integrity_eval.py --seeds "
        f"{len(seeds)} --markdown bench/integrity.md` (seeds {seeds[0]}..{seeds[-1]}, "
        f"{seconds:.0f} s on this machine).",
        "",
        "Injected scenario: demo anomalies plus injected incidents in 2026-10 (stores 1, 2 and "
        "a store launched 2026-10-12). A finding is a true positive when it points at a known "
        "incident (shares an order, or for ad incidents the same campaign/day); an incident is "
        "found when a finding of its own rule points at it. Clean scenario: the demo without "
        f"anomalies, {evaluation.clean_store_months} store-months; every finding there is a "
        "false positive.",
        "",
        "| rule | incidents | found | recall | findings (injected) | true pos. | precision "
        "| false pos. on clean data |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rule, tally in evaluation.tallies.items():
        lines.append(
            f"| {rule.value} ({RULES[rule].name_en}) | {tally.incidents} | {tally.found} | "
            f"{_pct(tally.recall)} | {tally.findings} | {tally.true_positives} | "
            f"{_pct(tally.precision)} | {evaluation.clean_false_positives[rule]} |"
        )
    lines += ["", "Missed incidents:", ""]
    lines += [f"- {i.rule.value}, store {i.store_id}, {i.day}" for i in evaluation.missed] or [
        "- none"
    ]
    lines += ["", "Findings no incident explains (false positives):", ""]
    lines += [
        f"- {f.rule.value}, store {f.store_id}: {f.explanation_en}" for f in evaluation.unexplained
    ] or ["- none"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=20_260_101)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    seeds = [args.first_seed + i for i in range(args.seeds)]
    evaluation = Evaluation()
    started = time.perf_counter()
    for seed in seeds:
        evaluate_seed(evaluation, fresh_warehouse, seed)
        print(f"seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)
    text = render(evaluation, seeds, time.perf_counter() - started)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
